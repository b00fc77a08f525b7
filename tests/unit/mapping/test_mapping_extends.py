"""A mapping pair may extend another (``extends: <source>-<destination>``): the export pair is the osTicket pair's
canonical mapping with its own pair and notes, not a copy of it."""

from __future__ import annotations

import pytest
import yaml
from hdm.mapping import MappingError, load_document, load_mapping


def test_the_export_pair_is_the_osticket_pair_with_its_own_name():
    osticket, export = load_document("osticket", "salesforce"), load_document("export", "salesforce")
    assert export["pair"] == {"source": "export", "destination": "salesforce"}
    assert "extends" not in export
    assert {k for k in osticket.keys() | export.keys() if osticket.get(k) != export.get(k)} == {"pair", "notes"}
    assert load_mapping("export", "salesforce").source == "export"


def test_a_child_changes_what_it_names_and_keeps_the_rest(tmp_path):
    child = tmp_path / "x-salesforce.yaml"
    child.write_text(yaml.safe_dump({"format": "hdm-mapping/1", "version": "1.0.0", "extends": "osticket-salesforce",
                                     "pair": {"source": "x", "destination": "salesforce"},
                                     "objects": {"ticket": {"fields": {"Subject": {"from": "number"}}}}}))
    doc = load_document(base=child)
    assert doc["objects"]["ticket"]["fields"]["Subject"] == {"from": "number", "max_length": 255}  # merged key by key
    assert doc["objects"]["ticket"]["target"] == "Case" and "contact" in doc["objects"]


@pytest.mark.parametrize("parent", ["../../etc/passwd", "nosuchsource-salesforce", 7])
def test_extends_must_name_an_existing_pair(tmp_path, parent):
    child = tmp_path / "y-salesforce.yaml"
    child.write_text(yaml.safe_dump({"format": "hdm-mapping/1", "version": "1.0.0", "extends": parent,
                                     "pair": {"source": "y", "destination": "salesforce"}, "objects": {}}))
    with pytest.raises(MappingError, match="extends must name a pair|no default mapping for the pair"):
        load_document(base=child)
