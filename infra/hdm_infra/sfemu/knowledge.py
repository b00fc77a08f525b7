"""Knowledge, Topics and Entitlements: the rules a real org applies to them, each sourced in
``shared/reference/notes/salesforce-next.md`` (section named at each rule).

- Knowledge__kav (§2.1-2.5, "What the emulator must enforce" 9-13): an insert is a Draft version 1 with a new
  KnowledgeArticleId (prefix ``kA0``); UrlName letters, digits and hyphens, not starting or ending with a hyphen,
  unique; only Draft versions can be updated; no data-API delete; SOQL must filter on PublishStatus or Id;
  publish/archive/delete go through the standard actions ``publishKnowledgeArticles``,
  ``archiveKnowledgeArticles``, ``deleteKnowledgeArticles`` (§2.4), which answer per input
  ``{actionName, errors, isSuccess, outputValues: {<15-char id>: "Success" | message}}``; Online versions cannot
  be deleted (§2.5).
- Topic (§3, behaviour 15): Name ≤ 99, unique case-insensitively (DUPLICATE_VALUE, code [unverified]); an update
  may change only the case and spacing of Name. TopicAssignment (§3, behaviour 16): create and delete only, one
  (TopicId, EntityId) pair once, at most 100 topics per record.
- A feature switched off (knobs ``knowledge_enabled``, ``entitlements_enabled``) hides its objects: 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .org import Org, RowResult, _Pending
    from .schema import ObjectMeta

KAV = "Knowledge__kav"
URL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")  # §2.2
ACTION_FAILED = ("You can't perform this action. Be sure the action is valid for the current state of the article, "
                 "and that you have permission to perform it.")  # §2.4, the per-item failure text
PUB_ACTIONS = ("PUBLISH_ARTICLE", "PUBLISH_ARTICLE_NEW_VERSION", "SCHEDULE_ARTICLE_FOR_PUBLICATION",
               "PUBLISH_TRANSLATION")
MAX_TOPICS_PER_RECORD = 100  # §3 (CONN-tn)
FEATURE_OF = {KAV: "knowledge_enabled", "Entitlement": "entitlements_enabled", "SlaProcess": "entitlements_enabled"}
KNOWLEDGE_ACTIONS = ("publishKnowledgeArticles", "archiveKnowledgeArticles", "deleteKnowledgeArticles")


def enabled(org: Org, obj: str) -> bool:
    knob = FEATURE_OF.get(obj)
    return knob is None or bool(getattr(org.knobs, knob))


def check_insert(org: Org, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
    live = [p for p in pendings if results[p.index].success]
    if meta.name == KAV:
        for p in live:
            _check_url_name(p, results[p.index])
            p.values["VersionNumber"] = 1
            p.values["PublishStatus"] = "Draft"
    elif meta.name == "Topic":  # §3: names are unique case-insensitively (the stored-value check is exact)
        for p in live:
            name = p.values.get("Name")
            hit = org.db.execute('SELECT Id FROM "Topic" WHERE IsDeleted=0 AND Name=? COLLATE NOCASE',
                                 (name,)).fetchone() if name else None
            if hit:
                results[p.index].fail("DUPLICATE_VALUE", f"duplicate value found: Name duplicates value on record "
                                      f"with id: {hit[0]}", ["Name"])
    elif meta.name == "TopicAssignment":
        counts: dict[str, int] = {}
        for p in live:
            entity = p.values.get("EntityId")
            if not entity:
                continue
            if entity not in counts:
                counts[entity] = org.db.execute('SELECT COUNT(*) FROM "TopicAssignment" WHERE IsDeleted=0 AND '
                                                "EntityId=?", (entity,)).fetchone()[0]
            counts[entity] += 1
            if counts[entity] > MAX_TOPICS_PER_RECORD:
                results[p.index].fail("LIMIT_EXCEEDED", f"A record can have at most {MAX_TOPICS_PER_RECORD} topics",
                                      ["TopicId"])


def _check_url_name(p: _Pending, result: RowResult) -> None:
    url = p.values.get("UrlName")
    if url is not None and not URL_NAME.match(str(url)):
        result.fail("FIELD_INTEGRITY_EXCEPTION", "URL Name: use only letters, numbers and hyphens; do not begin or "
                    "end with a hyphen", ["UrlName"])


def assign_article_ids(org: Org, meta: ObjectMeta, ok: list[_Pending]) -> None:
    """A new master version starts a new article (KnowledgeArticleId, prefix kA0; §2.1)."""
    if meta.name != KAV or not ok:
        return
    for p, aid in zip(ok, org.allocate_ids("kA0", len(ok)), strict=True):
        p.values["KnowledgeArticleId"] = aid


def check_update(org: Org, meta: ObjectMeta, pendings: list[_Pending], results: list[RowResult]) -> None:
    if meta.name == KAV:
        for p in pendings:
            if not results[p.index].success:
                continue
            row = org.db.execute(f'SELECT PublishStatus FROM "{KAV}" WHERE Id=?', (p.record_id,)).fetchone()
            if row and row[0] != "Draft":  # §2.1: only Draft versions can be updated
                results[p.index].fail("INVALID_FIELD_FOR_INSERT_UPDATE", f"You can't edit an article version that "
                                      f"is {row[0]}: only Draft versions can be updated", list(p.values))
                continue
            _check_url_name(p, results[p.index])
    elif meta.name == "Topic":
        for p in pendings:
            new = p.values.get("Name")
            if new is None or not results[p.index].success:
                continue
            row = org.db.execute('SELECT Name FROM "Topic" WHERE Id=?', (p.record_id,)).fetchone()
            if row and _fold(row[0]) != _fold(new):  # §3: an update changes only spacing and capitalization
                results[p.index].fail("FIELD_INTEGRITY_EXCEPTION", "A topic's name can only change in "
                                      "capitalization and spacing", ["Name"])


def _fold(name: str) -> str:
    return "".join(str(name).split()).casefold()


def query_guard(obj: str, text: str) -> str | None:
    """§2.1: a Knowledge__kav query must filter on PublishStatus or Id (the exact error text is [unverified])."""
    if obj != KAV:
        return None
    where = re.split(r"\bwhere\b", text, maxsplit=1, flags=re.IGNORECASE)
    if len(where) == 2 and re.search(r"\b(PublishStatus|Id)\b", where[1], flags=re.IGNORECASE):
        return None
    return "Implementation restriction: When querying the Knowledge__kav object, you must filter using the " \
           "following syntax: Id = [single ID], Id IN [list of ID's] or PublishStatus = [status]."


def run_action(org: Org, name: str, body: Any) -> list[dict[str, Any]]:
    """One result per input (§2.4). Raises ValueError for a body without ``inputs``."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ValueError("the request body must be {\"inputs\": [...]}")
    out = []
    with org.lock:
        for item in body["inputs"]:
            out.append(_one_input(org, name, item if isinstance(item, dict) else {}))
    return out


def _input_error(name: str, message: str) -> dict[str, Any]:
    return {"actionName": name, "errors": [{"statusCode": "INVALID_API_INPUT", "message": message, "fields": []}],
            "isSuccess": False, "outputValues": None}


def _one_input(org: Org, name: str, item: dict[str, Any]) -> dict[str, Any]:
    ids = item.get("articleVersionIdList")
    if not isinstance(ids, list) or not ids:
        return _input_error(name, "Missing required input parameter: articleVersionIdList")
    pub = item.get("pubAction")
    if name == "publishKnowledgeArticles" and pub not in PUB_ACTIONS:
        return _input_error(name, f"Invalid value for pubAction: {pub}")
    from .ids import normalize_id

    outputs: dict[str, str] = {}
    for raw in ids:
        rid = normalize_id(str(raw or ""))
        row = org.db.execute(f'SELECT PublishStatus, KnowledgeArticleId FROM "{KAV}" WHERE Id=? AND IsDeleted=0',
                             (rid,)).fetchone() if rid else None
        key = (rid or str(raw))[:15]
        ok = False
        if row is not None:
            status, article = row
            if name == "publishKnowledgeArticles" and status == "Draft":
                # §2.4 / behaviour 13: the previous Online version of the article is archived (new version) or
                # replaced; the draft goes Online
                prior = "Archived" if pub == "PUBLISH_ARTICLE_NEW_VERSION" else None
                for (old,) in org.db.execute(f'SELECT Id FROM "{KAV}" WHERE KnowledgeArticleId=? AND '
                                             "PublishStatus='Online' AND IsDeleted=0", (article,)).fetchall():
                    if prior:
                        org.db.execute(f'UPDATE "{KAV}" SET PublishStatus=? WHERE Id=?', (prior, old))
                    else:
                        org.db.execute(f'UPDATE "{KAV}" SET IsDeleted=1 WHERE Id=?', (old,))
                org.db.execute(f'UPDATE "{KAV}" SET PublishStatus=\'Online\' WHERE Id=?', (rid,))
                ok = True
            elif name == "archiveKnowledgeArticles" and status == "Online":
                org.db.execute(f'UPDATE "{KAV}" SET PublishStatus=\'Archived\' WHERE Id=?', (rid,))
                ok = True
            elif name == "deleteKnowledgeArticles" and status in ("Draft", "Archived"):  # §2.5
                from .org import WriteOptions

                ok = org.delete([rid], opts=WriteOptions(admin=True))[0].success
        outputs[key] = "Success" if ok else ACTION_FAILED
    success = all(v == "Success" for v in outputs.values())
    return {"actionName": name, "errors": None if success else [
        {"statusCode": "UNKNOWN_EXCEPTION", "message": ACTION_FAILED, "fields": []}],
        "isSuccess": success, "outputValues": outputs}
