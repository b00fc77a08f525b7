"""Builds the mapping proposer's labelled set from the recorded real osTicket (tests/fixtures/osticket_real/1.18):
the source's field profiles (real values as osTicket stored them) and two destination orgs (the recorded
Salesforce describes plus custom fields under other names and decoys). The gold labels are hand-written in
tests/fixtures/mapping_bench/gold.json. Run: python bench/mapping_bench_data.py (rewrites the JSON files)."""

from __future__ import annotations

import copy
import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "infra"), str(ROOT / "layers" / "hdm")]
OUT = ROOT / "tests" / "fixtures" / "mapping_bench"
DUMP = ROOT / "tests" / "fixtures" / "osticket_real" / "1.18" / "osticket.sql.gz"
ROW = re.compile(r"^INSERT INTO `(\w+)` VALUES \((.*)\);$")
ESC = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "Z": "\x1a"}


def _values(body: str) -> list:
    out, i, n = [], 0, len(body)
    while i < n:
        if body[i] == "'":
            i += 1
            buf = []
            while body[i] != "'":
                if body[i] == "\\":
                    i += 1
                    buf.append(ESC.get(body[i], body[i]))
                else:
                    buf.append(body[i])
                i += 1
            out.append("".join(buf))
            i += 1
        else:
            j = body.find(",", i)
            j = n if j < 0 else j
            tok = body[i:j].strip()
            out.append(None if tok == "NULL" else tok)
            i = j
        if i < n and body[i] == ",":
            i += 1
    return out


def tables() -> dict[str, list[list]]:
    rows: dict[str, list[list]] = {}
    with gzip.open(DUMP, "rt", encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line.rstrip("\n"))
            if m:
                rows.setdefault(m.group(1), []).append(_values(m.group(2)))
    return rows


TYPES = {"text": "text", "memo": "memo", "choices": "choice", "datetime": "datetime", "bool": "bool",
         "phone": "phone", "priority": "choice"}


def profiles(t: dict[str, list[list]]) -> dict:
    forms = {int(r[0]): r[2] for r in t["ost_form"]}  # form id -> kind (U user, T ticket, O organisation)
    fields = {int(r[0]): r for r in t["ost_form_field"]}
    entries = {int(r[0]): (forms.get(int(r[1])), r[3]) for r in t["ost_form_entry"]}
    answers: dict[tuple[str, int], list] = {}
    for entry_id, field_id, value, _ in t["ost_form_entry_values"]:
        kind, _obj = entries.get(int(entry_id), (None, None))
        answers.setdefault((kind, int(field_id)), []).append(value)
    owners = {"T": "ticket", "U": "contact", "O": "organization"}
    standard = {"subject", "priority", "email", "name", "phone", "notes", "website", "address", "message"}
    out: dict[str, dict] = {"ticket": {"fields": []}, "contact": {"fields": []}, "organization": {"fields": []}}
    for fid, r in sorted(fields.items()):
        kind = forms.get(int(r[1]))
        if kind not in owners or r[3] == "thread":
            continue
        ftype = "email" if r[5] == "email" else TYPES.get(r[3], "choice" if r[3].startswith("list") else "text")
        if r[3] == "choices" and r[6] and '"multiselect":true' in r[6]:
            ftype = "multichoice"
        values = answers.get((kind, fid), [])
        if r[3].startswith("list"):  # a custom list answer: {"id": "Item"}
            pass
        out[owners[kind]]["fields"].append({"name": r[5], "label": r[4], "type": ftype,
                                            "custom": r[5] not in standard, "values": values})
    statuses = {r[0]: (r[1], r[2]) for r in t["ost_ticket_status"]}
    topics = {r[0]: r[14] for r in t["ost_help_topic"]}
    status_counts = Counter(statuses[r[5]][0] for r in t["ost_ticket"])
    out["ticket"]["fields"] += [
        {"name": "status", "label": "Status", "type": "choice", "custom": False, "counts": dict(status_counts),
         "hints": {name: state for name, state in statuses.values()}},
        {"name": "number", "label": "Ticket number", "type": "text", "custom": False,
         "values": [r[2] for r in t["ost_ticket"]]},
        {"name": "category", "label": "Help topic", "type": "choice", "custom": False,
         "values": [topics.get(r[8]) for r in t["ost_ticket"]]},
        {"name": "channel", "label": "Source", "type": "choice", "custom": False,
         "values": [r[16].lower() for r in t["ost_ticket"]]},
        {"name": "created_at", "label": "Created", "type": "datetime", "custom": False,
         "values": [r[25] for r in t["ost_ticket"]]},
        {"name": "ip_address", "label": "IP address", "type": "text", "custom": False,
         "values": [r[15] for r in t["ost_ticket"]]},
    ]
    for obj in out.values():
        obj["fields"].sort(key=lambda f: f["name"])
    return {"source": "osticket", "release": "1.18", "objects": out}


def orgs() -> dict:
    from hdm_infra.sfemu.schema import field_describe as F

    base = {name: json.loads((ROOT / "infra/hdm_infra/sfemu/data" / f"{name}.describe.json").read_text())
            for name in ("Case", "Contact", "Account")}
    extra = {
        # acme already holds the custom fields under other names, plus decoys that must receive nothing
        "acme": {"Case": [
            F("Equipment_Tag__c", "string", 50, label="Equipment Tag", custom=True),
            F("Repro_Steps__c", "textarea", 32000, label="Steps to Reproduce", custom=True),
            F("Impact_Level__c", "picklist", 40, label="Impact", picklist=("Low", "High", "Everyone"), custom=True),
            F("Incident_Started_At__c", "datetime", label="Incident Start Time", custom=True),
            F("In_Warranty__c", "boolean", label="Warranty", custom=True, nillable=False, defaulted=True),
            F("Callback_Number__c", "phone", 40, label="Callback Number", custom=True),
            F("Product_Line__c", "picklist", 40, label="Product", picklist=("Laptop", "Printer", "VPN", "Monitor"),
              custom=True),
            F("Affected_Systems__c", "multipicklist", 4099, label="Affected Systems",
              picklist=("Network", "VPN & remote", "E-mail"), custom=True),
            F("Cost_Center_Id__c", "double", label="Cost Center ID", custom=True),  # decoy
            F("Legacy_Score__c", "double", label="Legacy Score", custom=True),  # decoy
            F("Survey_Comment__c", "string", 255, label="Survey Comment", custom=True),  # decoy
            F("Escalation_Deadline_Flag__c", "boolean", label="Escalation Deadline Flag", custom=True),  # decoy
        ], "Contact": [
            F("Internal_Remarks__c", "textarea", 32000, label="Internal Notes", custom=True),
            F("Loyalty_Tier__c", "picklist", 40, label="Loyalty Tier", picklist=("Gold", "Silver"), custom=True),
        ], "Account": [
            F("Customer_Since__c", "date", label="Customer Since", custom=True),  # decoy
        ]},
        # initech holds decoys only: every custom field of the source must become a new field
        "initech": {"Case": [
            F("Asset_Count__c", "double", label="Asset Count", custom=True),
            F("Impact_Score__c", "double", label="Impact Score", custom=True),
            F("Deadline_Missed__c", "boolean", label="Deadline Missed", custom=True),
            F("Warranty_Expiry__c", "date", label="Warranty Expiry", custom=True),
            F("Product_Code__c", "string", 10, label="Product Code", custom=True),
        ], "Contact": [], "Account": []},
    }
    out = {}
    for org, objects in extra.items():
        describes = copy.deepcopy(base)
        for obj, fields in objects.items():
            describes[obj]["fields"] += fields
        out[org] = describes
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "osticket_profiles.json").write_text(json.dumps(profiles(tables()), indent=1, ensure_ascii=False) + "\n")
    for org, describes in orgs().items():
        (OUT / f"org_{org}.json").write_text(json.dumps(describes, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
