"""osTicket-shaped databases: real install schema loading, install data, legacy DDL and the data generator."""
