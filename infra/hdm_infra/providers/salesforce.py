"""The Salesforce provider: the Salesforce API emulator (hdm_infra.sfemu), read back with simple-salesforce."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from hdm_infra.providers import DestinationEmulator, DestinationProvider, Resources, SecretRef
from hdm_infra.sfemu.client import AdminClient, connect, login_domain

# what a snapshot compares, and what it leaves out: values set by the org at write time or numbered in write order
SNAPSHOT_OBJECTS = ("User", "Group", "GroupMember", "QueueSobject", "Account", "Contact", "Case", "CaseComment",
                    "ContentVersion", "ContentDocumentLink", "CaseContactRole", "hdm_Case_Event__c")
VOLATILE = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "LastViewedDate", "LastReferencedDate",
            "LastActivityDate", "CreatedById", "LastModifiedById", "CaseNumber", "IsDeleted", "LastLoginDate",
            "ContentDocumentId", "LatestPublishedVersionId", "PublishStatus", "VersionData", "ClosedDate"}
SF_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
NATURAL_KEYS = ("hdm_Legacy_Id__c", "Username", "DeveloperName", "Checksum", "Title")

DEFAULT_OWNER = {"Username": "migration.owner@hdm.example", "Email": "migration.owner@hdm.example",
                 "FirstName": "Migration", "LastName": "Owner"}


def org_users(people: list[str]) -> list[dict[str, Any]]:
    """The users a customer's org already has: one per matched agent e-mail, plus the default owner."""
    users = [DEFAULT_OWNER]
    for email in sorted(set(people)):
        local = email.split("@", 1)[0]
        users.append({"Username": f"{local}@hdm.example", "Email": email, "FirstName": local.title(),
                      "LastName": "Agent"})
    return users


@dataclass
class SalesforceEmulator(DestinationEmulator):
    running: Any  # hdm_infra.sfemu.server.RunningEmulator
    destination_type: str = "salesforce"
    migrated_objects: tuple[str, ...] = ("Account", "Contact", "Case", "CaseComment", "ContentVersion",
                                         "ContentDocument", "User")
    core_objects: tuple[str, ...] = ("Account", "Contact", "Case", "CaseComment", "hdm_Case_Event__c")
    message_object: str = "CaseComment"
    message_phase: str = "comments"

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.running)

    def reset(self, people: list[str], knobs: dict[str, Any] | None = None) -> None:
        admin = self.admin
        admin.reset(knobs=knobs or {})
        admin.seed(users=org_users(people))

    def clear(self) -> None:
        self.admin.reset()  # the running user only

    def config_section(self, secret_ref: SecretRef, **overrides: Any) -> dict[str, Any]:
        creds = self.running.credentials
        return {
            "type": "salesforce",
            "login_domain": login_domain(self.running),
            "username": creds["username"],
            "password": secret_ref("salesforce-password", creds["password"]),
            "security_token": secret_ref("salesforce-token", creds["security_token"]),
            "ca_bundle": str(self.running.cert_path),
            **overrides,
        }

    def rehearsal_overrides(self) -> dict[str, Any]:
        return {"default_owner_email": DEFAULT_OWNER["Email"], "unmatched_agent_policy": "default_owner"}

    def counts(self) -> dict[str, int]:
        return self.admin.counts()

    def _ids(self, dest_object: str, ids: list[str], where: str = "") -> set[str]:
        sf = connect(self.running)
        found: set[str] = set()
        for start in range(0, len(ids), 200):
            part = "','".join(ids[start:start + 200])
            soql = f"SELECT Id FROM {dest_object} WHERE Id IN ('{part}'){where}"
            found.update(r["Id"] for r in sf.query_all(soql)["records"])
        return found

    def existing(self, dest_object: str, ids: list[str]) -> set[str]:
        return self._ids(dest_object, ids)

    def public(self, dest_object: str, ids: list[str]) -> set[str]:
        if dest_object != "CaseComment":
            raise ValueError(f"the Salesforce provider knows visibility for CaseComment only, not {dest_object}")
        return self._ids(dest_object, ids, " AND IsPublished = true")

    def snapshot(self) -> dict[str, list[str]]:
        return destination_state(connect(self.running))


def destination_state(sf: Any) -> dict[str, list[str]]:
    """Every record of the migrated objects, ids replaced by natural keys, as sorted JSON lines per object."""
    records: dict[str, list[dict[str, Any]]] = {}
    for obj in SNAPSHOT_OBJECTS:
        try:
            fields = [f["name"] for f in sf.__getattr__(obj).describe()["fields"]
                      if f["type"] not in ("base64", "address", "location")]
        except Exception:  # noqa: BLE001 - an object the emulator does not model is simply not compared
            continue
        rows = sf.query_all(f"SELECT {', '.join(fields)} FROM {obj}")["records"]
        records[obj] = [{k: v for k, v in r.items() if k != "attributes"} for r in rows]
    labels: dict[str, str] = {}
    for obj, rows in records.items():
        for r in rows:
            natural = next((f"{obj}:{r[k]}" for k in NATURAL_KEYS if r.get(k)), None)
            if natural and r.get("Id"):
                labels[r["Id"][:15]] = natural
    state: dict[str, list[str]] = {}
    for obj, rows in records.items():
        lines = []
        for r in rows:
            clean = {}
            for k, v in r.items():
                if k in VOLATILE:
                    continue
                if isinstance(v, str) and SF_ID.match(v) and v[:15] in labels:
                    v = labels[v[:15]]
                elif isinstance(v, str) and SF_ID.match(v) and (k.endswith("Id") or k == "OwnerId"):
                    v = "<unlabelled id>"
                clean[k] = v
            lines.append(json.dumps(clean, sort_keys=True, default=str))
        state[obj] = sorted(lines)
    return state


class SalesforceProvider(DestinationProvider):
    name = "salesforce"

    def emulator(self, resources: Resources) -> SalesforceEmulator:
        return SalesforceEmulator(resources.fixture("sfemu_server"))


DESTINATION = SalesforceProvider()
