"""A seeded, deterministic Kustomer org of any size: the same ``(customers, seed, burst, orphans)`` always gives the
same records, ids and timestamps (nothing reads the wall clock or the process's hash seed).

What it makes (per ``customers`` = N):
- users (agents, plus the API key's machine user), 3 teams, 8 tags, 4 shortcuts, 2 SLAs with versions,
  3 workflows and 2 business rules (the automation inventory);
- ~N/4 companies (domains, emails, phones); customers, two in three linked to a company (Contacts) and the rest
  without one (Leads), with emails, phones, external ids and typed custom attributes (``customerTypeStr``,
  ``lifecycleStageStr``, ``lifetimeValueNum``, ``signedUpAt``, ``vipBool``);
- 0-3 conversations per customer (status open/snoozed/done, priority 1-5, channels, assigned users and teams,
  tags, typed custom attributes), 1-4 messages each (channel, direction in/out, ``meta`` whose to/cc/bcc are an
  object, a string or a list, as real data has them), 0-2 notes, attachments on some messages and notes
  (bytes downloadable);
- klasses ``order``, ``line_item`` (lookup -> order) and ``refund`` (lookup -> line_item) with KObjects, some
  line items and refunds referring to a parent that does not exist (``orphans``);
- custom attribute metadata for customer, conversation, company and message;
- ``burst`` customers and ``burst`` conversations sharing ONE ``updatedAt`` (``BURST_AT``, mid-history, as a bulk
  import leaves them): with pageSize p, burst > 100*p puts more than 100 search pages on a single timestamp. Only
  records created (with all their messages) before that moment can join, so the burst is capped at those
  (``Generator.burst_count`` says how many joined).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .store import iso, object_id

BASE = datetime(2023, 1, 2, 9, 0, 0, tzinfo=UTC)
BURST_AT = datetime(2023, 6, 15, 12, 0, 0, tzinfo=UTC)  # mid-history: records come before and after it
ORG_ID = "5f0c0a0b0c0d0e0f10111213"
CHANNELS = ("email", "chat", "sms", "facebook", "twitter-dm", "voice", "whatsapp", "instagram")
EXTERNAL_CHANNELS = ("email", "chat", "sms", "facebook", "twitter-dm", "whatsapp")
STATUSES = ("open", "snoozed", "done")
FIRST = ("Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "José", "Kai", "Lena", "Mia",
         "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Uma", "Vik", "Wen", "Yara", "Zoë")
LAST = ("Andersen", "Brown", "Çelik", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova", "Jones",
        "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt", "Tanaka", "Weiß")
WORDS = ("refund", "order", "delivery", "late", "broken", "invoice", "account", "password", "upgrade", "cancel",
         "shipping", "address", "warranty", "size", "exchange", "discount", "billing", "login", "missing", "damaged")
TAGS = (("vip", "#f5a623"), ("billing", "#4a90e2"), ("shipping", "#7ed321"), ("bug", "#d0021b"),
        ("feedback", "#9013fe"), ("returns", "#50e3c2"), ("urgent", "#ff0000"), ("spam", "#9b9b9b"))
TEAMS = ("Tier 1", "Tier 2", "Billing")
ACTIONS = ("kustomer.conversation.update", "kustomer.note.create")

# custom attribute metadata per standard resource: name -> (displayName, type)
CUSTOM_ATTRIBUTES: dict[str, dict[str, tuple[str, str]]] = {
    "customer": {"customerTypeStr": ("Customer type", "string"), "lifecycleStageStr": ("Lifecycle stage", "string"),
                 "lifetimeValueNum": ("Lifetime value", "number"), "signedUpAt": ("Signed up", "date"),
                 "vipBool": ("VIP", "boolean")},
    "conversation": {"orderNumberStr": ("Order number", "string"), "refundAmountNum": ("Refund amount", "number"),
                     "followUpAt": ("Follow up", "date"), "escalatedBool": ("Escalated", "boolean"),
                     "reasonTree": ("Contact reason", "tree")},
    "company": {"industryStr": ("Industry", "string"), "employeesNum": ("Employees", "number"),
                "renewalAt": ("Renewal", "date")},
    "message": {"sentimentStr": ("Sentiment", "string")},
}
KLASSES: dict[str, dict[str, Any]] = {
    "order": {"displayName": "Order", "icon": "cart", "color": "#4a90e2",
              "properties": {"orderNumberStr": ("Order number", "string", None), "totalNum": ("Total", "number", None),
                             "placedAt": ("Placed", "date", None), "paidBool": ("Paid", "boolean", None)}},
    "line_item": {"displayName": "Line item", "icon": "list", "color": "#7ed321",
                  "properties": {"skuStr": ("SKU", "string", None), "quantityNum": ("Quantity", "number", None),
                                 "priceNum": ("Price", "number", None),
                                 "orderIdStr": ("Order", "string", "kobject.order")}},
    "refund": {"displayName": "Refund", "icon": "money", "color": "#d0021b",
               "properties": {"amountNum": ("Amount", "number", None), "refundedAt": ("Refunded", "date", None),
                              "lineItemIdStr": ("Line item", "string", "kobject.line_item")}},
}


@dataclass
class SeedSpec:
    customers: int = 50
    seed: int = 1
    burst: int | None = None  # records sharing one updatedAt (customers and conversations); None: customers // 2
    orphans: int | None = None  # KObjects whose lookup parent is missing; None: max(1, customers // 50)

    def resolved(self) -> SeedSpec:
        if self.customers < 0:
            raise ValueError("customers must be >= 0")
        burst = self.customers // 2 if self.burst is None else self.burst
        orphans = max(1, self.customers // 50) if self.orphans is None else self.orphans
        if burst < 0 or orphans < 0:
            raise ValueError("burst and orphans must be >= 0")
        return SeedSpec(self.customers, self.seed, min(burst, self.customers), orphans)


def _rel(type_: str, id_: str) -> dict[str, Any]:
    return {"data": {"type": type_, "id": id_}}


class Generator:
    def __init__(self, spec: SeedSpec) -> None:
        self.spec = spec.resolved()
        self.rng = random.Random(f"kustomer:{self.spec.seed}")
        self.salt = zlib.crc32(f"kustomer-salt:{self.spec.seed}".encode())
        self.serial = 0
        self.docs: list[dict[str, Any]] = []
        self.blobs: list[tuple[str, bytes]] = []
        self.latest = BASE

    # ----- helpers ------------------------------------------------------------------------------------------
    def new_id(self, created: datetime) -> str:
        self.serial += 1
        return object_id(int(created.timestamp()), self.serial, self.salt)

    def when(self, start_days: float = 0, span_days: float = 240) -> datetime:
        seconds = self.rng.randrange(int(span_days * 86400))
        return BASE + timedelta(days=start_days, seconds=seconds, milliseconds=self.rng.randrange(1000))

    def add(self, type_: str, id_: str, attributes: dict[str, Any], relationships: dict[str, Any] | None = None,
            ) -> dict[str, Any]:
        for key in ("updatedAt", "createdAt"):
            moment = attributes.get(key)
            if isinstance(moment, str):
                self.latest = max(self.latest, datetime.fromisoformat(moment))
        doc = {"type": type_, "id": id_, "attributes": attributes,
               "relationships": {"org": _rel("org", ORG_ID), **(relationships or {})}}
        self.docs.append(doc)
        return doc

    def stamps(self, created: datetime, updated: datetime | None = None) -> dict[str, Any]:
        updated = updated or created + timedelta(seconds=self.rng.randrange(0, 30 * 86400))
        return {"createdAt": iso(created), "updatedAt": iso(updated), "modifiedAt": iso(updated)}

    def words(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    # ----- the org ------------------------------------------------------------------------------------------
    def build(self) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]], datetime]:
        """(documents, attachment bytes, the latest timestamp handed out)."""
        n = self.spec.customers
        self.users = self.make_users(max(3, min(50, n // 25)))
        self.teams = self.make_teams()
        self.tags = self.make_tags()
        self.make_shortcuts()
        self.slas = self.make_slas()
        self.make_automation()
        self.make_metadata()
        companies = self.make_companies(max(2, n // 4) if n else 0)
        customers = [self.make_customer(i, companies) for i in range(n)]
        conversations = []
        for customer in customers:
            for _ in range(self.rng.choice((0, 1, 1, 2, 3))):
                conversations.append(self.make_conversation(customer))
        self.burst_count: dict[str, int] = {}
        for type_, docs, last_key in (("customer", customers, "createdAt"),
                                      ("conversation", conversations, "lastMessageAt")):
            # a record joins the burst only if it existed (with all its messages) before the burst's timestamp
            candidates = [d for d in docs if datetime.fromisoformat(d["attributes"][last_key]) < BURST_AT]
            chosen = self.rng.sample(candidates, min(self.spec.burst, len(candidates)))
            for doc in chosen:
                self.burst(doc)
            self.burst_count[type_] = len(chosen)
        self.make_klasses_and_kobjects(customers)
        self.make_customer_notes(customers)  # drawn last: every record made above stays as it was
        return self.docs, self.blobs, self.latest

    def burst(self, doc: dict[str, Any]) -> None:
        stamp = iso(BURST_AT)
        doc["attributes"]["updatedAt"] = stamp
        doc["attributes"]["modifiedAt"] = stamp
        self.latest = max(self.latest, BURST_AT)

    def make_users(self, count: int) -> list[dict[str, Any]]:
        users = []
        machine = BASE - timedelta(days=30)
        users_created = [BASE - timedelta(days=20 - i % 20, hours=i) for i in range(count)]
        self.machine_user = self.add("user", object_id(int(machine.timestamp()), 0, self.salt), {
            "name": "hdm migration", "displayName": "hdm migration", "userType": "machine",
            "email": "hdm-migration@api.kustomerapp.example", "roles": [], "deleted": False,
            **self.stamps(machine, machine)})
        for i, created in enumerate(users_created):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            users.append(self.add("user", self.new_id(created), {
                "name": f"{first} {last}", "displayName": first, "userType": "user",
                "email": f"{first.lower()}.{i}@support.example".replace("é", "e").replace("ö", "o"),
                "roles": ["org.user", "org.admin"] if i == 0 else ["org.user"], "deleted": i == count - 1 and count > 3,
                "mobile": f"+1555010{i:04d}", **self.stamps(created, created + timedelta(days=1))}))
        return users

    def make_teams(self) -> list[dict[str, Any]]:
        teams = []
        for i, name in enumerate(TEAMS):
            created = BASE - timedelta(days=10 - i)
            members = [u["id"] for j, u in enumerate(self.users) if j % len(TEAMS) == i]
            teams.append(self.add("team", self.new_id(created), {
                "name": name, "displayName": name, "icon": "users", "members": members, "deleted": False,
                **self.stamps(created, created + timedelta(days=2))}))
        return teams

    def make_tags(self) -> list[dict[str, Any]]:
        tags = []
        for i, (name, color) in enumerate(TAGS):
            created = BASE - timedelta(days=9, hours=i)
            tags.append(self.add("tag", self.new_id(created), {
                "name": name, "color": color, "deleted": name == "spam", **self.stamps(created, created)}))
        return tags

    def make_shortcuts(self) -> None:
        for i, name in enumerate(("Greeting", "Refund policy", "Shipping times", "Closing")):
            created = BASE - timedelta(days=8, hours=i)
            self.add("shortcut", self.new_id(created), {
                "name": name, "draft": {"text": f"Hi {{{{customer.firstName}}}}, {name.lower()}: {self.words(6)}"},
                "isPrivate": i == 3, "deleted": False, "rev": 1, "appDisabled": False,
                **self.stamps(created, created)}, {"createdBy": _rel("user", self.users[0]["id"])})

    def make_slas(self) -> list[dict[str, Any]]:
        slas = []
        for i, (name, minutes) in enumerate((("Standard", 480), ("VIP", 60))):
            created = BASE - timedelta(days=7, hours=i)
            sla_id = self.new_id(created)
            versions = []
            for v in (1, 2):
                version = {"type": "sla-version", "id": self.new_id(created + timedelta(days=v)), "attributes": {
                    "name": name, "description": f"{name} response targets", "version": v,
                    "hours": "business" if i == 0 else "24x7",
                    "metrics": {"firstResponse": {"target": minutes * 60 // v},
                                "longestUnrespondedMessage": {"target": minutes * 120 // v}},
                    "criteria": {"and": [{"conversation_priority": {"gte": 3 if i else 1}}]},
                    "createdAt": iso(created + timedelta(days=v))},
                    "relationships": {"sla": _rel("sla", sla_id), "createdBy": _rel("user", self.users[0]["id"])}}
                versions.append(version)
                self.docs.append(version)
            slas.append(self.add("sla", sla_id, {"name": name, "currentVersion": 2, "enabled": True,
                                                 "createdAt": iso(created), "updatedAt": iso(created)},
                                 {"versions": {"data": [{"type": "sla-version", "id": v["id"]} for v in versions]},
                                  "createdBy": _rel("user", self.users[0]["id"])}))
        return slas

    def make_automation(self) -> None:
        for i, (name, event) in enumerate((("Auto-tag refunds", "kustomer.conversation.create"),
                                           ("Escalate VIP", "kustomer.conversation.update"),
                                           ("CSAT survey", "kustomer.conversation.status.done"))):
            created = BASE - timedelta(days=6, hours=i)
            self.add("workflow", self.new_id(created), {
                "name": name, "description": f"{name} ({event})", "enabled": i != 2,
                "trigger": {"eventName": event},
                "steps": [{"id": f"step-{j}", "action": action, "params": {"tag": self.tags[j]["id"]}}
                          for j, action in enumerate(ACTIONS[: i + 1])],
                **self.stamps(created, created)})
        for i, name in enumerate(("Route billing to Billing team", "Priority 5 to Tier 2")):
            created = BASE - timedelta(days=5, hours=i)
            self.add("business-rule", self.new_id(created), {
                "name": name, "enabled": True, "order": i + 1, "object": "conversation",
                "conditions": {"and": [{"conversation_tags": {"in": [self.tags[1]["id"]]}} if i == 0 else
                                       {"conversation_priority": {"equals": 5}}]},
                "actions": [{"type": "assign_team", "team": self.teams[2 if i == 0 else 1]["id"]}],
                **self.stamps(created, created)})

    def make_metadata(self) -> None:
        for resource, props in CUSTOM_ATTRIBUTES.items():
            created = BASE - timedelta(days=4)
            properties = {name: {"displayName": label, "type": type_, "array": False, "enumeration": False,
                                 "hasSensitiveAttributes": False, "modifiedAt": iso(created),
                                 "modifiedBy": self.users[0]["id"],
                                 **({"tree": {"children": [{"value": "billing", "displayName": "Billing"},
                                                           {"value": "shipping", "displayName": "Shipping"}]}}
                                    if type_ == "tree" else {})}
                          for name, (label, type_) in props.items()}
            self.add("metadata", resource, {"properties": properties, "updatedAt": iso(created),
                                            "createdAt": iso(created)})

    def make_companies(self, count: int) -> list[dict[str, Any]]:
        companies = []
        for i in range(count):
            created = self.when(0, 60)
            domain = f"company{i}.example" if i % 5 else f"Company{i}.Example"  # mixed case: dedupe by domain
            name = f"{self.rng.choice(LAST)} {self.rng.choice(('GmbH', 'Ltd', 'Inc', 'SA', 'KK'))} {i}"
            companies.append(self.add("company", self.new_id(created), {
                "name": name, "domains": [domain] + ([f"www.{domain}"] if i % 3 == 0 else []),
                "emails": [{"type": "work", "email": f"info@{domain.lower()}"}],
                "phones": [{"type": "work", "phone": f"+44207000{i:04d}"}] if i % 2 else [],
                "tags": [self.tags[i % 3]["id"]] if i % 4 == 0 else [],
                "custom": {"industryStr": self.rng.choice(("retail", "software", "logistics")),
                           "employeesNum": self.rng.randrange(5, 5000),
                           "renewalAt": iso(self.when(200, 200))},
                "rev": 1, **self.stamps(created)}, {"createdBy": _rel("user", self.users[0]["id"])}))
        return companies

    def make_customer(self, i: int, companies: list[dict[str, Any]]) -> dict[str, Any]:
        created = self.when(0, 230)
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        company = companies[i % len(companies)] if companies and i % 3 != 2 else None
        slug = f"{first}.{last}.{i}".lower().replace("'", "")
        emails = [{"type": "home", "email": f"{slug}@mail.example", "verified": i % 2 == 0}]
        if company is not None:
            emails.insert(0, {"type": "work", "email": f"{slug}@{company['attributes']['domains'][0].lower()}",
                              "verified": True})
        attributes: dict[str, Any] = {
            "name": f"{first} {last}", "displayName": f"{first} {last}", "firstName": first, "lastName": last,
            "emails": emails if i % 17 != 5 else [],  # a few customers without any email (phone only)
            "phones": [{"type": "mobile", "phone": f"+1555{i:07d}", "verified": False}] if i % 2 else [],
            "externalId": f"ext-{i:06d}" if i % 4 else None,
            "externalIds": [{"externalId": f"ext-{i:06d}", "verified": True}] if i % 4 else [],
            "sharedEmails": [], "sharedPhones": [], "socials": [], "urls": [], "locations": [],
            "tags": [t["id"] for t in self.rng.sample(self.tags[:6], self.rng.choice((0, 0, 1, 2)))],
            "custom": {"customerTypeStr": "customer" if company is not None else "lead",
                       "lifecycleStageStr": self.rng.choice(("subscriber", "lead", "opportunity", "customer")),
                       "lifetimeValueNum": round(self.rng.uniform(0, 5000), 2),
                       "signedUpAt": iso(created - timedelta(days=self.rng.randrange(1, 400))),
                       "vipBool": i % 11 == 0},
            "deleted": False, "verified": i % 2 == 0, "rev": 1, "locale": "en_US" if i % 3 else "de_DE",
            "conversationCounts": {"all": 0, "open": 0, "snoozed": 0, "done": 0},
            **self.stamps(created)}
        if company is not None:
            attributes["companyName"] = company["attributes"]["name"]
        rels: dict[str, Any] = {}
        if company is not None:
            rels["company"] = _rel("company", company["id"])
        return self.add("customer", self.new_id(created), attributes, rels)

    def make_conversation(self, customer: dict[str, Any]) -> dict[str, Any]:
        cust_created = datetime.fromisoformat(customer["attributes"]["createdAt"])
        created = cust_created + timedelta(minutes=self.rng.randrange(1, 60 * 24 * 20))
        status = self.rng.choices(STATUSES, weights=(3, 1, 6))[0]
        channel = self.rng.choices(CHANNELS, weights=(8, 4, 2, 1, 1, 1, 1, 1))[0]
        conv_id = self.new_id(created)
        user = self.rng.choice(self.users)
        team = self.rng.choice(self.teams)
        custom = {"orderNumberStr": f"ORD-{self.rng.randrange(10**6):06d}",
                  "refundAmountNum": round(self.rng.uniform(0, 300), 2) if self.rng.random() < 0.5 else None,
                  "followUpAt": iso(created + timedelta(days=3)), "escalatedBool": self.rng.random() < 0.2,
                  "reasonTree": self.rng.choice(("billing", "shipping", "billing.refund"))}
        subject = self.words(3).capitalize()
        attributes: dict[str, Any] = {
            "name": subject, "preview": "", "channels": [channel], "status": status,
            "priority": self.rng.randrange(1, 6), "direction": "in" if self.rng.random() < 0.85 else "out",
            "assignedUsers": [user["id"]] if self.rng.random() < 0.8 else [],
            "assignedTeams": [team["id"]] if self.rng.random() < 0.7 else [],
            "tags": [t["id"] for t in self.rng.sample(self.tags, self.rng.choice((0, 1, 1, 2, 3)))],
            "custom": {k: v for k, v in custom.items() if v is not None},
            "messageCount": 0, "noteCount": 0, "spam": False, "ended": status == "done",
            "deleted": False, "rev": 1, "locale": "en-us", "defaultLang": "en_us",
            "externalId": f"legacy-{conv_id[-6:]}" if self.rng.random() < 0.1 else None}
        rels: dict[str, Any] = {"customer": _rel("customer", customer["id"]),
                                "messages": {"links": {"self": f"/v1/conversations/{conv_id}/messages"}}}
        if self.rng.random() < 0.5:
            sla = self.rng.choice(self.slas)
            rels["sla"] = _rel("sla", sla["id"])
            attributes["sla"] = {"name": sla["attributes"]["name"], "version": 2, "breached": self.rng.random() < 0.2,
                                 "status": "active" if status != "done" else "fulfilled"}
        conv = self.add("conversation", conv_id, attributes, rels)
        last = created
        messages = []
        for k in range(self.rng.randrange(1, 5)):
            last = last + timedelta(minutes=self.rng.randrange(1, 600))
            messages.append(self.make_message(conv, customer, channel, k, last, user))
        notes = 0
        for _ in range(self.rng.choice((0, 0, 1, 2))):
            last = last + timedelta(minutes=self.rng.randrange(1, 120))
            self.make_note(conv, customer, last)
            notes += 1
        if status == "snoozed":
            attributes["snooze"] = {"status": "active", "time": iso(last + timedelta(days=2))}
        if status == "done":
            attributes["endedAt"] = iso(last + timedelta(minutes=5))
        first_in = next((m for m in messages if m["attributes"]["direction"] == "in"), None)
        if first_in is not None:
            attributes["firstMessageIn"] = {k: first_in["attributes"][k] for k in ("channel", "sentAt", "createdAt",
                                                                                    "meta", "directionType")}
            attributes["firstMessageIn"]["id"] = first_in["id"]
        attributes["preview"] = messages[-1]["attributes"]["preview"]
        attributes["messageCount"] = len(messages)
        attributes["noteCount"] = notes
        attributes["lastMessageAt"] = messages[-1]["attributes"]["createdAt"]
        attributes.update(self.stamps(created, last + timedelta(minutes=self.rng.randrange(1, 600))))
        attributes["lastActivityAt"] = attributes["updatedAt"]
        counts = customer["attributes"]["conversationCounts"]
        counts["all"] += 1
        counts[status] += 1
        return conv

    def _address(self, email: str, name: str, shape: int) -> Any:
        """to/cc/bcc as real data has them: a list of objects, one object, or a bare string."""
        if shape == 0:
            return [{"email": email, "name": name}]
        if shape == 1:
            return {"email": email, "name": name}
        return email

    def make_message(self, conv: dict[str, Any], customer: dict[str, Any], channel: str, k: int, when: datetime,
                     user: dict[str, Any]) -> dict[str, Any]:
        inbound = k % 2 == 0 if conv["attributes"]["direction"] == "in" else k % 2 == 1
        direction_type = ("initial-in" if inbound else "initial-out") if k == 0 else (
            "followup-in" if inbound else "response-out")
        msg_id = self.new_id(when)
        body = f"{self.words(8).capitalize()}. {self.words(12)}."
        emails = customer["attributes"]["emails"]
        cust_addr = emails[0]["email"] if emails else f"{customer['id']}@unknown.example"
        cust_name = customer["attributes"]["name"]
        agent_addr = "support@acme-help.example"
        meta: dict[str, Any]
        if channel == "email":
            shape = self.serial % 3
            meta = {"from": cust_addr if inbound else agent_addr,
                    "to": self._address(agent_addr if inbound else cust_addr,
                                        "Acme Support" if inbound else cust_name, shape),
                    "subject": conv["attributes"]["name"] if k == 0 else f"Re: {conv['attributes']['name']}",
                    "messageId": f"<{msg_id}@mail.acme-help.example>"}
            if self.rng.random() < 0.3:
                meta["cc"] = self._address(f"cc{k}@mail.example", "Copy", (shape + 1) % 3)
            if self.rng.random() < 0.1:
                meta["bcc"] = self._address(f"audit{k}@acme-help.example", "Audit", (shape + 2) % 3)
            if k:
                meta["inReplyTo"] = f"<prev-{k}-{conv['id']}@mail.acme-help.example>"
            meta["html"] = f"<p>{body}</p>"
        elif channel in ("sms", "whatsapp", "voice"):
            phone = (customer["attributes"]["phones"] or [{"phone": "+15550000000"}])[0]["phone"]
            meta = {"from": phone if inbound else "+15559990000", "to": "+15559990000" if inbound else phone}
        else:
            meta = {"from": customer["id"] if inbound else user["id"]}
        attributes: dict[str, Any] = {
            "channel": channel, "app": {"email": "postmark", "sms": "twilio", "chat": "kustomer-chat",
                                        "voice": "kustomer-voice"}.get(channel, channel),
            "size": len(body), "direction": "in" if inbound else "out", "directionType": direction_type,
            "preview": body[:100], "subject": meta.get("subject"), "body": body, "meta": meta,
            "status": "received" if inbound else "sent", "auto": False, "redacted": False, "lang": "en",
            "sentAt": iso(when), "assignedUsers": conv["attributes"]["assignedUsers"],
            "assignedTeams": conv["attributes"]["assignedTeams"], "rev": 1,
            "custom": {"sentimentStr": self.rng.choice(("positive", "neutral", "negative"))},
            **self.stamps(when, when)}
        rels: dict[str, Any] = {"conversation": _rel("conversation", conv["id"]),
                                "customer": _rel("customer", customer["id"])}
        if not inbound:
            rels["createdBy"] = _rel("user", user["id"])
        attachments = [self.make_attachment(msg_id, "message", conv["id"], when)
                       for _ in range(1 if self.rng.random() < 0.15 else 0)]
        if attachments:
            rels["attachments"] = {"data": [{"type": "attachment", "id": a} for a in attachments]}
        return self.add("message", msg_id, attributes, rels)

    def make_note(self, conv: dict[str, Any], customer: dict[str, Any], when: datetime) -> None:
        author = self.rng.choice(self.users)
        mention = self.rng.choice(self.users)
        note_id = self.new_id(when)
        rels: dict[str, Any] = {"conversation": _rel("conversation", conv["id"]),
                                "customer": _rel("customer", customer["id"]), "createdBy": _rel("user", author["id"])}
        if self.rng.random() < 0.2:
            attachment = self.make_attachment(note_id, "note", conv["id"], when)
            rels["attachments"] = {"data": [{"type": "attachment", "id": attachment}]}
        self.add("note", note_id, {
            "body": f"Internal: {self.words(10)} @{mention['attributes']['displayName']}",
            "userMentions": [{"user": mention["id"]}], "createdByTeams": [], **self.stamps(when, when)}, rels)

    def make_customer_notes(self, customers: list[dict[str, Any]]) -> None:
        """Notes on a customer outside any conversation (every ninth customer): ``relationships.customer`` only."""
        for customer in customers[::9]:
            when = datetime.fromisoformat(customer["attributes"]["createdAt"]) + timedelta(
                hours=self.rng.randrange(1, 200))
            author = self.rng.choice(self.users)
            self.add("note", self.new_id(when), {
                "body": f"Account note: {self.words(8)}", "userMentions": [], "createdByTeams": [],
                **self.stamps(when, when)},
                {"customer": _rel("customer", customer["id"]), "createdBy": _rel("user", author["id"])})

    def make_attachment(self, parent_id: str, parent_type: str, conv_id: str, when: datetime) -> str:
        att_id = self.new_id(when)
        kind = self.serial % 3
        name, ctype = (("invoice.txt", "text/plain"), ("photo.png", "image/png"),
                       ("export.csv", "text/csv"))[kind]
        size = 64 + self.rng.randrange(900)
        content = (f"attachment {att_id} of {parent_type} {parent_id}\n" * (size // 40 + 1)).encode()[:size]
        self.blobs.append((att_id, content))
        self.add("attachment", att_id, {"name": name, "contentType": ctype, "contentLength": len(content),
                                        "redacted": False, **self.stamps(when, when)},
                 {parent_type: _rel(parent_type, parent_id), "conversation": _rel("conversation", conv_id)})
        return att_id

    def make_klasses_and_kobjects(self, customers: list[dict[str, Any]]) -> None:
        klass_ids = {}
        for i, (name, spec) in enumerate(KLASSES.items()):
            created = BASE - timedelta(days=3, hours=i)
            klass_ids[name] = self.new_id(created)
            properties = {attr: {"displayName": label, "type": type_, **({"target": target} if target else {})}
                          for attr, (label, type_, target) in spec["properties"].items()}
            self.add("klass", klass_ids[name], {"name": name, "displayName": spec["displayName"], "icon": spec["icon"],
                                                "color": spec["color"], "metadata": {"properties": properties},
                                                "deleted": False, **self.stamps(created, created)})

        def kobject(klass: str, customer: dict[str, Any], when: datetime, title: str, custom: dict[str, Any]) -> str:
            kid = self.new_id(when)
            self.add("kobject", kid, {"title": title, "description": None, "externalId": f"{klass}-{kid[-8:]}",
                                      "icon": KLASSES[klass]["icon"], "images": [], "tags": [], "custom": custom,
                                      "rev": 1, **self.stamps(when)},
                     {"klass": _rel("klass", klass_ids[klass]), "customer": _rel("customer", customer["id"])})
            return kid

        line_items: list[tuple[str, dict[str, Any], datetime]] = []
        for customer in customers:
            created = datetime.fromisoformat(customer["attributes"]["createdAt"])
            for _ in range(self.rng.choice((0, 0, 1, 2))):
                when = created + timedelta(hours=self.rng.randrange(1, 500))
                number = f"ORD-{self.rng.randrange(10**6):06d}"
                order = kobject("order", customer, when, f"Order {number}", {
                    "orderNumberStr": number, "totalNum": round(self.rng.uniform(5, 900), 2),
                    "placedAt": iso(when), "paidBool": self.rng.random() < 0.9})
                for j in range(self.rng.randrange(1, 3)):
                    li_when = when + timedelta(minutes=j + 1)
                    li = kobject("line_item", customer, li_when, f"{number} line {j + 1}", {
                        "skuStr": f"SKU-{self.rng.randrange(1000):04d}", "quantityNum": self.rng.randrange(1, 4),
                        "priceNum": round(self.rng.uniform(1, 300), 2), "orderIdStr": order})
                    line_items.append((li, customer, li_when))
        for li, customer, when in line_items:
            if self.rng.random() < 0.15:
                kobject("refund", customer, when + timedelta(days=2), f"Refund of {li[-6:]}", {
                    "amountNum": round(self.rng.uniform(1, 100), 2), "refundedAt": iso(when + timedelta(days=2)),
                    "lineItemIdStr": li})
        if customers:
            for k in range(self.spec.orphans):  # parents that never existed (deleted upstream)
                customer = customers[k % len(customers)]
                when = datetime.fromisoformat(customer["attributes"]["createdAt"]) + timedelta(hours=k + 1)
                missing = object_id(int(when.timestamp()), 0xFFFFFF - k, self.salt ^ 0xFFFF)
                if k % 2 == 0:
                    kobject("line_item", customer, when, f"Orphan line {k}", {
                        "skuStr": "SKU-0000", "quantityNum": 1, "priceNum": 1.0, "orderIdStr": missing})
                else:
                    kobject("refund", customer, when, f"Orphan refund {k}", {
                        "amountNum": 1.0, "refundedAt": iso(when), "lineItemIdStr": missing})


def generate(spec: SeedSpec) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]], datetime, dict[str, int]]:
    """(documents, attachment bytes, the latest timestamp handed out, records per type in the burst) for ``spec``."""
    gen = Generator(spec)
    docs, blobs, latest = gen.build()
    return docs, blobs, latest, dict(getattr(gen, "burst_count", {}))
