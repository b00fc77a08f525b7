"""source.ssl: TLS is required for every host that is not loopback; the opt-out is one loud, named setting."""

from __future__ import annotations

import pytest
from hdm.pipeline.config import MigrationConfig, OsTicketSourceConfig
from hdm.sources.tls import TlsOptions, is_loopback_host
from pydantic import ValidationError

BASE = {"database": "osticket", "user": "reader", "password": "env:OST_PW"}


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]",
                                  "::ffff:127.0.0.1", "localhost."])
def test_loopback_hosts_need_no_tls(host):
    assert is_loopback_host(host)
    assert OsTicketSourceConfig(**BASE, host=host).ssl is None


@pytest.mark.parametrize("host", ["db.example.com", "10.0.0.5", "192.168.1.20", "0.0.0.0", "128.0.0.1", "::2",
                                  "localhost.example.com", "2130706433"])
def test_any_other_host_without_tls_is_refused(host):
    assert not is_loopback_host(host)
    with pytest.raises(ValidationError, match="TLS is required"):
        OsTicketSourceConfig(**BASE, host=host)


def test_a_remote_host_with_ssl_or_the_named_opt_out_is_accepted():
    cfg = OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"ca_bundle": "/etc/hdm/rds-ca.pem"})
    assert cfg.ssl.ca_bundle == "/etc/hdm/rds-ca.pem" and cfg.ssl.verify_identity is True
    assert OsTicketSourceConfig(**BASE, host="db.example.com", ssl={}).ssl.ca_bundle is None  # system trust store
    cfg = OsTicketSourceConfig(**BASE, host="db.example.com", insecure_plaintext_connection=True)
    assert cfg.insecure_plaintext_connection


def test_contradictions_and_literal_secrets_are_refused():
    with pytest.raises(ValidationError, match="contradict"):
        OsTicketSourceConfig(**BASE, host="db.example.com", ssl={}, insecure_plaintext_connection=True)
    with pytest.raises(ValidationError, match="need client_cert"):
        OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"client_key": "/k.pem"})
    with pytest.raises(ValidationError, match="secret reference"):
        OsTicketSourceConfig(**BASE, host="db.example.com",
                             ssl={"client_cert": "/c.pem", "client_key_password": "hunter2"})
    with pytest.raises(ValidationError, match="Extra inputs"):  # no silently ignored typo
        OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"verify_cert": False})


def test_a_whole_migration_config_with_a_remote_source_needs_tls():
    doc = {"migration_id": "acme-1", "source": {"type": "osticket", "host": "ost.acme.internal", **BASE},
           "destination": {"type": "salesforce", "username": "u@example.com", "password": "env:SF_PW"}}
    with pytest.raises(ValidationError, match="TLS is required"):
        MigrationConfig.model_validate(doc)
    doc["source"]["ssl"] = {"ca_bundle": "/etc/hdm/ca.pem"}
    assert MigrationConfig.model_validate(doc).to_json()["source"]["ssl"]["verify_identity"] is True


def test_tls_options_always_verify_the_server(tmp_path):
    import ssl

    ctx = TlsOptions().context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    ctx = TlsOptions(verify_identity=False).context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname  # the chain is still checked
    with pytest.raises(OSError):
        TlsOptions(ca_bundle=str(tmp_path / "missing.pem")).context()
    with pytest.raises(ValueError, match="unknown TLS option"):
        TlsOptions.of({"ca": "/x"})
