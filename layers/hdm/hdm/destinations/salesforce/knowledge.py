"""Knowledge articles and their categories: canonical KbCategory → Topic, KbArticle → Knowledge__kav (+ a
TopicAssignment linking the article to its category's Topic). Facts: ``shared/reference/notes/salesforce-next.md``
§2 (Knowledge) and §3 (Topics).

- ``topics``: one Topic per category. Topics are flat (§3), so the parent chain goes into the Topic's Description
  (``Path: A / B / C``). Names are at most 99 characters and unique case-insensitively: a name that is cut is
  flagged; two categories whose names fold to the same Topic share it (the second flagged
  ``topic_name_collision``); a Topic already in the org is used as it is (``matched``, never deleted by rollback).
- ``knowledge``: a Draft ``Knowledge__kav`` per article (Title, UrlName, Summary, the org's rich-text body field,
  Language from the locale). UrlName is made valid (letters, digits, hyphens; §2.2) from the article's url_name or
  title, and made unique: the source id is appended when the plain slug is taken by another article (§2.6).
  Articles in state ``published`` are published with the standard action ``publishKnowledgeArticles``
  (PUBLISH_ARTICLE), ``archived`` ones are published and then archived (``archiveKnowledgeArticles``); drafts stay
  drafts (§2.4). Lightning Knowledge not enabled (no ``Knowledge__kav`` in the org) → every article is held:
  "not migrated: Knowledge disabled". There is no External ID on Knowledge (§2.3, [unverified]): a re-run finds its
  article through the crosswalk, or by UrlName and Title (a fresh state folder).
- ``topic_assignments``: article → its category's Topic, known by (TopicId, EntityId), which the org keeps unique;
  the links already on the articles are read first, so a re-run inserts nothing twice.
- rollback (§2.5): published versions cannot be deleted: Online versions are archived, then every version is
  deleted with ``deleteKnowledgeArticles``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Optional

from hdm.crosswalk.base import CrosswalkEntry, Origin, State, now_iso
from hdm.destinations.salesforce.api import RowResult, SalesforceApi
from hdm.destinations.salesforce.chunk import ChunkRun, payload_of

KAV = "Knowledge__kav"
TOPIC = "Topic"
TA = "TopicAssignment"
TOPIC_NAME_MAX = 99  # §3
TOPIC_DESCRIPTION_MAX = 1000  # §3
TITLE_MAX = 255  # §2.2
URL_NAME_MAX = 255  # §2.2
SUMMARY_MAX = 1000  # §2.2
DEFAULT_BODY_FIELD = "Body__c"  # the org defines its rich-text body field (§2.2); mapping policy knowledge_body_field
KNOWLEDGE_DISABLED = "not migrated: Knowledge disabled (Lightning Knowledge is not enabled in the org: no " \
                     "Knowledge__kav object)"
ACTION_BATCH = 100  # article version ids per action call
STATES_PUBLISHED = ("published", "archived")


# -- transform helpers -------------------------------------------------------------------------------------

def fold(name: str) -> str:
    """How the org compares Topic names (case-insensitively, spacing collapsed)."""
    return " ".join(str(name or "").split()).casefold()


def slug(text: str) -> str:
    """A valid UrlName: ASCII letters, digits and single hyphens, no hyphen at either end (§2.2)."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    out = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")
    return out[:URL_NAME_MAX].rstrip("-")


def url_names(url_name: Optional[str], title: str, source_id: str) -> tuple[str, str]:
    """(the preferred UrlName, the de-duplicated one with the source id appended)."""
    base = slug(url_name or "") or slug(title) or "article"
    suffix = "-" + (slug(source_id) or "x")
    alt = base[:URL_NAME_MAX - len(suffix)].rstrip("-") + suffix
    return base, alt


def language_candidates(locale: Optional[str]) -> list[str]:
    """Salesforce language codes to try for a locale, most specific first ("pt-BR" → pt_BR, pt)."""
    if not locale:
        return []
    code = str(locale).strip().replace("-", "_")
    parts = code.split("_")
    out = [f"{parts[0].lower()}_{parts[1].upper()}" if len(parts) > 1 else parts[0].lower()]
    if len(parts) > 1:
        out.append(parts[0].lower())
    if out[0].lower() == "en":
        out.append("en_US")
    return out


def pick_language(rows: list[dict[str, Any]], describe_fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Choose the first candidate the org's Language picklist has; flag a locale it has none of (the org's
    default language is used)."""
    meta = describe_fields.get("Language") or {}
    active = {v["value"] for v in meta.get("picklistValues") or [] if v.get("active")}
    flags: list[dict[str, Any]] = []
    for row in rows:
        cands = row.pop("_languages", None)
        if not cands:
            continue
        hit = next((c for c in cands if c in active), None) if active else cands[0]
        if hit:
            row["Language"] = hit
        else:
            flags.append({
                "source_key": row["_source_key"], "code": "language_not_active", "field": "Language",
                "severity": "warning", "reason": f"locale {cands[0]!r} is not an active Knowledge language of the "
                                                 "org: the article is in the org's default language"})
    return flags


# -- loaders ---------------------------------------------------------------------------------------------

def _hold(run: ChunkRun, row: dict[str, Any], obj: str, entries: list[CrosswalkEntry]) -> bool:
    if not row.get("_hold"):
        return False
    run.outcome(row["_source_key"], obj, "held", None, "HELD", row["_hold"])
    entries.append(run.entry(row["_source_key"], obj, State.HELD, reason=row["_hold"], row=row))
    return True


def _prior(prior: dict[str, list[CrosswalkEntry]], key: str, obj: str) -> Optional[CrosswalkEntry]:
    return next((e for e in prior.get(key, []) if e.dest_object == obj), None)


def load_topics(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    entries: list[CrosswalkEntry] = []
    todo = []
    for row in rows:
        before = _prior(prior, row["_source_key"], TOPIC)
        if before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(row["_source_key"], TOPIC, "unchanged", before.dest_id)
            continue
        if not _hold(run, row, TOPIC, entries):
            todo.append(row)
    if todo:
        # Topics already in the org (this migration's from another chunk or run, or the org's own): by folded name
        names = sorted({r["Name"] for r in todo})
        there: dict[str, str] = {}
        for t in run.api.query_in("Id, Name", TOPIC, "Name", names):
            there.setdefault(fold(t["Name"]), t["Id"])
        send: list[dict[str, Any]] = []
        firsts: dict[str, dict[str, Any]] = {}
        twins: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for row in todo:
            f = fold(row["Name"])
            if f in there:  # the org's own Topic, or one another chunk of this migration made
                run.outcome(row["_source_key"], TOPIC, "matched", there[f], None,
                            "a Topic of this name is there already: the category uses it")
                run.flag(row["_source_key"], "topic_name_collision", f"a Topic named like {row['Name']!r} exists "
                         "already (the org's own or another category's: Topic names are unique without case): the "
                         f"category uses it; its path here: {row.get('_path')}", "Name", "info")
                entries.append(run.entry(row["_source_key"], TOPIC, State.LOADED, Origin.MATCHED, there[f], row=row))
            elif f in firsts:
                twins.append((row, firsts[f]))
            else:
                firsts[f] = row
                send.append(row)
        if send:
            stamp = now_iso()
            run.crosswalk.put_many([run.entry(r["_source_key"], TOPIC, State.PENDING, updated_at=stamp) for r in send])
            results = {r.key: r for r in run.api.collection_insert(
                TOPIC, [r["_source_key"] for r in send], [payload_of(r) for r in send])}
            stamp = now_iso()
            for row in send:
                entries.append(run.record(row["_source_key"], TOPIC, results[row["_source_key"]], Origin.CREATED, row,
                                          None, updated_at=stamp))
        ids = {e.source_key: e.dest_id for e in entries if e.state == State.LOADED}
        for row, first in twins:
            target = ids.get(first["_source_key"])
            if target is None:
                run.outcome(row["_source_key"], TOPIC, "skipped", None, "MERGE_TARGET_MISSING",
                            "the category of the same name was not loaded")
                entries.append(run.entry(row["_source_key"], TOPIC, State.SKIPPED, reason="same-name category not "
                                         "loaded", row=row))
                continue
            run.outcome(row["_source_key"], TOPIC, "matched", target, None, "same Topic name as another category")
            run.flag(row["_source_key"], "topic_name_collision", f"another category is also named {row['Name']!r} "
                     f"(Topic names are unique without case): both use one Topic; its path here: {row.get('_path')}",
                     "Name")
            entries.append(run.entry(row["_source_key"], TOPIC, State.LOADED, Origin.MERGED, target, row=row))
    run.crosswalk.put_many(entries)


def _action(api: SalesforceApi, name: str, ids: list[str], **extra: Any) -> dict[str, bool]:
    """Run a Knowledge standard action on version ids; per id (15-character form too) whether it succeeded."""
    done: dict[str, bool] = {}
    for i in range(0, len(ids), ACTION_BATCH):
        part = ids[i:i + ACTION_BATCH]
        res = api.action(name, [{"articleVersionIdList": part, **extra}])
        outputs = (res[0].get("outputValues") or {}) if res else {}
        for vid in part:
            done[vid] = outputs.get(vid[:15]) == "Success" or outputs.get(vid) == "Success"
    return done


def load_knowledge(run: ChunkRun, rows: list[dict[str, Any]], enabled: bool) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    entries: list[CrosswalkEntry] = []
    todo: list[dict[str, Any]] = []
    known: dict[str, str] = {}  # source key -> version id from an earlier run
    for row in rows:
        if not enabled:
            row["_hold"] = KNOWLEDGE_DISABLED
        if _hold(run, row, KAV, entries):
            continue
        before = _prior(prior, row["_source_key"], KAV)
        if before is not None and before.state == State.LOADED and before.dest_id:
            known[row["_source_key"]] = before.dest_id
        todo.append(row)
    if not todo:
        run.crosswalk.put_many(entries)
        return
    # what is in the org: the crosswalk's versions, and the candidate UrlNames (a fresh folder, other articles)
    status: dict[str, str] = {}
    if known:
        for r in run.api.query_in("Id, PublishStatus", KAV, "Id", sorted(known.values())):
            status[r["Id"]] = r["PublishStatus"]
    urls = sorted({u for r in todo for u in (r["UrlName"], r["_url_alt"])})
    body = next((r["_body_field"] for r in todo if r.get("_body_field") in r), None)  # the mapped body field
    by_url = {r["UrlName"]: r for r in run.api.query_in(
        "Id, UrlName, Title, PublishStatus" + (f", {body}" if body else ""), KAV, "UrlName", urls,
        "PublishStatus IN ('Draft','Online','Archived')")}
    send: list[dict[str, Any]] = []
    update: list[dict[str, Any]] = []
    taken: set[str] = set(by_url)
    stamp = now_iso()
    for row in todo:
        key = row["_source_key"]
        vid = known.get(key)
        if vid and vid in status:
            row["_id"], row["_status"] = vid, status[vid]
        else:
            # this article, loaded by a run whose crosswalk is gone: its de-duplicated URL name (it carries the
            # source id), or its plain one with the same title and body (Knowledge takes no External ID, §2.3)
            mine = by_url.get(row["_url_alt"])
            plain = by_url.get(row["UrlName"])
            if mine is None and plain is not None and plain["Title"] == row["Title"] and (
                    body is None or (plain.get(body) or "") == (row.get(body) or "")):
                mine = plain
            if mine is not None:
                row["_id"], row["_status"] = mine["Id"], mine["PublishStatus"]
                row["UrlName"] = mine["UrlName"]
                taken.add(mine["UrlName"])
                run.flag(key, "found_existing", "the article was in the org already (same URL name and content): "
                         "used, not created again", "UrlName", "info")
        if row.get("_id"):
            if row["_status"] == "Draft":
                update.append(row)
            else:
                run.outcome(key, KAV, "unchanged", row["_id"], None, f"already {row['_status']}: a published "
                            "article is not edited again")
                entries.append(run.entry(key, KAV, State.LOADED, Origin.CREATED, row["_id"], row=row,
                                         updated_at=stamp))
            continue
        if row["UrlName"] in taken:
            row["UrlName"] = row["_url_alt"]
            run.flag(key, "url_name_deduplicated", f"URL name taken by another article: {row['UrlName']!r} used",
                     "UrlName", "info")
        taken.add(row["UrlName"])
        send.append(row)
    results: dict[str, RowResult] = {}
    if send:
        run.crosswalk.put_many([run.entry(r["_source_key"], KAV, State.PENDING, updated_at=stamp) for r in send])
        results.update({r.key: r for r in run.api.collection_insert(
            KAV, [r["_source_key"] for r in send], [payload_of(r) for r in send])})
        again = [r for r in send if not results[r["_source_key"]].success
                 and results[r["_source_key"]].error_code == "DUPLICATE_VALUE" and r["UrlName"] != r["_url_alt"]]
        for r in again:  # another chunk took the slug meanwhile
            r["UrlName"] = r["_url_alt"]
            run.flag(r["_source_key"], "url_name_deduplicated", f"URL name taken by another article: "
                     f"{r['UrlName']!r} used", "UrlName", "info")
        if again:
            results.update({r.key: r for r in run.api.collection_insert(
                KAV, [r["_source_key"] for r in again], [payload_of(r) for r in again])})
    if update:
        payloads = [{"Id": r["_id"], **{k: v for k, v in payload_of(r).items() if k != "Language"}} for r in update]
        for r, res in zip(update, run.api.collection_update(KAV, payloads), strict=True):
            results[r["_source_key"]] = RowResult(r["_source_key"], res.success, r["_id"], False, res.error_code,
                                                  res.message, res.fields)
    stamp = now_iso()
    loaded: list[dict[str, Any]] = []
    for row in send + update:
        before = _prior(prior, row["_source_key"], KAV)
        entry = run.record(row["_source_key"], KAV, results[row["_source_key"]], Origin.CREATED, row, before,
                           updated_at=stamp)
        entries.append(entry)
        if entry.state == State.LOADED:
            row["_id"] = entry.dest_id
            loaded.append(row)
    _publish(run, loaded)
    run.crosswalk.put_many(entries)


def _publish(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    """Drafts whose article is published (or archived) in the source go Online (then Archived) (§2.4)."""
    to_publish = [r for r in rows if r.get("_state") in STATES_PUBLISHED]
    if not to_publish:
        return
    published = _action(run.api, "publishKnowledgeArticles", [r["_id"] for r in to_publish],
                        pubAction="PUBLISH_ARTICLE")
    for r in to_publish:
        if not published.get(r["_id"]):
            run.flag(r["_source_key"], "publish_failed", "the article is loaded but the org refused to publish it: "
                     "it stays a draft", "PublishStatus")
    archive = [r for r in to_publish if r.get("_state") == "archived" and published.get(r["_id"])]
    if archive:
        archived = _action(run.api, "archiveKnowledgeArticles", [r["_id"] for r in archive])
        for r in archive:
            if not archived.get(r["_id"]):
                run.flag(r["_source_key"], "archive_failed", "the article is published but the org refused to "
                         "archive it", "PublishStatus")


def load_topic_assignments(run: ChunkRun, rows: list[dict[str, Any]]) -> None:
    prior = run.existing(r["_source_key"] for r in rows)
    resolved = run.resolve({v for r in rows for v in r["_lookups"].values() if v})
    entries: list[CrosswalkEntry] = []
    todo: list[dict[str, Any]] = []
    for row in rows:
        key = row["_source_key"]
        before = _prior(prior, key, TA)
        if before is not None and before.state == State.LOADED and before.dest_id:
            run.outcome(key, TA, "unchanged", before.dest_id)
            continue
        if _hold(run, row, TA, entries):
            continue
        topic, entity = resolved.get(row["_lookups"]["TopicId"]), resolved.get(row["_lookups"]["EntityId"])
        if topic is None or entity is None:
            why = "its category's Topic" if topic is None else "its article"
            run.outcome(key, TA, "skipped", None, "PARENT_NOT_LOADED", f"{why} was not loaded: not linked")
            entries.append(run.entry(key, TA, State.SKIPPED, reason=f"{why} was not loaded", row=row))
            continue
        row["TopicId"], row["EntityId"] = topic, entity
        todo.append(row)
    there: dict[tuple[str, str], str] = {}
    if todo:
        for r in run.api.query_in("Id, TopicId, EntityId", TA, "EntityId", {r["EntityId"] for r in todo}):
            there[(r["TopicId"][:15], r["EntityId"][:15])] = r["Id"]
    send = []
    for row in todo:
        nat = (row["TopicId"][:15], row["EntityId"][:15])
        if nat in there:
            run.outcome(row["_source_key"], TA, "unchanged", there[nat], None, "already linked (an earlier run)")
            entries.append(run.entry(row["_source_key"], TA, State.LOADED, Origin.CREATED, there[nat], row=row))
        else:
            there[nat] = ""
            send.append(row)
    if send:
        stamp = now_iso()
        run.crosswalk.put_many([run.entry(r["_source_key"], TA, State.PENDING, updated_at=stamp) for r in send])
        results = {r.key: r for r in run.api.collection_insert(
            TA, [r["_source_key"] for r in send], [{"TopicId": r["TopicId"], "EntityId": r["EntityId"]} for r in send])}
        stamp = now_iso()
        for row in send:
            entries.append(run.record(row["_source_key"], TA, results[row["_source_key"]], Origin.CREATED, row, None,
                                      updated_at=stamp))
    run.crosswalk.put_many(entries)


def verifiable_rows(rows: list[dict[str, Any]], body_field: Optional[str]) -> list[dict[str, Any]]:
    """Article rows as verification reads them back: the UrlName the loader chose (it may carry the source id)
    is not compared, nor a body field the org does not have."""
    out = []
    for row in rows:
        r = {k: v for k, v in row.items() if k != "UrlName"}
        if body_field is None and r.get("_body_field"):
            r.pop(r["_body_field"], None)
        out.append(r)
    return out


# -- rollback --------------------------------------------------------------------------------------------

def rollback_articles(api: SalesforceApi, entries: list[CrosswalkEntry]) -> list[CrosswalkEntry]:
    """Archive the Online versions, then delete every version (§2.5). Returns the entries whose article is gone."""
    mine = [e for e in entries if e.dest_object == KAV and e.origin == Origin.CREATED and e.dest_id]
    if not mine:
        return []
    status = {r["Id"][:15]: r["PublishStatus"] for r in api.query_in("Id, PublishStatus", KAV, "Id",
                                                                       sorted({e.dest_id for e in mine}))}
    online = sorted({e.dest_id for e in mine if status.get(e.dest_id[:15]) == "Online"})
    if online:
        _action(api, "archiveKnowledgeArticles", online)
    present = sorted({e.dest_id for e in mine if e.dest_id[:15] in status})
    deleted = _action(api, "deleteKnowledgeArticles", present) if present else {}
    return [e for e in mine if e.dest_id[:15] not in status or deleted.get(e.dest_id)]
