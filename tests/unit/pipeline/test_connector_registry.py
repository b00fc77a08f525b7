"""Connectors are registered by name (issue #11 item 1): a source and a destination defined in this file are
accepted by MigrationConfig, built by the engines' factories (secrets found by their SecretRef type) and run
end to end by the local engine, with no core file naming them. The real pair goes through the same lookup."""

from __future__ import annotations

from typing import Literal, Optional

import pytest
from click.testing import CliRunner
from hdm import registry
from hdm.engines.factories import Secrets, build_destination, build_source
from hdm.engines.local import LocalEngine
from hdm.pipeline.config import ConnectorConfig, MigrationConfig, SecretRef, StrictModel, read_config
from hdm.pipeline.secrets import SecretError
from test_local_engine import ListSource, MemoryDestination


class Login(StrictModel):
    token: Optional[SecretRef] = None  # nested: found by its type, never listed


class MemListConfig(ConnectorConfig):
    type: Literal["memlist"] = "memlist"
    orgs: int = 3
    contacts: int = 10
    api_key: SecretRef
    login: Login = Login()


class MemStoreConfig(ConnectorConfig):
    type: Literal["memstore"] = "memstore"
    password: Optional[SecretRef] = None


BUILT: dict = {}
STORE: dict = {}


def _build_source(cfg, secrets):
    BUILT["source_secrets"] = dict(secrets)
    return ListSource(cfg.orgs, cfg.contacts)


def _build_destination(cfg, secrets, context):
    BUILT["destination_secrets"] = dict(secrets)
    BUILT["context"] = context
    return MemoryDestination(STORE)


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setenv("HDM_FAKE_KEY", "fake-key-value")
    monkeypatch.setenv("HDM_FAKE_TOKEN", "fake-token-value")
    BUILT.clear()
    STORE.clear()
    registry.register_source("memlist", MemListConfig, _build_source)
    registry.register_destination("memstore", MemStoreConfig, _build_destination)
    try:
        yield
    finally:
        registry.unregister("source", "memlist")
        registry.unregister("destination", "memstore")


def _doc(**kw) -> dict:
    doc = {"migration_id": "fake-pair", "source": {"type": "memlist", "api_key": "env:HDM_FAKE_KEY",
                                                   "login": {"token": "env:HDM_FAKE_TOKEN"}},
           "destination": {"type": "memstore"}, "chunk_rows": 4, "reject_threshold": 0.5}
    doc.update(kw)
    return doc


def test_a_registered_pair_is_accepted_by_the_migration_config(fakes):
    cfg = MigrationConfig.model_validate(_doc())
    assert isinstance(cfg.source, MemListConfig) and isinstance(cfg.destination, MemStoreConfig)
    assert cfg.to_json()["source"]["login"] == {"token": "env:HDM_FAKE_TOKEN"}  # same JSON shape as any config
    with pytest.raises(Exception, match="secret reference"):  # its SecretRef fields are checked like the core's
        MigrationConfig.model_validate(_doc(source={"type": "memlist", "api_key": "literal-key"}))


def test_the_real_connectors_stay_registered_beside_the_fakes(fakes):
    assert {"osticket", "memlist"} <= set(registry.connectors("source"))
    assert {"salesforce", "memstore"} <= set(registry.connectors("destination"))


def test_an_unregistered_type_is_refused_naming_the_registered_ones(fakes, tmp_path):
    registry.unregister("source", "memlist")
    path = tmp_path / "c.yaml"
    import yaml

    path.write_text(yaml.safe_dump(_doc()))
    with pytest.raises(Exception) as caught:
        read_config(path)
    assert "source" in str(caught.value) and "'osticket'" in str(caught.value)
    with pytest.raises(registry.UnknownConnector, match=r"unknown source type 'memlist' \(registered: .*osticket"):
        registry.source("memlist")


def test_a_config_whose_type_is_not_its_name_is_refused():
    with pytest.raises(registry.RegistryError, match="Literal"):
        registry.register_source("other", MemListConfig, _build_source)
    with pytest.raises(registry.RegistryError, match="already registered"):
        registry.register_source("osticket", MemListConfigAsOsticket, _build_source)


class MemListConfigAsOsticket(ConnectorConfig):
    type: Literal["osticket"] = "osticket"


def test_factories_look_the_type_up_and_pass_the_secrets_found_by_type(fakes):
    cfg = MigrationConfig.model_validate(_doc())
    source = build_source(cfg.source)
    assert isinstance(source, ListSource)
    assert BUILT["source_secrets"] == {"api_key": "fake-key-value", "login.token": "fake-token-value"}
    dest = build_destination(cfg.destination, "stage-object", cfg.migration_id, cfg.source.type)
    assert isinstance(dest, MemoryDestination) and BUILT["destination_secrets"] == {}  # password unset
    ctx = BUILT["context"]
    assert (ctx.stage, ctx.migration_id, ctx.source_type) == ("stage-object", "fake-pair", "memlist")


def test_a_secret_that_cannot_be_resolved_names_its_field_not_its_value(fakes, monkeypatch):
    monkeypatch.delenv("HDM_FAKE_TOKEN")
    cfg = MigrationConfig.model_validate(_doc())
    secrets = Secrets(cfg.source, "source.")
    assert secrets["api_key"] == "fake-key-value" and set(secrets) == {"api_key", "login.token"}
    with pytest.raises(SecretError, match=r"^source\.login\.token: environment variable HDM_FAKE_TOKEN is not set"):
        build_source(cfg.source)


def test_the_local_engine_runs_a_registered_pair_end_to_end(fakes, tmp_path):
    cfg = MigrationConfig.model_validate(_doc())
    outcome = LocalEngine(cfg, workdir=tmp_path, progress=False).run(approve=True)  # no factories passed in
    assert outcome.status == "succeeded", outcome.message
    contacts = next(p for p in outcome.report["phases"] if p["phase"] == "contacts")
    assert contacts["source"] == 10 and contacts["loaded"] + contacts["rejected"] == 10
    assert sum(1 for obj, _ in STORE.values() if obj == "Account") == 3
    assert BUILT["context"].source_type == "memlist"


def test_discover_without_a_scoping_capability_writes_the_generic_report(fakes, tmp_path):
    import json

    import yaml
    from hdm.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_doc()))
    result = CliRunner().invoke(main, ["discover", "--config", str(path), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "d" / "scoping.json").read_text())
    assert data["system"] == "list" and data["record_counts"] == {"organization": 3, "contact": 10, "tag": 1}
    assert "| contact | 10 |" in (tmp_path / "d" / "scoping.md").read_text()
    assert not (tmp_path / "d" / "inventory.md").exists()  # the source offers no inventory


def test_discover_uses_the_sources_scoping_capability(fakes, tmp_path):
    import yaml
    from hdm.cli import main

    calls = []

    def scoping(source):
        calls.append(type(source).__name__)
        return registry.ScopingReport({"own": True}, "# own report\n", "own summary")

    registry.register_source("memlist", MemListConfig, _build_source, capabilities={
        registry.SCOPING_REPORT: scoping, registry.INVENTORY: lambda source: "# automations\n"}, replace=True)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_doc()))
    result = CliRunner().invoke(main, ["discover", "--config", str(path), "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert calls == ["ListSource"] and "own summary" in result.output
    assert (tmp_path / "d" / "scoping.md").read_text() == "# own report\n"
    assert (tmp_path / "d" / "inventory.md").read_text() == "# automations\n"


def test_the_salesforce_destination_loads_the_mapping_of_its_source_type(tmp_path):
    """The pair key comes from the config types: a source with no mapping to Salesforce is a clear error,
    never the osTicket mapping silently."""
    from hdm.destinations.salesforce.config import SalesforceDestinationConfig
    from hdm.mapping import MappingError

    cfg = SalesforceDestinationConfig(username="u", password="env:X")
    with pytest.raises(MappingError, match="no default mapping for the pair memlist -> salesforce"):
        build_destination(cfg, None, "m1", "memlist")
    dest = build_destination(cfg, None, "m1", "osticket")
    assert dest.mapping.source == "osticket" and dest.mapping.destination == "salesforce"


def test_the_threads_commands_come_from_a_connectors_capability():
    from hdm.cli import main

    offered = {c.name for conn in registry.connectors("source").values()
               for c in (conn.capability(registry.COMMANDS) or list)()}
    assert "threads" in offered and "threads" not in main.commands  # attached when asked for, not at import
    result = CliRunner().invoke(main, ["threads", "--help"])
    assert result.exit_code == 0 and "validate" in result.output
    assert "threads" in CliRunner().invoke(main, ["--help"]).output


def test_the_stack_policy_checks_the_login_host_the_destination_expands_its_domain_into(fakes):
    """Which host a login domain means belongs to its destination (capability login_url), not to the policy."""
    from hdm.pipeline.config import LoginDomain
    from hdm.pipeline.stack_policy import StackPolicy

    class DomainStoreConfig(ConnectorConfig):
        type: Literal["memstore"] = "memstore"
        domain: LoginDomain = "acme"

    registry.register_destination("memstore", DomainStoreConfig, _build_destination, replace=True,
                                  capabilities={registry.LOGIN_URL: lambda d: f"https://{d}.helpdesk.example/login"})
    cfg = MigrationConfig.model_validate(_doc(source={"type": "memlist", "api_key": "env:HDM_FAKE_KEY"},
                                              destination={"type": "memstore", "domain": "acme"}))
    allowed = StackPolicy(login_domains=("*.helpdesk.example",))
    assert [p for p in allowed.problems(cfg) if p["loc"] == ["destination", "domain"]] == []
    salesforce_only = StackPolicy(login_domains=("login.salesforce.com", "acme.salesforce.com"))
    refused = [p for p in salesforce_only.problems(cfg) if p["loc"] == ["destination", "domain"]]
    assert len(refused) == 1 and "acme.helpdesk.example" in refused[0]["msg"]


def test_a_login_domain_whose_connector_names_no_login_host_is_refused_not_judged_by_another(fakes):
    """A destination with a login-domain field but no login_url capability: Salesforce's rule must not allow it
    (the domain would pass as 'evil.salesforce.com' while the connector connects somewhere else)."""
    from hdm.pipeline.config import LoginDomain
    from hdm.pipeline.stack_policy import StackPolicy

    class DomainStoreConfig(ConnectorConfig):
        type: Literal["memstore"] = "memstore"
        domain: LoginDomain = "evil"

    registry.register_destination("memstore", DomainStoreConfig, _build_destination, replace=True)
    cfg = MigrationConfig.model_validate(_doc(source={"type": "memlist", "api_key": "env:HDM_FAKE_KEY"},
                                              destination={"type": "memstore", "domain": "evil"}))
    refused = [p for p in StackPolicy(login_domains=("*.salesforce.com",)).problems(cfg)
               if p["loc"] == ["destination", "domain"]]
    assert len(refused) == 1 and "does not say which login host" in refused[0]["msg"]
