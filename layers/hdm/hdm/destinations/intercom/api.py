"""Intercom's REST API 2.16 as the loader uses it, on the hdm REST kit (:mod:`hdm.http`).

One client per destination, shared by the chunk workers: one rate limiter (a configured share of the app's
calls a minute, and the server's ``X-RateLimit-Remaining``/``-Reset``), retries with backoff that honour
``Retry-After`` (a 429 is sent again: Intercom refuses it before doing anything; a write that met a 5xx or a
reset connection is not, it may have happened: the loader reads back instead), and call counters per family.
The kit raises the generic :class:`hdm.connector_errors.Transient` / ``QuotaExhausted`` the engines act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Optional

from hdm.http import BearerAuth, HttpClient, NotFound, RateLimiter, Rejected, RetryPolicy, make_session
from hdm.http.paging import cursor_in_body, cursor_pages

EXISTING_ID = re.compile(r"\bid=([A-Za-z0-9_-]+)")


def existing_contact_id(exc: Rejected) -> Optional[str]:
    """The id a 409 "A contact matching those details already exists with id=…" names, if any."""
    for err in exc.errors:
        found = EXISTING_ID.search(str(err.get("message") or ""))
        if found:
            return found.group(1)
    return None


class IntercomApi:
    def __init__(self, base_url: str, token: Callable[[], str], *, api_version: str = "2.16",
                 ca_bundle: Optional[str] = None, per_minute: int = 10_000, share: float = 0.8, workers: int = 4,
                 retry: Optional[RetryPolicy] = None, sleep: Optional[Callable[[float], None]] = None) -> None:
        # burst: up to one second of calls may catch up a gap (between phases, a chunk's start): the header gate
        # still keeps every 10-second window under the share of the server's limit
        self.limiter = RateLimiter(per_minute, 60.0, share=share, burst=max(1, workers, int(per_minute * share / 60)))
        kwargs: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
        self.http = HttpClient(
            base_url, auth=BearerAuth(token()), session=make_session(ca_bundle=ca_bundle, pool_size=max(4, workers)),
            limiter=self.limiter, retry=retry or RetryPolicy(attempts=6, total=300.0),
            headers={"Intercom-Version": api_version, "Content-Type": "application/json"}, **kwargs)

    @property
    def calls(self):
        return self.http.counters

    # -- admins, teams (read only: Intercom has no API to create them) ---------------------------------------------
    def me(self) -> dict[str, Any]:
        return self.http.get_json("/me") or {}

    def admins(self) -> list[dict[str, Any]]:
        return list((self.http.get_json("/admins") or {}).get("admins") or [])

    def teams(self) -> list[dict[str, Any]]:
        return list((self.http.get_json("/teams") or {}).get("teams") or [])

    # -- companies ----------------------------------------------------------------------------------------------
    def company_by_company_id(self, company_id: str) -> Optional[dict[str, Any]]:
        try:
            body = self.http.get_json("/companies", params={"company_id": company_id})
        except NotFound:
            return None
        if isinstance(body, dict) and body.get("type") == "list":
            found = [c for c in body.get("data") or [] if c.get("company_id") == company_id]
            return found[0] if found else None
        return body if isinstance(body, dict) and body.get("id") else None

    def upsert_company(self, payload: dict[str, Any]) -> dict[str, Any]:
        # create-or-update keyed by company_id: sending it again changes nothing (idempotent)
        return self.http.json("POST", "/companies", json=payload, idempotent=True)

    def get_company(self, company_id: str) -> dict[str, Any]:
        return self.http.get_json("/companies/{id}", path_params={"id": company_id})

    def delete_company(self, company_id: str) -> None:
        self.http.request("DELETE", "/companies/{id}", path_params={"id": company_id})

    # -- contacts -----------------------------------------------------------------------------------------------
    def create_contact(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/contacts", json=payload)

    def update_contact(self, contact_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("PUT", "/contacts/{id}", path_params={"id": contact_id}, json=payload)

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        return self.http.get_json("/contacts/{id}", path_params={"id": contact_id})

    def delete_contact(self, contact_id: str) -> None:
        self.http.request("DELETE", "/contacts/{id}", path_params={"id": contact_id})

    def contact_by_external_id(self, external_id: str) -> Optional[dict[str, Any]]:
        try:
            body = self.http.get_json("/contacts/find_by_external_id/{id}", path_params={"id": external_id})
        except NotFound:
            return None
        return body if isinstance(body, dict) and body.get("id") else None

    def search_contacts(self, field: str, value: str, limit_pages: int = 5,
                        operator: str = "=") -> list[dict[str, Any]]:
        body = {"query": {"field": field, "operator": operator, "value": value}, "pagination": {"per_page": 150}}
        out: list[dict[str, Any]] = []
        for page in cursor_pages(self.http, "/contacts/search", method="POST", json=body, max_pages=limit_pages,
                                 place=cursor_in_body("pagination", "starting_after")):
            out.extend(page.items)
        return out

    def attach_company(self, contact_id: str, company_id: str) -> dict[str, Any]:
        # attaching twice leaves one link: safe to send again
        return self.http.json("POST", "/contacts/{id}/companies", path_params={"id": contact_id},
                              json={"id": company_id}, idempotent=True)

    # -- data attributes, tags, ticket types ------------------------------------------------------------------
    def data_attributes(self, model: str) -> list[dict[str, Any]]:
        return list((self.http.get_json("/data_attributes", params={"model": model}) or {}).get("data") or [])

    def create_data_attribute(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/data_attributes", json=payload)

    def tags(self) -> list[dict[str, Any]]:
        return list((self.http.get_json("/tags") or {}).get("data") or [])

    def create_tag(self, name: str) -> dict[str, Any]:
        # create-or-return by name: idempotent
        return self.http.json("POST", "/tags", json={"name": name}, idempotent=True)

    def ticket_types(self) -> list[dict[str, Any]]:
        return list((self.http.get_json("/ticket_types") or {}).get("data") or [])

    def get_ticket_type(self, type_id: str) -> dict[str, Any]:
        return self.http.get_json("/ticket_types/{id}", path_params={"id": type_id})

    def create_ticket_type(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/ticket_types", json=payload)

    def create_ticket_type_attribute(self, type_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/ticket_types/{id}/attributes", path_params={"id": type_id}, json=payload)

    def ticket_states(self) -> list[dict[str, Any]]:
        return list((self.http.get_json("/ticket_states") or {}).get("data") or [])

    # -- tickets and their parts ------------------------------------------------------------------------------
    def create_ticket(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/tickets", json=payload)

    def get_ticket(self, ticket_id: str) -> dict[str, Any]:
        return self.http.get_json("/tickets/{id}", path_params={"id": ticket_id})

    def update_ticket(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("PUT", "/tickets/{id}", path_params={"id": ticket_id}, json=payload)

    def delete_ticket(self, ticket_id: str) -> None:
        self.http.request("DELETE", "/tickets/{id}", path_params={"id": ticket_id})

    def reply(self, ticket_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return self.http.json("POST", "/tickets/{id}/reply", path_params={"id": ticket_id}, json=payload)

    def tag_ticket(self, ticket_id: str, tag_id: str, admin_id: str) -> dict[str, Any]:
        # tagging twice leaves one tag: safe to send again
        return self.http.json("POST", "/tickets/{id}/tags", path_params={"id": ticket_id},
                              json={"id": tag_id, "admin_id": admin_id}, idempotent=True)

    def search_tickets(self, query: dict[str, Any], limit_pages: int = 5) -> Iterator[dict[str, Any]]:
        body = {"query": query, "pagination": {"per_page": 50}}
        for page in cursor_pages(self.http, "/tickets/search", method="POST", json=body, max_pages=limit_pages,
                                 place=cursor_in_body("pagination", "starting_after"),
                                 items=lambda b: list((b or {}).get("tickets") or (b or {}).get("data") or [])):
            yield from page.items
