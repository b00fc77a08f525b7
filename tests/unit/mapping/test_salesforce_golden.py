"""The Salesforce transformer's rows and flags for a generated dataset are byte-identical to those recorded before
the mapping engine moved out of it (golden file written by the old code; regenerate only for an intended change
with ``HDM_WRITE_GOLDEN=1``)."""

import hashlib
import json
import os
from pathlib import Path

import pytest
from golden_dataset import records
from hdm.destinations.salesforce.custom_fields import CustomFieldCatalog
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.references import ReferenceNames
from hdm.destinations.salesforce.transform import SalesforceTransformer
from hdm.mapping import load_mapping
from hdm.model import CustomFieldDef, Provenance

GOLDEN = Path(__file__).parent / "golden"
NAMES = ReferenceNames({"category:1": "Billing", "team:1": "Support", "sla_policy:1": "Gold", "agent:1": "Ann"})


class _Stage:
    """Just enough of a stage for bodies that become files: a deterministic blob key per content."""

    def put_blob(self, parts):
        data = b"".join(parts)
        digest = hashlib.sha256(data).hexdigest()
        return f"blobs/{digest[:12]}", digest, len(data)


def _defs():
    def d(i, target, name, ftype, **kw):
        return CustomFieldDef(Provenance("osticket", "form_field", str(i)), target=target, name=name, type=ftype,
                              label=name.title(), **kw)
    return [d(1, "organization", "region", "text"), d(2, "organization", "tier", "multichoice",
                                                       choices=[{"key": "g", "label": "gold"}]),
            d(3, "contact", "vip", "bool"), d(4, "contact", "note", "memo", enabled=False),
            d(5, "ticket", "due", "date"), d(6, "ticket", "kind", "choice"), d(7, "ticket", "empty", "info")]


CASES = {
    "default": (None, {}, False),
    "catalog_and_options": ({"policies": {"same_name_organizations": "separate_suffixed"},
                             "custom_fields": {"fields": {"ticket.secret": {"skip": True}}}},
                            {"legacy_namespace": "mig-7", "queue_name_prefix": "Q: ", "body_file_bytes": 2000,
                             "stage": _Stage(), "max_file_bytes": 4000}, True),
}


def _run(case: str) -> str:
    override, opts, with_catalog = CASES[case]
    mapping = load_mapping("osticket", "salesforce", override=override)
    catalog = CustomFieldCatalog(mapping, defs=_defs()) if with_catalog else None
    tx = SalesforceTransformer(mapping, SalesforceOptions(**opts), NAMES, catalog)
    lines = []
    for obj, recs in records().items():
        for phase, rows in sorted(tx.transform(obj, recs).items()):
            lines += [f"{obj} {phase} " + json.dumps(r, sort_keys=True, ensure_ascii=False, default=str) for r in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", sorted(CASES))
def test_transformer_output_is_byte_identical_to_the_recorded_golden_rows(case):
    path = GOLDEN / f"salesforce_transform_{case}.jsonl"
    got = _run(case)
    if os.environ.get("HDM_WRITE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def test_the_golden_dataset_raises_every_mapping_flag():
    """The golden files would catch a change in each flag the mapping engine raises."""
    text = (GOLDEN / "salesforce_transform_catalog_and_options.jsonl").read_text(encoding="utf-8") + \
        (GOLDEN / "salesforce_transform_default.jsonl").read_text(encoding="utf-8")
    for code in ("lossy_value", "defaulted", "truncated", "custom_value_not_migrated", "kept_apart",
                 "invalid_email", "comment_split", "body_as_file", "file_held"):
        assert f'"code": "{code}"' in text, code
