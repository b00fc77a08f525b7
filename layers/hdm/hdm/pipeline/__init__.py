"""The pipeline: configuration, plan, the steps both engines run, reconciliation, reports, rollback."""
