"""source.ssl: TLS is required for every host that is not loopback; the opt-out is one loud, named setting."""

from __future__ import annotations

import pytest
from hdm.pipeline.config import MigrationConfig
from hdm.sources.osticket.config import OsTicketSourceConfig
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


def test_the_trigger_api_refuses_turning_the_host_name_check_off_a_local_config_may():
    from hdm.pipeline.config import PROTECTION, fields_of_kind
    from hdm.pipeline.stack_policy import StackPolicy

    def config(**ssl):
        return MigrationConfig.model_validate({
            "migration_id": "m-tls",
            "source": {"type": "osticket", **BASE, "host": "db.example.com", "ssl": ssl},
            "destination": {"type": "salesforce", "username": "u@example.com", "password": "env:SF_PW"}})

    off = config(verify_identity=False)
    assert off.source.ssl.verify_identity is False  # a local config file may (the operator's own machine)
    assert list(fields_of_kind(off, PROTECTION)) == [("source.ssl.verify_identity", False)]
    refused = {".".join(p["loc"]): p["msg"] for p in StackPolicy().problems(off)}
    assert "cannot be switched off through the trigger API" in refused["source.ssl.verify_identity"]
    for on in (config(verify_identity=True), config()):
        assert "source.ssl.verify_identity" not in {".".join(p["loc"]) for p in StackPolicy().problems(on)}


# -- the CA as PEM text behind a secret reference (Lambda: no local file can be named) ----------------------------

def _ca_pem(tmp_path) -> str:
    from hdm_infra.pki import ensure_ca

    return ensure_ca(tmp_path / "ca", common_name="hdm unit test CA").cert.read_text()


def test_ca_pem_is_a_secret_reference_and_excludes_ca_bundle():
    cfg = OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"ca_pem": "env:OST_CA_PEM"})
    assert cfg.ssl.ca_pem == "env:OST_CA_PEM" and cfg.ssl.ca_bundle is None
    with pytest.raises(ValidationError, match="secret reference"):  # the PEM text itself is not accepted inline
        OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"ca_pem": "-----BEGIN CERTIFICATE-----"})
    with pytest.raises(ValidationError, match="ca_bundle and ca_pem both name the CA to trust: give one"):
        OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"ca_pem": "env:X", "ca_bundle": "/etc/ca.pem"})
    with pytest.raises(ValueError, match="not both"):
        TlsOptions(ca_bundle="/etc/ca.pem", ca_pem="x")


def test_ca_pem_is_loaded_in_memory_and_trusted_alone(tmp_path, monkeypatch):
    import ssl

    pem = _ca_pem(tmp_path)
    loaded: list[dict] = []
    real = ssl.SSLContext.load_verify_locations

    def record(self, cafile=None, capath=None, cadata=None):
        loaded.append({"cafile": cafile, "capath": capath, "cadata": cadata is not None})
        return real(self, cafile, capath, cadata)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", record)
    for value in (pem, pem.encode()):  # Secrets Manager's SecretBinary arrives as bytes
        loaded.clear()
        ctx = TlsOptions(ca_pem=value).context()
        assert loaded == [{"cafile": None, "capath": None, "cadata": True}]  # no file written, none read
        assert ctx.cert_store_stats()["x509_ca"] == 1  # only that CA: not the system's store as well
        assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert pem not in repr(TlsOptions(ca_pem=pem))


@pytest.mark.parametrize("bad", ["", "   ", "garbage-{token}", "-----BEGIN CERTIFICATE-----\n{token}\n"
                                 "-----END CERTIFICATE-----\n", b"\xff\xfe{token}"])
def test_a_bad_ca_pem_is_one_error_naming_the_field_never_its_content(bad):
    import secrets

    from hdm.sources.tls import TlsSetupError

    token = "tok" + secrets.token_hex(8)
    value = bad.replace("{token}", token) if isinstance(bad, str) else bad.replace(b"{token}", token.encode())
    with pytest.raises(TlsSetupError) as caught:
        TlsOptions(ca_pem=value).context()  # an empty text would otherwise mean "trust the system store"
    assert caught.value.field == "ca_pem" and str(caught.value).startswith("ca_pem: ")
    assert token not in str(caught.value) and caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__  # no chained error shown


def test_an_unset_ca_pem_secret_names_the_field(monkeypatch):
    from hdm.engines.factories import build_source
    from hdm.pipeline.secrets import SecretError

    monkeypatch.delenv("HDM_UNSET_CA_PEM", raising=False)
    cfg = OsTicketSourceConfig(**BASE, host="db.example.com", ssl={"ca_pem": "env:HDM_UNSET_CA_PEM"})
    monkeypatch.setenv("OST_PW", "pw-value")
    with pytest.raises(SecretError, match=r"^source\.ssl\.ca_pem: environment variable HDM_UNSET_CA_PEM is not set"):
        build_source(cfg)


def test_an_encrypted_client_key_without_or_with_a_wrong_password_is_named_never_prompted(tmp_path):
    import secrets

    from cryptography.hazmat.primitives import serialization
    from hdm.sources.tls import TlsSetupError
    from hdm_infra.pki import ensure_ca, issue

    ca = ensure_ca(tmp_path / "ca")
    client = issue(ca, tmp_path / "clients", "hdm-client", client=True)
    password = "pw-" + secrets.token_hex(8)
    key = serialization.load_pem_private_key(client.key.read_bytes(), password=None)
    encrypted = tmp_path / "client-encrypted.key"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(password.encode())))
    options = {"ca_pem": ca.cert.read_text(), "client_cert": str(client.cert), "client_key": str(encrypted)}
    with pytest.raises(TlsSetupError, match="^client_key_password: the client key is encrypted"):
        TlsOptions(**options).context()  # OpenSSL would otherwise prompt on the terminal and wait
    wrong = "wrong-" + secrets.token_hex(8)
    with pytest.raises(TlsSetupError, match="^client_key_password: does not decrypt the client key$") as caught:
        TlsOptions(**options, client_key_password=wrong).context()
    assert wrong not in str(caught.value) and password not in str(caught.value)
    assert TlsOptions(**options, client_key_password=password).context()
    assert password not in repr(TlsOptions(**options, client_key_password=password))
