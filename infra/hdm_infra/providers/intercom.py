"""The Intercom provider: the Intercom API emulator (hdm_infra.intercomemu), read back through its admin API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hdm_infra.intercomemu.client import AdminClient
from hdm_infra.providers import DestinationEmulator, DestinationProvider, Resources, SecretRef

DEFAULT_ADMIN = {"id": "991260001", "name": "Migration Owner", "email": "migration.owner@hdm.example"}


def workspace_admins(people: list[str]) -> list[dict[str, Any]]:
    """The admins a customer's workspace already has: the default admin and one per matched agent e-mail."""
    admins = [dict(DEFAULT_ADMIN)]
    for i, email in enumerate(sorted(set(people))):
        admins.append({"id": str(991260100 + i), "name": email.split("@", 1)[0].title(), "email": email})
    return admins


@dataclass
class IntercomEmulator(DestinationEmulator):
    running: Any  # hdm_infra.intercomemu.server.RunningIntercom
    destination_type: str = "intercom"
    migrated_objects: tuple[str, ...] = ("company", "contact", "ticket")
    core_objects: tuple[str, ...] = ("company", "contact", "ticket")
    message_object: str = "ticket_part"
    message_phase: str = "parts"

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.running)

    def reset(self, people: list[str], knobs: dict[str, Any] | None = None) -> None:
        # no team: Intercom has no API to create one, and the fixture's departments are reported as missing
        self.admin.reset(admins=workspace_admins(people), knobs=knobs or {})

    def clear(self) -> None:
        self.admin.reset(admins=[dict(DEFAULT_ADMIN)])  # the token's own admin only

    def config_section(self, secret_ref: SecretRef, **overrides: Any) -> dict[str, Any]:
        return {"type": "intercom", "base_url": self.running.url,
                "access_token": secret_ref("intercom-token", self.running.access_token),
                "ca_bundle": str(self.running.cert_path), **overrides}

    def rehearsal_overrides(self) -> dict[str, Any]:
        return {"default_admin_email": DEFAULT_ADMIN["email"], "unmatched_agent_policy": "default_admin"}

    def counts(self) -> dict[str, int]:
        return self.admin.counts()

    def _records(self, dest_object: str) -> list[dict[str, Any]]:
        dump = self.admin.dump()
        if dest_object == "ticket_part":
            return [p for t in dump.get("ticket", []) for p in t.get("parts", [])]
        return dump.get(dest_object, [])

    def existing(self, dest_object: str, ids: list[str]) -> set[str]:
        have = {str(r["id"]) for r in self._records(dest_object)}
        return {i for i in ids if str(i) in have}

    def public(self, dest_object: str, ids: list[str]) -> set[str]:
        if dest_object != "ticket_part":
            raise ValueError(f"the Intercom provider knows visibility for ticket parts only, not {dest_object}")
        # a comment is shown to the contact; a note never is
        shown = {str(p["id"]) for p in self._records("ticket_part") if p.get("part_type") == "comment"}
        return {i for i in ids if str(i) in shown}

    def snapshot(self) -> dict[str, list[str]]:
        """The workspace without the ids Intercom hands out: references by external id, company_id and tag name."""
        dump = self.admin.dump()
        contacts = {c["id"]: c.get("external_id") or c.get("email") for c in dump.get("contact", [])}
        companies = {c["id"]: c.get("company_id") for c in dump.get("company", [])}
        tags = {t["id"]: t["name"] for t in dump.get("tag", [])}
        volatile = {"id", "created_at", "updated_at", "_indexed_at", "_indexed_call", "ticket_id", "company_ids",
                    "tags", "parts", "contact_ids", "company_id", "url", "sha256"}

        def clean(rec: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in rec.items() if k not in volatile}

        state: dict[str, list[str]] = {}
        state["company"] = sorted(json.dumps({**clean(c), "company_id": c.get("company_id")}, sort_keys=True,
                                             default=str) for c in dump.get("company", []))
        state["contact"] = sorted(json.dumps({**clean(c), "companies": sorted(
            str(companies.get(x)) for x in c.get("company_ids", []))}, sort_keys=True, default=str)
            for c in dump.get("contact", []))
        state["ticket"] = sorted(json.dumps({
            **clean(t), "created_at": t.get("created_at"), "contacts": [contacts.get(x) for x in t["contact_ids"]],
            "company": companies.get(t.get("company_id")), "tags": sorted(tags.get(x, x) for x in t.get("tags", {})),
            "parts": [(p["part_type"], p["author"]["type"], p["created_at"], p.get("body"),
                       [a.get("name") for a in p.get("attachments", [])]) for p in t.get("parts", [])]},
            sort_keys=True, default=str) for t in dump.get("ticket", []))
        return state


class IntercomProvider(DestinationProvider):
    name = "intercom"

    def emulator(self, resources: Resources) -> IntercomEmulator:
        return IntercomEmulator(resources.fixture("intercomemu_server"))


DESTINATION = IntercomProvider()
