"""Logs mask every field typed as a secret reference in a connector's config, not only a fixed list of names."""

from __future__ import annotations

from hdm.engines import aws
from hdm.pipeline.config import SECRET, field_names_of_kind


def test_fields_typed_secretref_are_masked_whatever_their_name():
    names = field_names_of_kind(SECRET)
    assert {"consumer_secret", "security_token", "password"} <= names  # Salesforce's and osTicket's, by type
    logged = aws.mask_pii({"destination": {"consumer_secret": "arn:aws:secretsmanager:eu:1:secret:x",
                                           "security_token": "env:SF_TOKEN", "username": "u"},
                           "source": {"password": "file:/run/pw", "host": "db"}})
    assert logged == {"destination": {"consumer_secret": "***", "security_token": "***", "username": "u"},
                      "source": {"password": "***", "host": "db"}}


def test_names_that_are_not_secret_references_stay():
    assert "username" not in field_names_of_kind(SECRET) and "host" not in field_names_of_kind(SECRET)
