"""A seeded, deterministic Kayako help desk at any size, with the rare cases real help desks have.

``generate(store, cases=N, seed=S)`` replaces the store's content. The same (cases, seed, huge_post_bytes) gives
byte-identical data. What it always plants (once ``cases >= 8``; smaller desks get what fits):

- every post channel: MAIL, NOTE, HELPCENTER, MESSENGER (Kayako's chat), TWITTER and FACEBOOK (social);
- case 0 in ``TRASH``, case 1 ``SUSPENDED``; case 2 carries a huge post (``huge_post_bytes``) and, when
  ``huge_attachment_bytes`` > 0, an attachment of that size (e.g. 26 MB, beyond Salesforce's 25 MB); case 3 is
  non-ASCII throughout (subject, body, requester name); case 4 has an inline image (``/media/url/<token>``) and an
  inline attachment (``content_id``); case 5's posts are out of order (a higher post id created earlier);
  case 6 holds a value of a *deleted* case field (definition gone, value still there); case 7 has a post whose
  creator is a user merged away (a dangling user reference);
- a customer merged into another (the survivor carries both e-mail identities), a disabled agent, an
  organisation without domains and one with two, two custom fields sharing one title (keys differ);
- custom field values of every type, encoded as Kayako encodes them (option ids, comma-separated checkbox ids,
  ``yes``/``no``, cascading-select option ids whose labels use ``\\`` between levels, ISO dates).

The plan (ids of the planted records) is kept in the store's meta table under ``plan``.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .store import BASE, Store, ref

EPOCH = datetime(2021, 3, 1, 9, 0, 0, tzinfo=UTC)
CHANNEL_TYPES = ["MAIL", "NOTE", "HELPCENTER", "MESSENGER", "TWITTER", "FACEBOOK"]
# the resource_type of a post's `original` per channel (Zammad's post include list names them)
ORIGINAL_TYPE = {"MAIL": "case_message", "HELPCENTER": "case_message", "NOTE": "note",
                 "MESSENGER": "chat_message", "TWITTER": "twitter_tweet", "FACEBOOK": "facebook_message"}
IDENTITY_TYPE = {"TWITTER": "identity_twitter", "FACEBOOK": "identity_facebook"}
LOCALES = ["en-us", "de", "ja"]
TAG_NAMES = ["billing", "refund", "bug", "feature-request", "vip", "onboarding", "printer", "login", "café",
             "日本語", "urgent-escalation", "churn-risk"]
FIRST = ["Alice", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemal", "Lena"]
LAST = ["Smith", "Okafor", "Nguyen", "Kowalski", "Haddad", "Silva", "Tanaka", "Novak", "Berg", "Rossi"]
NON_ASCII_NAMES = ["Zoë Ångström", "Jürgen Müßig", "渡辺 さくら", "Αλέξανδρος Παππάς", "Łukasz Żółć"]
SUBJECTS = ["Cannot log in", "Invoice question", "Printer offline", "Feature request: dark mode", "Refund please",
            "App crashes on start", "Password reset link expired", "Upgrade plan", "Shipping delay", "API error 500"]
PNG_1PX = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class Sequence:
    """Per-resource-type id counters (Kayako ids are per type)."""

    start: dict[str, int] = field(default_factory=dict)

    def next(self, rtype: str) -> int:
        value = self.start.get(rtype, 0) + 1
        self.start[rtype] = value
        return value


class Builder:
    def __init__(self, store: Store, cases: int, seed: int, huge_post_bytes: int,
                 huge_attachment_bytes: int = 0) -> None:
        self.store = store
        self.n_cases = max(0, cases)
        self.rng = random.Random(seed)
        self.seed = seed
        self.huge_post_bytes = huge_post_bytes
        self.huge_attachment_bytes = huge_attachment_bytes
        self.ids = Sequence()
        self.rows: list[tuple[str, int, int | None, dict[str, Any]]] = []
        self.plan: dict[str, Any] = {"seed": seed, "cases": self.n_cases}
        self.names: dict[int, str] = {}
        self.primary_identity: dict[int, dict[str, Any]] = {}

    # ----- helpers --------------------------------------------------------------------------------------------
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def put(self, rtype: str, body: dict[str, Any], parent: int | None = None,
            resource_type: str | None = None) -> dict[str, Any]:
        """Store a resource under ``rtype`` (its ``resource_type`` unless given: user notes are stored as
        ``user_note`` and served as ``note``)."""
        rid = body.pop("id") if "id" in body else self.ids.next(resource_type or rtype)
        body = {"id": rid, **body, "resource_type": resource_type or rtype}
        self.rows.append((rtype, body["id"], parent, body))
        if len(self.rows) >= 2000:
            self.flush()
        return body

    def flush(self) -> None:
        if self.rows:
            self.store.put_many(self.rows)
            self.rows = []

    def when(self, days: float) -> str:
        return ts(EPOCH + timedelta(days=days))

    def locale_fields(self, texts: dict[str, str]) -> list[dict[str, Any]]:
        out = []
        for locale, text in texts.items():
            lf = self.put("locale_field", {"locale": locale, "translation": text, "created_at": self.when(0),
                                           "updated_at": self.when(0)})
            out.append(ref("locale_field", lf["id"]))
        return out

    # ----- reference data -----------------------------------------------------------------------------------
    def reference_data(self) -> None:
        stamp = {"created_at": self.when(0), "updated_at": self.when(0)}
        self.roles = {}
        for title, rtype in [("Owner", "OWNER"), ("Admin", "ADMIN"), ("Agent", "AGENT"),
                             ("Collaborator", "COLLABORATOR"), ("Customer", "CUSTOMER")]:
            role = self.put("role", {"title": title, "type": rtype, "is_system": True,
                                     "agent_case_access": "ALL" if rtype in ("OWNER", "ADMIN", "AGENT") else None,
                                     **stamp})
            self.roles[rtype] = role["id"]
        self.statuses = [self.put("case_status", {"label": label, "type": kind, "sort_order": i + 1,
                                                  "is_sla_active": kind in ("NEW", "OPEN"), "is_deleted": False,
                                                  **stamp})["id"]
                         for i, (label, kind) in enumerate([("New", "NEW"), ("Open", "OPEN"), ("Pending", "PENDING"),
                                                            ("Completed", "COMPLETED"), ("Closed", "CLOSED"),
                                                            ("Waiting on vendor", "CUSTOM")])]
        self.priorities = [self.put("case_priority", {"label": label, "level": i + 1, **stamp})["id"]
                           for i, label in enumerate(["Low", "Normal", "High", "Urgent"])]
        self.types = [self.put("case_type", {"label": label, "type": kind, **stamp})["id"]
                      for label, kind in [("Question", "QUESTION"), ("Task", "TASK"), ("Problem", "PROBLEM"),
                                          ("Incident", "INCIDENT"), ("Billing", "CUSTOM")]]
        self.brands = [self.put("brand", {"name": name, "url": f"https://{sub}.kayako.com", "sub_domain": sub,
                                          "domain": "kayako.com", "alias": alias, "language": {"locale": "en-us"},
                                          "is_enabled": True, "is_default": i == 0, **stamp})["id"]
                       for i, (name, sub, alias) in enumerate([("Acme Support", "acme", None),
                                                                ("Acme Österreich", "acme-at", "hilfe.acme.at")])]
        self.mailboxes = [self.put("mailbox", {"uuid": self.uuid(), "address": addr, "brand": ref("brand", b),
                                               "is_default": i == 0, "is_enabled": True, **stamp})["id"]
                          for i, (addr, b) in enumerate([("support@acme.example", self.brands[0]),
                                                         ("hilfe@acme-at.example", self.brands[1])])]
        self.channels = {}
        for kind in CHANNEL_TYPES:
            account = ref("mailbox", self.mailboxes[0]) if kind == "MAIL" else None
            channel = self.put("channel", {"uuid": self.uuid(), "type": kind,
                                           "character_limit": 280 if kind == "TWITTER" else None,
                                           "account": account})
            self.channels[kind] = channel["id"]
        self.business_hour = self.put("business_hour", {"title": "Office hours", "zones": {
            d: [9, 10, 11, 12, 13, 14, 15, 16] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")},
            "holidays": [], **stamp})["id"]
        self.teams = [self.put("team", {"legacy_id": None, "title": title, "businesshour": ref("business_hour",
                                                                                                 self.business_hour),
                                        "member_count": 0, **stamp})["id"]
                      for title in ["Support", "Billing", "Engineering", "Équipe Québec"]]
        self.tags = [self.put("tag", {"name": name})["id"] for name in TAG_NAMES]

    # ----- custom fields -------------------------------------------------------------------------------------
    def field_def(self, rtype: str, title: str, ftype: str, key: str, options: list[str] | None = None,
                  is_system: bool = False, regex: str | None = None, order: int = 0) -> dict[str, Any]:
        fielduuid = self.uuid()
        opt_refs, opt_ids = [], []
        for i, label in enumerate(options or []):
            opt = self.put("field_option", {"fielduuid": fielduuid, "values": self.locale_fields({"en-us": label}),
                                            "sort_order": i, "created_at": self.when(1), "updated_at": self.when(1)})
            opt_refs.append(ref("field_option", opt["id"]))
            opt_ids.append(opt["id"])
        body = {"fielduuid": fielduuid, "title": title, "type": ftype, "key": key,
                "is_required_for_agents": False, "is_required_on_resolution": False,
                "is_visible_to_customers": False, "customer_titles": [], "is_customer_editable": False,
                "is_required_for_customers": False, "descriptions": [], "regular_expression": regex,
                "sort_order": order, "is_enabled": True, "is_system": is_system, "options": opt_refs,
                "created_at": self.when(1), "updated_at": self.when(2)}
        defn = self.put(rtype, body)
        return {"id": defn["id"], "type": ftype, "key": key, "options": opt_ids, "labels": options or []}

    def custom_fields(self) -> None:
        order = iter(range(1, 100))
        self.case_fields = []
        for title, ftype, key in [("Subject", "SUBJECT", "subject"), ("Message", "MESSAGE", "message"),
                                  ("Priority", "PRIORITY", "priority"), ("Status", "STATUS", "status"),
                                  ("Type", "TYPE", "type"), ("Team", "TEAM", "team"),
                                  ("Assignee", "ASSIGNEE", "assignee")]:
            self.field_def("case_field", title, ftype, key, is_system=True, order=next(order))
        specs = [
            ("Serial number", "TEXT", "serial_number", None, None),
            ("Steps to reproduce", "TEXTAREA", "repro_steps", None, None),
            ("Affected platforms", "CHECKBOX", "affected_platforms", ["Windows", "macOS", "Linux", "Android"], None),
            ("Contract tier", "RADIO", "contract_tier", ["Bronze", "Silver", "Gold"], None),
            ("Region", "SELECT", "region", ["EMEA", "APAC", "AMER"], None),
            ("Purchase date", "DATE", "purchase_date", None, None),
            ("Seats", "NUMERIC", "seats", None, None),
            ("Refund amount", "DECIMAL", "refund_amount", None, None),
            ("VIP?", "YESNO", "is_vip", None, None),
            ("Product area", "CASCADINGSELECT", "product_area",
             ["Hardware", "Hardware\\Printers", "Hardware\\Scanners", "Software\\Mobile", "Software\\Desktop\\Mac"],
             None),
            ("Order reference", "REGEX", "order_ref", None, "^\\d{3}-\\d{4}$"),
            ("Receipt", "FILE", "receipt_file", None, None),
            ("Notes", "TEXT", "internal_notes", None, None),
            ("Notes", "TEXT", "customer_notes", None, None),  # same title, different key: never address by title
        ]
        for title, ftype, key, options, regex in specs:
            self.case_fields.append(self.field_def("case_field", title, ftype, key, options, regex=regex,
                                                   order=next(order)))
        # a field that existed, got values, and was deleted: its id never appears in /cases/fields again
        self.deleted_field = {"id": self.ids.next("case_field"), "key": "legacy_code", "type": "TEXT"}
        self.plan["deleted_case_field_id"] = self.deleted_field["id"]
        self.user_fields = [
            self.field_def("user_field", "Employee ID", "TEXT", "employee_id", order=1),
            self.field_def("user_field", "Preferred language", "SELECT", "preferred_language",
                           ["English", "Deutsch", "日本語"], order=2),
            self.field_def("user_field", "Newsletter", "YESNO", "newsletter", order=3),
            self.field_def("user_field", "Interests", "CHECKBOX", "interests", ["Hardware", "Software", "Training"],
                           order=4),
        ]
        self.org_fields = [
            self.field_def("organization_field", "Plan", "SELECT", "plan", ["Free", "Pro", "Enterprise"], order=1),
            self.field_def("organization_field", "Employees", "NUMERIC", "employees", order=2),
            self.field_def("organization_field", "Customer since", "DATE", "customer_since", order=3),
            self.field_def("organization_field", "Account manager", "TEXT", "account_manager", order=4),
        ]

    def value_for(self, spec: dict[str, Any], non_ascii: bool = False) -> str:
        rng = self.rng
        kind = spec["type"]
        if kind in ("SELECT", "RADIO", "CASCADINGSELECT"):
            return str(rng.choice(spec["options"]))
        if kind == "CHECKBOX":
            picked = sorted(rng.sample(spec["options"], rng.randint(1, len(spec["options"]))))
            return ",".join(str(p) for p in picked)
        if kind == "YESNO":
            return rng.choice(["yes", "no"])
        if kind == "DATE":
            return ts(EPOCH - timedelta(days=rng.randint(30, 2000))).replace("T09:00:00", "T00:00:00")
        if kind == "NUMERIC":
            return str(rng.randint(1, 500))
        if kind == "DECIMAL":
            return f"{rng.randint(1, 9999) / 100:.2f}"
        if kind == "REGEX":
            return f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        if kind == "FILE":
            return ""
        if kind == "TEXTAREA":
            if non_ascii:
                return "Öffne die App.\nKlicke auf „Login“.\n→ Absturz"
            return "Open the app.\nClick Login.\nCrash."
        return ("Größe ß · 東京 · ñ" if non_ascii else f"SN-{rng.randint(10000, 99999)}")

    def field_values(self, rtype: str, specs: list[dict[str, Any]], non_ascii: bool = False,
                     density: float = 0.7) -> list[dict[str, Any]]:
        out = []
        for spec in specs:
            if self.rng.random() < density:
                out.append({"field": ref(rtype, spec["id"]), "value": self.value_for(spec, non_ascii)})
        return out

    # ----- people --------------------------------------------------------------------------------------------
    def identity_email(self, address: str, primary: bool, day: float) -> dict[str, Any]:
        return ref("identity_email", self.put("identity_email", {
            "email": address, "is_primary": primary, "is_validated": True, "is_notification_enabled": primary,
            "created_at": self.when(day), "updated_at": self.when(day)})["id"])

    def organizations(self) -> None:
        n = max(3, self.n_cases // 10)
        names = ["Initech", "Bäckerei Müller GmbH", "株式会社サンプル", "Globex", "Umbrella Corp", "Hooli"]
        self.orgs = []
        for i in range(n):
            name = names[i] if i < len(names) else f"{self.rng.choice(LAST)} & Partners {i}"
            slug = f"org{i}"
            domains = [] if i == 2 else [f"{slug}.example"] + ([f"{slug}-mail.example"] if i == 1 else [])
            domain_refs = [ref("identity_domain", self.put("identity_domain", {
                "domain": d, "is_primary": j == 0, "is_validated": False, "created_at": self.when(2),
                "updated_at": self.when(2)})["id"]) for j, d in enumerate(domains)]
            org = self.put("organization", {
                "name": name, "legacy_id": f"ORG-{i:04d}" if i % 3 == 0 else None, "is_shared": i % 4 == 0,
                "domains": domain_refs, "is_validated": None, "phone": [], "addresses": [],
                "websites": [f"https://www.{slug}.example"] if i % 2 else [], "pinned_notes_count": 0,
                "custom_fields": self.field_values("organization_field", self.org_fields),
                "tags": [ref("tag", self.tags[i % len(self.tags)])],
                "created_at": self.when(2 + i * 0.1), "updated_at": self.when(20 + i * 0.1)})
            self.orgs.append(org["id"])
        self.plan["organization_without_domains_id"] = self.orgs[2]

    def user(self, full_name: str, role: str, email: str, org: int | None, teams: list[int], day: float,
             enabled: bool = True, extra_emails: list[str] | None = None, non_ascii: bool = False) -> int:
        emails = [self.identity_email(email, True, day)]
        emails += [self.identity_email(e, False, day) for e in extra_emails or []]
        phones = []
        if self.rng.random() < 0.4:
            phones.append(ref("identity_phone", self.put("identity_phone", {
                "number": f"+4930{self.rng.randint(1000000, 9999999)}", "is_primary": True, "is_validated": False,
                "created_at": self.when(day), "updated_at": self.when(day)})["id"]))
        body = {"uuid": self.uuid(), "full_name": full_name, "legacy_id": None,
                "designation": "Support engineer" if role != "CUSTOMER" else None, "is_enabled": enabled,
                "role": ref("role", self.roles[role]),
                "agent_case_access": "INHERIT-FROM-ROLE" if role != "CUSTOMER" else None,
                "organization": ref("organization", org) if org else None,
                "teams": [ref("team", t) for t in teams], "emails": emails, "phones": phones, "twitter": [],
                "facebook": [], "locale": "de" if non_ascii else "en-us",
                "time_zone": "Europe/Berlin" if non_ascii else "UTC",
                "custom_fields": self.field_values("user_field", self.user_fields, non_ascii),
                "tags": [], "last_active_at": self.when(day + 30), "last_logged_in_at": self.when(day + 30)
                if role != "CUSTOMER" else None, "created_at": self.when(day), "updated_at": self.when(day + 5)}
        uid = self.put("user", body)["id"]
        self.names[uid] = full_name
        self.primary_identity[uid] = emails[0]
        return uid

    def people(self, admin_email: str) -> None:
        self.admin = self.user("Ada Admin", "OWNER", admin_email, None, self.teams[:1], 0)
        self.agents = []
        for i in range(5):
            role = "ADMIN" if i == 0 else "AGENT"
            name = f"{FIRST[i]} {LAST[i]}"
            self.agents.append(self.user(name, role, f"agent{i}@acme.example", None,
                                         [self.teams[i % len(self.teams)]] + ([self.teams[2]] if i == 1 else []),
                                         1 + i))
        self.disabled_agent = self.user("Otto Former", "AGENT", "otto.former@acme.example", None, [self.teams[0]], 1,
                                        enabled=False)
        self.plan["disabled_agent_id"] = self.disabled_agent
        self.collaborator = self.user("Cleo Collaborator", "COLLABORATOR", "cleo@acme.example", None, [], 2)
        n_customers = max(6, self.n_cases // 2)
        self.customers = []
        # customer 1 is merged into customer 0: its id vanishes, its e-mail moves to the survivor
        merged_away_id = self.ids.start.get("user", 0) + 2
        merged_email = "merged.away@org0.example"
        for i in range(n_customers):
            non_ascii = i % 5 == 3
            name = NON_ASCII_NAMES[i % len(NON_ASCII_NAMES)] if non_ascii else \
                f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            org = self.orgs[i % len(self.orgs)] if i % 3 != 2 else None
            if i == 1:  # the merged-away user: reserve its id, write nothing
                self.ids.next("user")
                self.customers.append(merged_away_id)
                continue
            domain = f"org{self.orgs.index(org)}.example" if org else "mail.example"
            uid = self.user(name, "CUSTOMER", f"customer{i}@{domain}", org, [], 3 + i * 0.05,
                            extra_emails=[merged_email] if i == 0 else None, non_ascii=non_ascii)
            self.customers.append(uid)
        self.plan["merged_users"] = {str(merged_away_id): self.customers[0]}
        self.plan["merged_away_user_id"] = merged_away_id
        self.live_customers = [c for c in self.customers if c != merged_away_id]

    # ----- cases and posts -----------------------------------------------------------------------------------
    def attachment(self, owner: str, url_base: str, day: float, inline: bool = False,
                   name: str | None = None, size: int | None = None) -> dict[str, Any]:
        aid = self.ids.next("attachment")
        if size is not None:  # the huge attachment: a large file a destination may refuse (size known upfront)
            block = hashlib.sha256(f"{self.seed}:{aid}".encode()).digest() * 2048
            data = (block * (size // len(block) + 1))[:size]
            fname, ctype = name or "disk-image.zip", "application/zip"
        elif inline:
            data, ctype, fname = PNG_1PX, "image/png", name or "inline.png"
        else:
            size = self.rng.randint(200, 6000)
            seed = hashlib.sha256(f"{self.seed}:{aid}".encode()).digest()
            data = (seed * (size // len(seed) + 1))[:size]
            fname, ctype = self.rng.choice([("report.pdf", "application/pdf"), ("screenshot.png", "image/png"),
                                            ("log.txt", "text/plain"), ("données.csv", "text/csv")])
        self.store.put_blob(aid, owner, ctype, data)
        base = f"{url_base}/{aid}"
        return self.put("attachment", {"id": aid, "name": fname, "size": len(data), "width": 1 if inline else 0,
                                       "height": 1 if inline else 0, "type": ctype,
                                       "content_id": f"img{aid}@kayako" if inline else None, "alt": None,
                                       "url": f"{base}/url", "url_download": f"{base}/download", "thumbnails": [],
                                       "created_at": self.when(day)})

    def media(self, key: str) -> str:
        """An inline image served unauthenticated at /media/url/<token> (as Kayako's are); returns its URL."""
        token = hashlib.sha256(f"{self.seed}:media:{key}".encode()).hexdigest()[:32]
        self.store.put_media(token, "image/png", PNG_1PX)
        return f"{BASE}/media/url/{token}"

    def note_on(self, store_rtype: str, parent: int, day: float, non_ascii: bool = False) -> None:
        """A note on a user or an organization (GET /users/<id>/notes, /organizations/<id>/notes)."""
        text = "Rückruf vereinbart — 電話済み" if non_ascii else "Called about renewal; follow up next quarter."
        self.put(store_rtype, {"body_text": text, "body_html": f"<p>{text}</p>",
                               "creator": ref("user", self.agents[0] if hasattr(self, "agents") else 1),
                               "is_pinned": self.rng.random() < 0.2, "attachments": [],
                               "created_at": self.when(day), "updated_at": self.when(day)},
                 parent=parent, resource_type="note")

    def post(self, case_id: int, channel: str, author: int, is_requester: bool, day: float, subject: str,
             text: str, html: str | None = None, attachments: int = 0, inline_image: bool = False,
             huge_attachment: int = 0) -> dict[str, Any]:
        rtype = ORIGINAL_TYPE[channel]
        original_id = self.ids.next(rtype)
        owner = f"case:{case_id}"
        kind = "notes" if rtype == "note" else "messages"
        url_base = f"{BASE}/api/v1/cases/{case_id}/{kind}/{original_id}/attachments"
        atts = [self.attachment(owner, url_base, day) for _ in range(attachments)]
        if huge_attachment:
            atts.append(self.attachment(owner, url_base, day, size=huge_attachment))
            self.plan["huge_attachment_id"] = atts[-1]["id"]
        if inline_image:
            src = self.media(f"post:{original_id}")
            html = f'<img src="{src}" class="fr-fic fr-dii" width="1" height="1"><br><br>{html or text}<br>'
            text = f'[img src="{src}"]\n\n{text}\n'
            atts.append(self.attachment(owner, url_base, day, inline=True, name="pasted.png"))
        html = html if html is not None else "<div dir='ltr'>" + text.replace("\n", "<br>") + "</div>"
        att_refs = [ref("attachment", a["id"]) for a in atts]
        if channel in IDENTITY_TYPE:
            ident = ref(IDENTITY_TYPE[channel], self.put(IDENTITY_TYPE[channel], {
                "screen_name" if channel == "TWITTER" else "user_name": f"user{author}",
                "created_at": self.when(day), "updated_at": self.when(day)})["id"])
        else:  # mail-like channels: the author's primary e-mail identity (none for a user merged away)
            ident = self.primary_identity.get(author)
        stamp = {"created_at": self.when(day), "updated_at": self.when(day)}
        common = {"id": original_id, "uuid": self.uuid(), "body_text": text, "body_html": html,
                  "creator": ref("user", author), "attachments": att_refs, **stamp}
        if rtype == "case_message":
            original = {**common, "subject": subject, "recipients": [{"type": "TO", "email": "support@acme.example"}]
                        if is_requester else [], "fullname": None, "email": None, "identity": ident,
                        "mailbox": ref("mailbox", self.mailboxes[0]), "download_all": None, "locale": None,
                        "response_time": 0}
        elif rtype == "note":
            original = {**common, "is_pinned": False, "body_text": text}
        else:
            original = {**common, "identity": ident}
        self.put(rtype, original, parent=case_id)
        post = self.put("post", {"uuid": original["uuid"], "client_id": "", "subject": subject, "contents": text,
                                 "creator": ref("user", author), "identity": ident,
                                 "source_channel": ref("channel", self.channels[channel]), "attachments": att_refs,
                                 "original": ref(rtype, original_id), "is_requester": is_requester,
                                 "post_status": "DELIVERED" if channel != "NOTE" else None, **stamp},
                        parent=case_id)
        return post

    def cases(self) -> None:
        rng = self.rng
        plan = self.plan
        channel_cycle = 0
        self.case_ids = []
        for i in range(self.n_cases):
            cid = self.ids.next("case")
            self.case_ids.append(cid)
            day = 30 + i * (400 / max(1, self.n_cases))
            non_ascii = i == 3 or rng.random() < 0.08
            requester = self.live_customers[(i * 7) % len(self.live_customers)]
            if i == 3:
                requester = next((c for c in self.live_customers if not self.names[c].isascii()), requester)
            subject = ("Drucker druckt nur „?“-Zeichen — 東京オフィス" if non_ascii else rng.choice(SUBJECTS))
            source = "MAIL" if i % 3 else rng.choice(["MAIL", "HELPCENTER", "MESSENGER", "TWITTER", "FACEBOOK"])
            agent = rng.choice(self.agents)
            n_posts = rng.randint(1, 5)
            posts = []
            post_day = day
            for p in range(n_posts):
                if p == 0:
                    channel = source
                else:  # cycle through every channel so even a small desk shows each
                    channel = CHANNEL_TYPES[channel_cycle % len(CHANNEL_TYPES)]
                    channel_cycle += 1
                from_requester = p == 0 or (channel != "NOTE" and rng.random() < 0.4)
                author = requester if from_requester else agent
                if i == 7 and p == n_posts - 1:
                    author = plan["merged_away_user_id"]
                    from_requester = True
                text = ("Hallo, ich habe ein Problem: Umlaute äöü ß, emoji 🎉, 中文字符.\n" if non_ascii
                        else f"Message {p + 1} on case {cid}.\nThanks!\n")
                if i == 2 and p == 0:
                    text = ("Log excerpt follows.\n" + "0123456789abcdef " * (self.huge_post_bytes // 17 + 1))[
                        : self.huge_post_bytes]
                    plan["huge_post_case_id"] = cid
                post_day += rng.uniform(0.01, 2)
                created = post_day
                if i == 5 and p == 1:
                    created = day - 0.5  # imported late: higher id, earlier created_at
                posts.append(self.post(cid, channel, author, from_requester, created, subject, text,
                                       attachments=1 if rng.random() < 0.2 else 0,
                                       inline_image=(i == 4 and p == 0),
                                       huge_attachment=self.huge_attachment_bytes if (i == 2 and p == 0) else 0))
            if i == 5 and n_posts < 2:  # make sure the out-of-order pair exists
                posts.append(self.post(cid, "NOTE", agent, False, day - 0.5, subject, "Backdated note.\n"))
            if i == 7 and all(p["creator"]["id"] != plan["merged_away_user_id"] for p in posts):
                posts.append(self.post(cid, "MAIL", plan["merged_away_user_id"], True, post_day + 0.1, subject,
                                       "Sent before the merge.\n"))
            state = "TRASH" if i == 0 else "SUSPENDED" if i == 1 else "ACTIVE"
            status = rng.choice(self.statuses)
            custom = self.field_values("case_field", self.case_fields, non_ascii)
            if i == 6:
                custom.append({"field": ref("case_field", self.deleted_field["id"]), "value": "LC-0042"})
                plan["deleted_field_case_id"] = cid
            tags = [ref("tag", t) for t in sorted(rng.sample(self.tags, rng.randint(0, 3)))]
            if non_ascii:
                tags.append(ref("tag", self.tags[TAG_NAMES.index("日本語")]))
            last = max(posts, key=lambda p: p["created_at"])
            self.put("case", {
                "id": cid, "legacy_id": f"ABC-{cid:05d}-XYZ" if i % 4 == 0 else None, "subject": subject,
                "portal": "API", "source_channel": ref("channel", self.channels[source]),
                "last_public_channel": ref("channel", self.channels["MAIL"]), "requester": ref("user", requester),
                "creator": ref("user", requester), "identity": self.primary_identity.get(requester),
                "assigned_agent": ref("user", agent) if rng.random() < 0.8 else None,
                "assigned_team": ref("team", rng.choice(self.teams)) if rng.random() < 0.9 else None,
                "brand": ref("brand", self.brands[1] if non_ascii else self.brands[0]),
                "status": ref("case_status", status),
                "priority": ref("case_priority", rng.choice(self.priorities)) if rng.random() < 0.85 else None,
                "type": ref("case_type", rng.choice(self.types)) if rng.random() < 0.8 else None,
                "sla_version": ref("sla_version", self.sla_versions[0]) if rng.random() < 0.5 else None,
                "custom_fields": custom, "last_updated_by": ref("user", agent), "state": state,
                "post_count": len(posts), "has_notes": any(p["original"]["resource_type"] == "note" for p in posts),
                "pinned_notes_count": 0, "has_attachments": any(p["attachments"] for p in posts),
                "is_merged": False, "rating": rng.choice([None, None, "GOOD", "BAD"]),
                "rating_status": "UNOFFERED", "tags": tags, "last_post_status": "DELIVERED",
                "last_post_preview": last["contents"][:80], "last_replied_at": last["created_at"],
                "created_at": self.when(day), "updated_at": ts(EPOCH + timedelta(days=post_day + 1))})
        for key, index in [("trashed_case_id", 0), ("suspended_case_id", 1), ("non_ascii_case_id", 3),
                           ("inline_image_case_id", 4), ("out_of_order_case_id", 5), ("merged_creator_case_id", 7)]:
            if index < len(self.case_ids):
                plan[key] = self.case_ids[index]

    # ----- automations, SLAs, help center --------------------------------------------------------------------
    def automations(self) -> None:
        stamp = {"created_at": self.when(5), "updated_at": self.when(40)}
        self.slas, self.sla_versions = [], []
        for i, (title, prio, first, resolve) in enumerate([("Standard", "Normal", 8 * 3600, 5 * 86400),
                                                            ("VIP — 1h", "Urgent", 3600, 86400)]):
            targets = [{"priority": ref("case_priority", self.priorities[["Low", "Normal", "High", "Urgent"].index(
                prio)]), "sla_target_type": kind, "goal_in_seconds": goal, "operational_hours": hours}
                for kind, goal, hours in [("FIRST_REPLY_TIME", first, "BUSINESS_HOURS"),
                                          ("NEXT_REPLY_TIME", first * 2, "BUSINESS_HOURS"),
                                          ("RESOLUTION_TIME", resolve, "CALENDAR_HOURS")]]
            predicate = [{"propositions": [{"field": "cases.tags" if i else "cases.statusid",
                                            "operator": "collection_contains_insensitive" if i else
                                            "comparison_not_equalto", "value": "vip" if i else "5"}]}]
            sla = self.put("sla", {"title": title, "description": f"{title} policy", "execution_order": i + 1,
                                   "predicate_collections": predicate, "targets": targets, "is_enabled": True,
                                   "is_deleted": False, **stamp})
            self.slas.append(sla["id"])
            self.sla_versions.append(self.put("sla_version", {
                "title": title, "description": f"{title} policy", "filters": predicate,
                "metrics": [{"type": t["sla_target_type"], "goal_in_seconds": t["goal_in_seconds"]} for t in targets],
                "sla": ref("sla", sla["id"]), "created_at": self.when(5)})["id"])
        triggers = [("Auto-reply to new mail", "MAIL", "CREATED", [{"action": "notification_user",
                                                                     "value": "Thanks, we got it"}]),
                    ("Route billing", "MAIL", "UPDATED", [{"action": "assigned_team", "value": str(self.teams[1])}]),
                    ("Tag Twitter", "TWITTER", "CREATED", [{"action": "tags", "value": "social"}]),
                    ("Disabled: old escalation", "SYSTEM", "UPDATED", [{"action": "priority", "value": "4"}])]
        for i, (title, channel, event, actions) in enumerate(triggers):
            self.put("trigger", {"title": title, "channel": channel, "event": event, "execution_order": i + 1,
                                 "predicate_collections": [{"propositions": [{"field": "cases.subject",
                                                                              "operator": "string_contains_insensitive",
                                                                              "value": "invoice"}]}],
                                 "actions": actions, "is_enabled": i != 3, **stamp})
        for i, (title, hours) in enumerate([("Close pending after 7 days", 168), ("Nudge stale open", 48)]):
            self.put("monitor", {"title": title, "execution_order": i + 1,
                                 "predicate_collections": [{"propositions": [{"field": "cases.hours_since_updated",
                                                                              "operator": "comparison_greaterthan",
                                                                              "value": str(hours)}]}],
                                 "actions": [{"action": "status", "value": str(self.statuses[4])}],
                                 "is_enabled": True, **stamp})

    def help_center(self) -> None:
        stamp = {"created_at": self.when(3), "updated_at": self.when(50)}
        self.sections = []
        cats = [{"en-us": "Getting started", "de": "Erste Schritte"}, {"en-us": "Billing", "ja": "請求"},
                {"en-us": "Troubleshooting"}]
        for c, titles in enumerate(cats):
            cat = self.put("category", {"titles": self.locale_fields(titles), "descriptions": [], "slug": f"cat-{c}",
                                        "brand": ref("brand", self.brands[0]), "display_order": c + 1, **stamp})
            for s in range(2):
                section = self.put("section", {"category": ref("category", cat["id"]),
                                               "titles": self.locale_fields({"en-us": f"Section {c}.{s}"}),
                                               "descriptions": [], "visibility": "PUBLIC" if s == 0 else "AGENTS",
                                               "article_order_by": "RANK", "display_order": s + 1,
                                               "is_published": True, **stamp})
                self.sections.append(section["id"])
        statuses = ["PUBLISHED", "PUBLISHED", "DRAFT", "PENDINGAPPROVAL", "PUBLISHED"]
        for a in range(max(6, self.n_cases // 5)):
            locales = {"en-us": f"How to fix problem {a}"}
            bodies = {"en-us": f"<p>Step one for problem {a}.</p><p>Step two.</p>"}
            slugs = {"en-us": f"{a}-how-to-fix-problem-{a}"}
            if a % 3 == 1:
                locales["de"], bodies["de"], slugs["de"] = (f"Problem {a} lösen", f"<p>Schritt eins für {a} — ü.</p>",
                                                            f"{a}-problem-{a}-losen")
            if a % 4 == 2:
                locales["ja"], bodies["ja"], slugs["ja"] = (f"問題{a}の解決", f"<p>手順 {a}</p>", f"{a}-mondai")
            status = statuses[a % len(statuses)]
            article_id = self.ids.next("article")
            atts = []
            if a % 3 == 0:
                atts.append(self.attachment(f"article:{article_id}", f"{BASE}/api/v1/articles/{article_id}/attachments",
                                            3 + a))
            if a == 1:  # an inline image in the article body
                bodies["en-us"] += f'<p><img src="{self.media(f"article:{article_id}")}" alt="diagram"></p>'
            self.put("article", {"id": article_id, "uuid": self.uuid(), "titles": self.locale_fields(locales),
                                 "contents": self.locale_fields(bodies), "slugs": self.locale_fields(slugs),
                                 "keywords": "fix,help", "section": ref("section", self.sections[a % len(
                                     self.sections)]), "author": ref("user", self.agents[a % len(self.agents)]),
                                 "creator": ref("user", self.agents[0]), "status": status,
                                 "is_featured": a == 0, "rank": a, "upvote_count": a % 7, "views": a * 13,
                                 "tags": [ref("tag", self.tags[a % len(self.tags)])],
                                 "attachments": [ref("attachment", att["id"]) for att in atts],
                                 "helpcenter_url": f"https://acme.kayako.com/article/{slugs['en-us']}",
                                 "published_at": self.when(10 + a) if status == "PUBLISHED" else None,
                                 "created_at": self.when(3 + a * 0.5), "updated_at": self.when(40 + a * 0.5)})

    def notes(self) -> None:
        for i, org in enumerate(self.orgs):
            if i % 2 == 0:
                self.note_on("organization_note", org, 25 + i, non_ascii=i == 2)
        for i, uid in enumerate(self.live_customers):
            if i % 4 == 0:
                self.note_on("user_note", uid, 26 + i * 0.1, non_ascii=i % 8 == 4)
                if i == 0:
                    self.note_on("user_note", uid, 27)

    def build(self, admin_email: str) -> dict[str, Any]:
        self.store.clear()
        self.reference_data()
        self.custom_fields()
        self.organizations()
        self.people(admin_email)
        self.notes()
        self.automations()
        self.cases()
        self.help_center()
        self.flush()
        self.store.set_meta("plan", self.plan)
        return self.plan


def generate(store: Store, cases: int, seed: int = 0, huge_post_bytes: int = 200_000,
             admin_email: str = "admin@acme.example", huge_attachment_bytes: int = 0) -> dict[str, Any]:
    """Replace the store's content with a generated help desk; returns the plan (ids of the planted rare cases)."""
    if cases < 0 or huge_post_bytes < 0 or huge_attachment_bytes < 0:
        raise ValueError("cases, huge_post_bytes and huge_attachment_bytes must be >= 0")
    return Builder(store, cases, seed, huge_post_bytes, huge_attachment_bytes).build(admin_email)


def touch_cases(store: Store, case_ids: list[int], at: str, text: str = "Follow-up after the first migration run.\n"
                ) -> list[int]:
    """Change cases the way agents do between two migration runs: a new internal note (a NOTE post) and
    ``updated_at`` set to ``at`` (an ISO-8601 timestamp). Returns the ids touched (unknown ids are skipped)."""
    datetime.fromisoformat(at)  # ValueError for a bad timestamp
    touched = []
    rows: list[tuple[str, int, int | None, dict[str, Any]]] = []
    post_id = store.max_id("post")
    note_id = max(store.max_id(t) for t in ("note", "user_note", "organization_note"))
    channel = next((c for c in store.page("channel", None, 0, 100) if c["type"] == "NOTE"), None)
    for cid in case_ids:
        case = store.get("case", cid)
        if case is None:
            continue
        post_id, note_id = post_id + 1, note_id + 1
        author = (case.get("assigned_agent") or case["requester"])["id"]
        note_uuid = str(uuid.UUID(int=post_id * 1_000_003 + note_id, version=4))
        stamp = {"created_at": at, "updated_at": at}
        rows.append(("note", note_id, cid, {"id": note_id, "uuid": note_uuid, "body_text": text,
                                            "body_html": f"<p>{text.strip()}</p>", "creator": ref("user", author),
                                            "attachments": [], **stamp, "is_pinned": False, "resource_type": "note"}))
        rows.append(("post", post_id, cid, {
            "id": post_id, "uuid": note_uuid, "client_id": "", "subject": case["subject"], "contents": text,
            "creator": ref("user", author), "identity": None,
            "source_channel": ref("channel", channel["id"]) if channel else None, "attachments": [],
            "original": ref("note", note_id), "is_requester": False, "post_status": None, **stamp,
            "resource_type": "post"}))
        rows.append(("case", cid, None, {**case, "post_count": case.get("post_count", 0) + 1, "has_notes": True,
                                         "updated_at": at}))
        touched.append(cid)
    store.put_many(rows)
    return touched
