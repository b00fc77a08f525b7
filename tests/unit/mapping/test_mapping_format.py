"""The mapping format: the generic part names no destination vocabulary; field definitions are the destination's
(Salesforce: ``hdm.destinations.salesforce.fields``). The pair YAML loads to the same mapping, and bad documents fail
with the same messages, as before the split (golden file recorded by the old code)."""

import dataclasses
import json
import os
from pathlib import Path

import pytest
from hdm.mapping import MappingError, load_document, load_mapping
from hdm.mapping.model import Mapping

GOLDEN = Path(__file__).parent / "golden" / "mapping_loaded.json"
LAYER = Path(__file__).resolve().parents[3] / "layers" / "hdm" / "hdm"

BAD_DOCUMENTS = {
    "field type": {"schema": {"Case": {"X__c": {"type": "Texty"}}}},
    "field length": {"schema": {"Case": {"X__c": {"type": "Text", "length": 0}}}},
    "field unknown key": {"schema": {"Case": {"X__c": {"type": "Text", "colour": "red"}}}},
    "custom object": {"custom_objects": {"Y__c": {"label": "Y", "fields": {"A__c": {"type": "Nope"}}}}},
    "custom type": {"custom_fields": {"types": {"text": {"type": "Strange"}}}},
    "override type": {"custom_fields": {"fields": {"ticket.a": {"type": {"length": 3}}}}},
    "generic and destination": {"objects": {"ticket": {"target": "Case", "fields": {"Status": {"to": "x"}}}},
                                "schema": {"Case": {"X__c": {"type": "Texty"}}}},
    "custom override key": {"custom_fields": {"fields": {"ticket.a": {"rename": "b"}}}},
}


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def dump(m: Mapping) -> dict:
    """Everything a loaded mapping offers its users (works on the old and the new Mapping)."""
    custom_types = getattr(m, "custom_types", None) or m.fields.custom_types
    defs = {f"{owner}/{t}": _plain(m.custom_field_def(owner, "Some field", t, "Label",
                                                        [{"key": "a", "label": "Alpha"}, {"key": "b"}]))
            for owner in ("ticket", "contact", "organization", "agent") for t in [*custom_types, "unknown"]}
    return {
        "version": m.version, "source": m.source, "destination": m.destination, "fingerprint": m.fingerprint,
        "objects": _plain(m.objects),
        "value_maps": {k: {"values": v.values, "default": v.default, "case_sensitive": v.case_sensitive}
                       for k, v in m.value_maps.items()},
        "custom_targets": m.custom_targets, "custom_prefix": m.custom_prefix, "custom_types": custom_types,
        "custom_overrides": m.custom_overrides, "policies": m.policies,
        "schema_fields": _plain(m.schema_fields), "custom_objects": _plain(m.custom_objects),
        "fields_for": {o: _plain(m.fields_for(o)) for o in ("Case", "Account", "Contact", "Nothing")},
        "custom_field_names": {n: m.custom_field_name("ticket", n) for n in ("issue type", "__x__", "9lives", "p")},
        "custom_field_defs": defs,
    }


def _errors() -> dict:
    out = {}
    for name, override in BAD_DOCUMENTS.items():
        try:
            load_document("osticket", "salesforce", override=override)
            out[name] = None
        except MappingError as exc:
            out[name] = str(exc)
    return out


def _current() -> dict:
    overridden = load_mapping("osticket", "salesforce", override={"custom_fields": {"fields": {
        "ticket.p": {"to": "Plan__c", "type": {"type": "Number", "precision": 5, "scale": 1}},
        "ticket.secret": {"skip": True}}}})
    return {"default": dump(load_mapping("osticket", "salesforce")), "overridden": dump(overridden),
            "errors": _errors()}


def test_the_pair_yaml_loads_to_the_same_mapping_and_errors_as_before_the_split():
    got = json.loads(json.dumps(_current(), sort_keys=True, default=str))
    if os.environ.get("HDM_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_every_bad_document_is_refused():
    assert all(_errors().values())


def test_the_generic_format_names_no_salesforce_vocabulary():
    generic = [LAYER / "mapping" / n for n in ("model.py", "mapping.schema.json", "engine.py", "loader.py",
                                                "fields.py", "__init__.py")]
    for path in generic:
        text = path.read_text(encoding="utf-8")
        # (loader.py's default pair arguments name the connectors; choosing the pair is the registry's work)
        words = ("__c", "Picklist", "LongTextArea", "Lookup", "Checkbox", "api_field_name", "Salesforce",
                 *(() if path.name == "loader.py" else ("salesforce",)))
        for word in words:
            assert word not in text, f"{path.name} names {word!r}"


def test_salesforce_field_types_are_validated_by_the_destinations_own_schema():
    schema = json.loads((LAYER / "destinations" / "salesforce" / "fields.schema.json").read_text(encoding="utf-8"))
    assert "Picklist" in schema["$defs"]["fieldDef"]["properties"]["type"]["enum"]
    with pytest.raises(MappingError, match=r"schema/Case/X__c/type: 'Texty' is not one of"):
        load_document("osticket", "salesforce", override=BAD_DOCUMENTS["field type"])


def _desk(**extra):
    return {"format": "hdm-mapping/1", "version": "1", "pair": {"source": "any", "destination": "nodesk"},
            "objects": {"ticket": {"target": "Conversation", "fields": {"title": {"from": "subject"}}}},
            "custom_fields": {"targets": {"ticket": "Conversation"}, "prefix": "cf_"}, **extra}


def test_a_destination_without_a_field_vocabulary_gets_plain_names_and_no_field_definitions(tmp_path):
    base = tmp_path / "any-nodesk.yaml"
    base.write_text(json.dumps(_desk()), encoding="utf-8")
    m = load_mapping(base=base)
    assert m.custom_field_name("ticket", "Plan") == "cf_Plan" and m.schema_fields == [] and m.custom_objects == {}
    base.write_text(json.dumps(_desk(schema={"Conversation": {"x": {"type": "Text"}}})), encoding="utf-8")
    with pytest.raises(MappingError, match="schema"):
        load_mapping(base=base)
