"""``ThreadSource``: hdm's Thread bundle (docs/thread-bundle.md) read on the export source's machinery.

The bundle is checked as a whole before anything runs (the manifest against its schema, every file against the
manifest, every line against its file's JSON Schema, then the cross-file checks below), staged, planned into
:class:`FileSlice` chunks by file offsets and extracted into canonical model v2 records (``records.py``).

Cross-file checks: a review response whose review is not in the bundle, a message whose ticket is not, and an
attachment whose message or ticket is not, are *orphans*: listed by discover (file and line) and written to the
stage next to the bundle (``checks/orphans.json``); extraction flags each one (severity error) and keeps its parent
reference, so the destination never loads it without its parent (it is skipped, with its reason, in the
reconciliation report). In a declared delta bundle, the parent may be in its base bundle: the same records are
flagged ``parent_in_base`` instead.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from array import array
from collections import Counter
from typing import Any, Optional

from hdm.model import Record
from hdm.sources.base import ChunkSpec, Discovery, iter_lines
from hdm.sources.export.bundle import (
    MANIFEST,
    BundleProfile,
    FileEntry,
    Manifest,
    Problems,
    StagedBundle,
    read_manifest,
    validate,
)
from hdm.sources.export.errors import ExportBundleError
from hdm.sources.export.source import ExportSource
from hdm.sources.thread import records as thread_records

FORMAT = "hdm-thread-bundle"
FORMAT_VERSIONS = (1,)
ORPHANS = "checks/orphans.json"
MAX_LISTED = 200  # orphans listed by discover; all of them are flagged

THREAD = BundleProfile(FORMAT, FORMAT_VERSIONS, thread_records.manifest_schema, thread_records.check_line,
                       canonical_records=False, object_types=frozenset(thread_records.OBJECT_TYPES))

# (child file, its reference field, the parent file, the flag code)
LINKS = (("review_response", "review_id", "review", "orphan_response"),
         ("message", "ticket_id", "ticket", "orphan_message"),
         ("attachment", "message_id", "message", "orphan_attachment"),
         ("attachment", "ticket_id", "ticket", "orphan_attachment"))


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), signed=True)


class CrossFileCheck:
    """Collects every id and every reference as 8-byte digests in flat arrays (8 bytes per id, 32 per reference:
    no Python object per line), then lists the references whose parent is not in the bundle, reading the orphans'
    own lines again for their ids."""

    def __init__(self, files: Any) -> None:
        self.files = files
        self.ids: dict[str, array] = {}
        self.refs = array("q")  # (file index, line, link index, parent digest) per reference
        self.paths: list[str] = []
        self.orphans: list[dict[str, Any]] = []
        self.canonical: Counter = Counter()  # canonical type → records extraction yields

    def line(self, entry: FileEntry, line_no: int, parsed: Any) -> None:
        self.canonical.update(thread_records.canonical_types(parsed, entry.object_type))
        self.ids.setdefault(entry.object_type, array("q")).append(_digest(parsed["id"]))
        for n, (child, field, _parent, _code) in enumerate(LINKS):
            if entry.object_type == child and parsed.get(field):
                if not self.paths or self.paths[-1] != entry.path:
                    self.paths.append(entry.path)
                self.refs.extend((len(self.paths) - 1, line_no, n, _digest(parsed[field])))

    def finish(self, problems: Problems) -> None:
        known = {t: sorted(a) for t, a in self.ids.items()}
        self.ids = {}
        missing: dict[str, dict[int, int]] = {}  # path → line → link index
        refs, self.refs = self.refs, array("q")
        for i in range(0, len(refs), 4):
            path_i, line_no, n, ref = refs[i:i + 4]
            have = known.get(LINKS[n][2], [])
            at = bisect.bisect_left(have, ref)
            if at == len(have) or have[at] != ref:
                missing.setdefault(self.paths[path_i], {})[line_no] = n
        for path, lines in missing.items():  # rare: read those lines again for their ids
            with self.files.open(path) as f:
                for line_no, raw in enumerate(iter_lines(f), start=1):
                    if line_no in lines:
                        d = json.loads(raw)
                        child, field, parent, code = LINKS[lines[line_no]]
                        self.orphans.append({"file": path, "line": line_no, "object_type": child, "id": d["id"],
                                             "parent_type": parent, "parent": d[field], "code": code})


class ThreadSource(ExportSource):
    system = thread_records.SYSTEM
    profile = THREAD

    def __init__(self, path: Optional[str] = None, staged: Optional[str] = None):
        super().__init__(path=path, staged=staged)
        self._orphans: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # prefix → (type, id) → orphan
        self._cross: dict[str, list[dict[str, Any]]] = {}
        self._canonical: dict[str, dict[str, int]] = {}  # bundle id → canonical type → records
        self._manifests: dict[str, Manifest] = {}

    # -- validation with the cross-file checks ---------------------------------------------------------

    def _validate(self, files: Any) -> tuple[Manifest, dict[str, Any]]:
        check = CrossFileCheck(files)
        manifest, found = validate(files, full=True, profile=self.profile, observer=check)
        found = {**found}
        self._cross[manifest.bundle_id] = check.orphans
        self._canonical[manifest.bundle_id] = dict(check.canonical)
        return manifest, found

    def stage_input(self, stage: Any, path: Any) -> list[str]:
        keys = super().stage_input(stage, path)
        self._write_orphans(stage, keys[0].removesuffix(MANIFEST))
        return keys

    def _write_orphans(self, stage: Any, prefix: str) -> None:
        bundle_id = prefix.rstrip("/").rsplit("-", 1)[-1]
        if bundle_id in self._cross:
            stage.put_json(prefix + ORPHANS, {"orphans": self._cross[bundle_id]})

    def discover(self) -> Discovery:
        found = super().discover()
        bundle_id = found.details["bundle_id"]
        if self.stage is not None and found.details["staged"].startswith("inputs/"):
            if not self.stage.exists(found.details["staged"] + ORPHANS):
                self._write_orphans(self.stage, found.details["staged"])
        orphans = self._cross.get(bundle_id, [])
        manifest = self._checked.get(found.details["staged"], (None,))[0]
        delta = manifest is not None and manifest.data.get("kind") == "delta"
        found.details["kind"] = manifest.data.get("kind", "full") if manifest is not None else None
        if delta:
            found.details["base"] = manifest.data.get("base")
        found.details["orphans"] = {
            "count": len(orphans),
            "meaning": ("a parent not in this delta bundle is expected in its base bundle (flagged parent_in_base)"
                        if delta else "flagged (severity error) and never loaded without its parent"),
            "listed": [f"{o['file']}:{o['line']}: {o['object_type']} {o['id']}: its {o['parent_type']} "
                       f"{o['parent']} is not in the bundle" for o in orphans[:MAX_LISTED]],
        }
        return found

    def _discovery(self, checked: tuple[Manifest, dict[str, Any]], where: str) -> Discovery:
        """Counts per canonical type, as extraction yields them (a review line: its ticket, its body message,
        its rating; a user line: an agent or a contact), every planned type counted (0 when none); the counts per
        bundle file stay in the details (``bundle_counts``, and ``files`` per file)."""
        out = super()._discovery(checked, where)
        manifest = checked[0]
        canonical = {t: 0 for e in manifest.files
                     for t in thread_records.EMITS.get(e.object_type, thread_records.PRIMARY[e.object_type])}
        canonical.update(self._canonical[manifest.bundle_id])
        out.details["bundle_counts"] = dict(out.counts)
        out.counts = dict(sorted(canonical.items()))
        out.details.pop("model_schema_version", None)
        out.details["kind"] = checked[0].data.get("kind", "full")
        return out

    # -- planning and extraction -------------------------------------------------------------------------

    def plan(self, chunk_rows: int) -> list[ChunkSpec]:
        """The export source's line slices of each file, one chunk per canonical type the file's lines become
        (a review file: its tickets, its body messages, its ratings), the Thread file named in the cursor."""
        out: list[ChunkSpec] = []
        for spec in super().plan(chunk_rows):
            file_type = spec.object_type
            for canonical in thread_records.EMITS.get(file_type, thread_records.PRIMARY[file_type]):
                out.append(ChunkSpec(canonical, {**spec.cursor, "thread_file": file_type}, spec.estimated_rows))
        return out

    def records(self, raw: bytes, chunk: ChunkSpec, bundle: StagedBundle) -> list[Record]:
        file_type = str(chunk.cursor.get("thread_file") or chunk.object_type)
        object_type = chunk.object_type
        data = thread_records.parse(raw, file_type)
        recs = [r for r in thread_records.to_canonical(data, file_type, self._version(bundle))
                if r.OBJECT.value == object_type]
        if not recs:
            return recs
        object_type = file_type
        if object_type in ("review_response", "message", "attachment"):
            orphan = self._orphans_of(bundle).get((object_type, data["id"]))
            if orphan is not None:
                primary = recs[0]
                if self._is_delta(bundle):
                    primary.flag("parent_in_base", f"its {orphan['parent_type']} is not in this delta bundle; "
                                 "expected in its base bundle", field=orphan["parent_type"], severity="warning")
                else:
                    primary.flag(orphan["code"], f"its {orphan['parent_type']} is not in the bundle: never loaded "
                                 "without it", field=orphan["parent_type"], severity="error")
        return recs

    def _manifest(self, prefix: str) -> Manifest:
        checked = self._checked.get(prefix)
        if checked:
            return checked[0]
        if prefix not in self._manifests:
            self._manifests[prefix] = read_manifest(StagedBundle(self.require_stage(), prefix), self.profile)
        return self._manifests[prefix]

    def _version(self, bundle: StagedBundle) -> Optional[str]:
        return self._manifest(bundle.prefix).data.get("producer", {}).get("version")

    def _is_delta(self, bundle: StagedBundle) -> bool:
        return self._manifest(bundle.prefix).data.get("kind") == "delta"

    def _orphans_of(self, bundle: StagedBundle) -> dict[tuple[str, str], dict[str, Any]]:
        if bundle.prefix not in self._orphans:
            key = bundle.key(ORPHANS)
            if not bundle.stage.exists(key):  # staged by another process before discover wrote it: check now
                self._validate(bundle)
                self._write_orphans(bundle.stage, bundle.prefix)
            listed = bundle.stage.get_json(key)["orphans"]
            self._orphans[bundle.prefix] = {(o["object_type"], o["id"]): o for o in listed}
        return self._orphans[bundle.prefix]

    # -- a bundle that changed between runs -------------------------------------------------------------

    def _changed_bundle(self, stage: Any, planned: str, configured: str) -> None:
        """The config names another bundle than the planned one: a declared delta of the planned bundle is
        recognised (and refused with what to do: applying a delta to a migration is not implemented yet);
        anything else falls through to the export source's refusal."""
        try:
            if self.staged is None and self.path:
                from hdm.sources.export.source import opened_bundle

                with opened_bundle(self.path) as local:
                    manifest = read_manifest(local, self.profile)
            else:
                manifest = read_manifest(StagedBundle(stage, configured), self.profile)
        except ExportBundleError:
            return
        planned_id = planned.rstrip("/").rsplit("-", 1)[-1]
        if manifest.data.get("kind") == "delta" and manifest.data.get("base") == planned_id:
            raise ExportBundleError(
                f"the config now names a delta bundle ({manifest.bundle_id}) declared on this migration's bundle "
                f"({planned_id}); applying a delta to a planned migration is not implemented yet (issue 17): "
                "migrate the delta under a new migration id (its records upsert by their legacy ids)")
