"""The Salesforce load order: what each phase writes and which canonical records it is made from."""

from __future__ import annotations

from hdm.destinations.base import LoadPhase

USERS = "users"  # agents matched to existing Users by email (never created)
QUEUES = "queues"  # departments -> Queues (Group Type=Queue + QueueSobject Case) with members
ACCOUNTS = "accounts"  # organisations (same name merged)
CONTACTS = "contacts"  # users (email dedupe)
CASES = "cases"  # tickets
CASE_PARENTS = "case_parents"  # merged child tickets -> ParentId, once every Case exists
COMMENTS = "comments"  # thread entries -> CaseComment (split at 4,000 bytes)
FILES = "files"  # attachments -> ContentVersion + ContentDocumentLink
CASE_CONTACTS = "case_contacts"  # ticket collaborators (CCs) -> CaseContactRole
CASE_EVENTS = "case_events"  # ticket events -> hdm_Case_Event__c (custom object, Case lookup)

PHASES: tuple[LoadPhase, ...] = (
    LoadPhase(USERS, ("User",), ("agent",), max_concurrency=1),
    LoadPhase(QUEUES, ("Group", "QueueSobject", "GroupMember"), ("team",), max_concurrency=1),
    LoadPhase(ACCOUNTS, ("Account",), ("organization",), max_concurrency=2),
    LoadPhase(CONTACTS, ("Contact",), ("contact",), max_concurrency=2),
    LoadPhase(CASES, ("Case",), ("ticket",), max_concurrency=2),
    LoadPhase(CASE_PARENTS, ("Case",), ("ticket",), max_concurrency=2),
    LoadPhase(COMMENTS, ("CaseComment",), ("message",), max_concurrency=2),
    LoadPhase(FILES, ("ContentVersion", "ContentDocumentLink"), ("attachment",), max_concurrency=2),
    LoadPhase(CASE_CONTACTS, ("CaseContactRole",), ("ticket",), max_concurrency=2),
    LoadPhase(CASE_EVENTS, ("hdm_Case_Event__c",), ("event",), max_concurrency=2),
)

PHASE_BY_NAME = {p.name: p for p in PHASES}

# the destination object a phase's crosswalk entries are written under
PRIMARY_OBJECT = {
    USERS: "User", QUEUES: "Group", ACCOUNTS: "Account", CONTACTS: "Contact", CASES: "Case",
    CASE_PARENTS: "Case", COMMENTS: "CaseComment", FILES: "ContentVersion", CASE_CONTACTS: "CaseContactRole",
    CASE_EVENTS: "hdm_Case_Event__c",
}
