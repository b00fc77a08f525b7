"""Engines run the pipeline's steps: the embedded local engine and Step Functions on AWS."""
