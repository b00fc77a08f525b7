"""A seeded, generated set of canonical records for the Salesforce transformer's golden test: every object the
transformer maps, with the values that raise flags (lossy and unknown statuses, empty required fields, long
texts, bad emails, custom values with and without a field, tasks, collaborators, events, files)."""

from __future__ import annotations

import random

from hdm.model import (
    Agent,
    Attachment,
    Contact,
    Event,
    Flag,
    Message,
    MessageKind,
    Organization,
    Provenance,
    StatusState,
    Team,
    TeamKind,
    Ticket,
    Visibility,
)

STATUSES = ["open", "Open", "new", "pending", "resolved", "closed", "archived", "deleted", "weird", "", None]
STATES = [None, StatusState.OPEN, StatusState.CLOSED, StatusState.ARCHIVED, StatusState.DELETED]
PRIORITIES = ["low", "normal", "High", "emergency", "urgent", "odd", "", None]
CHANNELS = ["web", "email", "phone", "api", "other", "chat", None]
WORDS = "alpha beta gamma delta épsilon zeta ☃ θ naïve résumé".split()
DATES = ["2024-01-31T12:00:00Z", "2023-06-01 08:30:00", "2022-02-02T01:02:03+02:00", "not a date", "", None]


def P(obj: str, i: int) -> Provenance:
    return Provenance("osticket", obj, str(i))


def _text(rnd: random.Random, n: int) -> str:
    return " ".join(rnd.choice(WORDS) for _ in range(n))


def records(seed: int = 11) -> dict[str, list]:
    rnd = random.Random(seed)
    out: dict[str, list] = {k: [] for k in ("agent", "team", "organization", "contact", "ticket", "message",
                                             "attachment", "event", "sla_policy")}
    for i in range(1, 6):
        out["agent"].append(Agent(P("staff", i), first_name="A", last_name=f"Agent {i}",
                                  email=rnd.choice([f"agent{i}@corp.test", " ", None])))
    for i in range(1, 6):
        kind = TeamKind.QUEUE if i % 3 else TeamKind.GROUP
        out["team"].append(Team(P("department", i), kind=kind, name=_text(rnd, rnd.randint(1, 12)),
                                members=[f"agent:{j}" for j in range(1, i)]))
    for i in range(1, 26):
        flags = [Flag("duplicate_name", "same name", "name")] if i % 7 == 0 else []
        out["organization"].append(Organization(
            P("organization", i), name=rnd.choice(["Acme", "acme ", "", _text(rnd, 3), "x" * 300]),
            website=rnd.choice([None, "https://acme.test"]), phone=rnd.choice([None, "+1 555 0100", "9" * 50]),
            address=rnd.choice([None, _text(rnd, 4)]), notes=rnd.choice([None, _text(rnd, 20)]),
            custom=rnd.choice([{}, {"region": "EU"}, {"tier": ["gold", "silver"]}, {"unknown_x": "v"}]),
            flags=flags))
    for i in range(1, 41):
        out["contact"].append(Contact(
            P("user", i), name=rnd.choice(["Jane Doe", "Cher", "", "  ", "Mary Ann Smith", "n" * 120]),
            email=rnd.choice([f"u{i}@example.test", "not-an-email", None, ""]),
            phone=rnd.choice([None, "555"]), organization=rnd.choice([None, f"organization:{rnd.randint(1, 25)}"]),
            custom=rnd.choice([{}, {"vip": True}, {"note": _text(rnd, 3)}, {"choice": {"key": "k", "label": "Lab"}}])))
    for i in range(1, 81):
        collabs = [{"contact": f"contact:{j}", "role": rnd.choice(["cc", "participant", "inactive", "x"])}
                   for j in range(rnd.randint(0, 2))]
        out["ticket"].append(Ticket(
            P("ticket", i), kind=rnd.choice(["ticket", "ticket", "task"]), number=str(1000 + i),
            subject=rnd.choice([None, _text(rnd, 5), "s" * 300]), status=rnd.choice(STATUSES),
            status_state=rnd.choice(STATES), priority=rnd.choice(PRIORITIES), channel=rnd.choice(CHANNELS),
            requester=rnd.choice([None, f"contact:{rnd.randint(1, 40)}"]),
            organization=rnd.choice([None, f"organization:{rnd.randint(1, 25)}"]),
            assignee=rnd.choice([None, "agent:1", "agent:9"]), queue=rnd.choice([None, "team:1", "team:2"]),
            category=rnd.choice([None, "category:1", "category:2"]),
            sla_policy=rnd.choice([None, "sla_policy:1"]), created_at=rnd.choice(DATES),
            closed_at=rnd.choice(DATES), parent=rnd.choice([None, None, f"ticket:{rnd.randint(1, 80)}"]),
            relation=rnd.choice(["merged", "linked", "task_of"]), collaborators=[c["contact"] for c in collabs],
            collaborator_details=collabs,
            custom=rnd.choice([{}, {"due": "2024-05-01"}, {"kind": ["a", "b"]}, {"empty": ""}, {"secret": "s"}])))
    # the kinds the golden rows were drawn from (a kind added to the model must not reshuffle the draw)
    for i in range(1, 31):
        kind = rnd.choice([MessageKind.CUSTOMER, MessageKind.AGENT, MessageKind.SYSTEM])
        size = rnd.choice([1, 5, 700])
        out["message"].append(Message(
            P("thread_entry", i), ticket=rnd.choice(["ticket:1", f"ticket:{i}", ""]), position=i % 7, kind=kind,
            visibility=rnd.choice(list(Visibility)), author=rnd.choice([None, "agent:1", "contact:2"]),
            author_name=rnd.choice(["A", None, "Zoë"]), author_email=rnd.choice([None, "a@corp.test"]),
            created_at=rnd.choice(DATES), title=rnd.choice([None, "Re: hello"]),
            body_html=f"<p>{_text(rnd, size)}</p>", body_format=rnd.choice(["html", "text"])))
    for i in range(1, 31):
        out["event"].append(Event(
            P("thread_event", i), ticket=rnd.choice([None, f"ticket:{i}"]), name=rnd.choice(["closed", "", "assigned"]),
            actor=rnd.choice([None, "agent:1"]), actor_name=rnd.choice([None, "Agent One"]), at=rnd.choice(DATES),
            data=rnd.choice([{}, {"status": [1, 3]}, {"staff": {"name": "x"}}]), annulled=rnd.choice([True, False])))
    for i in range(1, 21):
        out["attachment"].append(Attachment(
            P("attachment", i), ticket=rnd.choice([None, f"ticket:{i}"]),
            file_name=rnd.choice(["a.pdf", "../evil.exe", "", "ok.txt", "x" * 300 + ".png"]),
            size=rnd.choice([None, 10, 5000]), blob=rnd.choice([None, f"blobs/{i}"]),
            sha256=rnd.choice([None, "ab" * 32]), visibility=rnd.choice(list(Visibility))))
    return out
