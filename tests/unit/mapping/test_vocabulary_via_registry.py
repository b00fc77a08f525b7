"""A destination's field vocabulary (field definitions and transforms) is found through the registry: the
capability its registration declares (registry.FIELD_VOCABULARY), never a module found by name. A field map may
name a generic transform or one the destination's vocabulary declares; any other is refused at load."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hdm import registry
from hdm.mapping import MappingError, load_mapping
from hdm.mapping.engine import GENERIC_TRANSFORMS, MappingEngine
from hdm.mapping.fields import PlainFields, vocabulary_for
from hdm.pipeline.config import ConnectorConfig


class DeskConfig(ConnectorConfig):
    type: Literal["vocdesk"] = "vocdesk"


class DeskVocabulary(PlainFields):
    """Plain names, plus a transform of its own."""

    def __init__(self):
        super().__init__("vocdesk")

    def field_name(self, prefix: str, name: str) -> str:
        return f"{prefix}{name.lower().replace(' ', '_')}"

    def transforms(self) -> tuple[str, ...]:
        return ("unix_time",)


VOCABULARY = DeskVocabulary()


@pytest.fixture
def desk():
    registry.register_destination("vocdesk", DeskConfig, lambda cfg, secrets, ctx: None,
                                  capabilities={registry.FIELD_VOCABULARY: lambda: VOCABULARY})
    try:
        yield
    finally:
        registry.unregister("destination", "vocdesk")


def _doc(transform: str, destination: str = "vocdesk") -> dict[str, Any]:
    return {"format": "hdm-mapping/1", "version": "1", "pair": {"source": "any", "destination": destination},
            "objects": {"ticket": {"target": "Conversation", "fields": {
                "title": {"from": "subject"}, "opened": {"from": "created_at", "transform": transform}}}},
            "custom_fields": {"targets": {"ticket": "Conversation"}, "prefix": "cf_"}}


def _write(tmp_path, doc):
    path = tmp_path / "pair.yaml"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_the_vocabulary_is_the_one_the_registration_declares(desk):
    assert vocabulary_for("vocdesk") is VOCABULARY
    assert isinstance(vocabulary_for("nodesk-at-all"), PlainFields)  # no connector of that name: plain


def test_the_salesforce_vocabulary_comes_through_its_registration():
    from hdm.destinations.salesforce.fields import VOCABULARY as SF

    assert registry.destination("salesforce").capability(registry.FIELD_VOCABULARY)() is SF
    assert vocabulary_for("salesforce") is SF


def test_a_transform_the_destination_declares_is_accepted_and_engine_checked(desk, tmp_path):
    mapping = load_mapping(base=_write(tmp_path, _doc("unix_time")))
    assert mapping.custom_field_name("ticket", "Issue Type") == "cf_issue_type"  # the vocabulary's naming
    with pytest.raises(Exception, match="does not provide: unix_time"):
        MappingEngine(mapping)  # the destination passes the function
    assert MappingEngine(mapping, {"unix_time": lambda v: 0}).apply("unix_time", "x") == 0


def test_a_transform_nobody_declares_is_refused_naming_the_field(desk, tmp_path):
    with pytest.raises(MappingError, match=r"objects/ticket/fields/opened/transform: 'datetime' is not one of"):
        load_mapping(base=_write(tmp_path, _doc("datetime")))  # Salesforce's, not this destination's
    with pytest.raises(MappingError, match="'unix_time' is not one of"):
        load_mapping(base=_write(tmp_path, _doc("unix_time", destination="nodesk-at-all")))
    for generic in GENERIC_TRANSFORMS:
        load_mapping(base=_write(tmp_path, _doc(generic)))


def test_salesforce_declares_exactly_the_transforms_its_transformer_provides():
    from types import SimpleNamespace

    from hdm.destinations.salesforce.fields import VOCABULARY as SF
    from hdm.destinations.salesforce.transform import SalesforceTransformer

    provided = SalesforceTransformer._salesforce_transforms(SimpleNamespace(names={}))
    assert set(SF.transforms()) == set(provided)
    assert not set(SF.transforms()) & set(GENERIC_TRANSFORMS)
