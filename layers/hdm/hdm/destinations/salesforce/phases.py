"""The Salesforce load order: what each phase writes and which canonical records it is made from."""

from __future__ import annotations

from hdm.destinations.base import LoadPhase, PhaseGraph

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
TOPICS = "topics"  # knowledge-base categories (and ticket categories: policy case_topics) -> Topic (flat; the parent
# chain in Description)
KNOWLEDGE = "knowledge"  # knowledge-base articles -> Knowledge__kav (drafts, then published/archived by action)
TOPIC_ASSIGNMENTS = "topic_assignments"  # article -> its category's Topic (TopicAssignment)

# Declared once: routing of transform outputs (each phase loads the output named like it), dispatch to the
# loaders (destination.py checks it has one per phase), per-phase concurrency, verification and the rollback
# order all derive from this declaration (hdm.destinations.base.PhaseGraph). Declared in today's load order,
# which the graph's stable topological order keeps.
PHASES: tuple[LoadPhase, ...] = (
    LoadPhase(USERS, ("User",), ("agent",), max_concurrency=1, verified=False),
    LoadPhase(QUEUES, ("Group", "QueueSobject", "GroupMember"), ("team",), max_concurrency=1, after=(USERS,),
              verified=False),
    LoadPhase(ACCOUNTS, ("Account",), ("organization",), max_concurrency=2),
    LoadPhase(CONTACTS, ("Contact",), ("contact",), max_concurrency=2, after=(ACCOUNTS,)),
    LoadPhase(CASES, ("Case",), ("ticket",), max_concurrency=2, after=(USERS, QUEUES, ACCOUNTS, CONTACTS)),
    LoadPhase(CASE_PARENTS, ("Case",), ("ticket",), max_concurrency=2, after=(CASES,)),
    LoadPhase(COMMENTS, ("CaseComment",), ("message",), max_concurrency=2, after=(CASES, USERS)),
    # knowledge (knowledge.py): no rows when the source has no knowledge base, so nothing is loaded then
    LoadPhase(TOPICS, ("Topic",), ("kb_category", "category"), max_concurrency=1),
    LoadPhase(KNOWLEDGE, ("Knowledge__kav",), ("kb_article",), max_concurrency=2),
    # files go onto Cases, and onto article versions (an article's files)
    LoadPhase(FILES, ("ContentVersion", "ContentDocumentLink"), ("attachment",), max_concurrency=2,
              after=(CASES, KNOWLEDGE)),
    LoadPhase(CASE_CONTACTS, ("CaseContactRole",), ("ticket",), max_concurrency=2, after=(CASES, CONTACTS)),
    LoadPhase(CASE_EVENTS, ("hdm_Case_Event__c",), ("event",), max_concurrency=2, after=(CASES, USERS)),
    # articles (and, with the mapping policy case_topics, Cases) -> their category's Topic
    LoadPhase(TOPIC_ASSIGNMENTS, ("TopicAssignment",), ("kb_article", "ticket"), max_concurrency=2,
              after=(TOPICS, KNOWLEDGE, CASES)),
)

# what SalesforceTransformer.transform returns rows under (every one must be loaded by exactly one phase)
TRANSFORM_OUTPUTS = (USERS, QUEUES, ACCOUNTS, CONTACTS, CASES, CASE_PARENTS, COMMENTS, FILES, CASE_CONTACTS,
                     CASE_EVENTS, TOPICS, KNOWLEDGE, TOPIC_ASSIGNMENTS)

GRAPH = PhaseGraph(PHASES, outputs=TRANSFORM_OUTPUTS)
PHASE_BY_NAME = GRAPH.by_name

# the destination object a phase's crosswalk entries are written under
PRIMARY_OBJECT = {p.name: p.primary_object for p in PHASES}
