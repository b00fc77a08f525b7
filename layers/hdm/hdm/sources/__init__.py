"""Source plug-ins: each reads one helpdesk system into canonical records, chunk by chunk."""
