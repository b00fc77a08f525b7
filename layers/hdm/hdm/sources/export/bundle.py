"""The bundle in a folder, in a zip or in the stage, and its validation (docs/export-bundle.md).

Layout: ``manifest.json``; one ``<object_type>.jsonl`` per canonical object type (one record per line, as
``record.to_dict()`` writes it); attachment bytes under ``files/<sha256>``. :func:`validate` checks, before anything
runs, the manifest against its JSON Schema, then every file against the manifest (bytes, sha256, line count) and,
in full mode, every line (JSON, a record of its file's type); every problem is reported with its file and line.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any, Optional, Protocol

import jsonschema

from hdm.sources.base import iter_lines
from hdm.sources.export.errors import BundleInvalid, ExportBundleError
from hdm.sources.export.records import LineRefused, model_schema_version, parse_line

FORMAT = "hdm-export-bundle"
FORMAT_VERSIONS = (1,)  # the versions this reader understands
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 << 20
MAX_PROBLEMS = 200  # listed; the rest are counted
BLOCK = 1 << 20
FILE_PATH = re.compile(r"^[a-z][a-z_]{0,62}(-[0-9]{1,6})?\.jsonl$")
BLOB_PATH = re.compile(r"^files/[0-9a-f]{64}$")


@functools.cache
def manifest_schema() -> dict[str, Any]:
    return json.loads(resources.files("hdm.sources.export").joinpath("manifest.schema.json").read_text("utf-8"))


def _canonical_line(raw: bytes, object_type: str) -> tuple[str, bool, Any]:
    rec = parse_line(raw, object_type)
    return rec.provenance.id, bool(rec.flags), rec


@dataclass(frozen=True)
class BundleProfile:
    """What distinguishes one bundle format built on this machinery from another (the export bundle, the Thread
    bundle ...): the manifest's ``format`` and versions, its JSON Schema, whether its records are canonical ones of
    this hdm's model version, and how one line is checked: ``check_line(raw, object_type)`` returns (the line's
    identity, whether it was flagged, the parsed line) or raises :class:`LineRefused`."""

    format: str
    versions: tuple[int, ...]
    schema: Callable[[], dict[str, Any]]
    check_line: Callable[[bytes, str], tuple[str, bool, Any]]
    canonical_records: bool = True
    object_types: Optional[frozenset[str]] = None  # the file object types the format knows (None: any)


EXPORT = BundleProfile(FORMAT, FORMAT_VERSIONS, manifest_schema, _canonical_line)


class LineObserver(Protocol):
    """Sees every valid line while a bundle is validated (cross-file checks); ``finish`` adds its problems."""

    def line(self, entry: FileEntry, line_no: int, parsed: Any) -> None: ...

    def finish(self, problems: _Problems) -> None: ...


# -- where the bundle's files are ----------------------------------------------------------------

class BundleFiles(Protocol):
    """Read access to a bundle's files by their bundle-relative names (``manifest.json``, ``ticket.jsonl``...)."""

    def open(self, name: str) -> AbstractContextManager[IO[bytes]]: ...

    def exists(self, name: str) -> bool: ...


class FolderBundle:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        if name.startswith("/") or ".." in name.split("/"):
            raise ExportBundleError("not a bundle file name", file=name)
        return self.root / name

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        try:
            f = open(self._path(name), "rb")
        except FileNotFoundError:
            raise ExportBundleError("missing from the bundle", file=name) from None
        with f:
            yield f

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


class ZipBundle:
    """A zip of the bundle folder: the files at the top, or inside one top folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportBundleError(f"not a readable zip ({type(exc).__name__})", file=self.path.name) from None
        names = {i.filename for i in self.zip.infolist() if not i.is_dir()}
        roots = sorted(n[: -len(MANIFEST)] for n in names if n == MANIFEST or (
            n.endswith("/" + MANIFEST) and n.count("/") == 1))
        if len(roots) != 1:
            raise ExportBundleError("holds no manifest.json at its top (or in one top folder)" if not roots else
                                    "holds several manifest.json", file=self.path.name)
        self.base = roots[0]
        self.names = {n[len(self.base):] for n in names if n.startswith(self.base)}

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if name not in self.names:
            raise ExportBundleError("missing from the bundle", file=name)
        with self.zip.open(self.base + name) as f:
            yield f

    def exists(self, name: str) -> bool:
        return name in self.names

    def close(self) -> None:
        self.zip.close()


class StagedBundle:
    """A bundle staged under ``prefix`` (``inputs/bundle-<id>/``) of a stage."""

    def __init__(self, stage: Any, prefix: str):
        self.stage = stage
        self.prefix = prefix.rstrip("/") + "/"

    def key(self, name: str) -> str:
        return self.prefix + name

    def open(self, name: str) -> AbstractContextManager[IO[bytes]]:
        if not self.stage.exists(self.key(name)):
            raise ExportBundleError("missing from the staged bundle", file=name)
        return self.stage.open_read(self.key(name))

    def exists(self, name: str) -> bool:
        return self.stage.exists(self.key(name))


def open_local(path: str | Path) -> FolderBundle | ZipBundle:
    p = Path(path)
    if p.is_dir():
        return FolderBundle(p)
    if p.is_file():
        return ZipBundle(p)
    raise ExportBundleError("no bundle folder or zip there", file=str(p))


# -- the manifest --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileEntry:
    path: str
    object_type: str
    lines: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]
    raw: bytes
    files: list[FileEntry] = field(default_factory=list)
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)  # path → {bytes, sha256}

    @property
    def bundle_id(self) -> str:
        """The bundle's identity: its manifest's digest (which holds every file's digest)."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.object_type] = out.get(f.object_type, 0) + f.lines
        return out


def read_manifest(files: BundleFiles, profile: BundleProfile = EXPORT) -> Manifest:
    """The manifest, checked against its JSON Schema and this reader's versions (:class:`BundleInvalid`)."""
    with files.open(MANIFEST) as f:
        raw = f.read(MAX_MANIFEST_BYTES + 1)
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ExportBundleError(f"larger than {MAX_MANIFEST_BYTES} bytes", file=MANIFEST)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise ExportBundleError(f"not JSON ({getattr(exc, 'msg', type(exc).__name__)})", file=MANIFEST,
                                line=line) from None
    problems = [f"{MANIFEST}: {'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:200]}"
                for e in sorted(jsonschema.Draft202012Validator(profile.schema()).iter_errors(data),
                                key=lambda e: [str(p) for p in e.absolute_path])]
    if problems:
        raise BundleInvalid(problems)
    if data["format_version"] not in profile.versions:
        raise ExportBundleError(f"format_version {data['format_version']} is not one this hdm reads "
                                f"({', '.join(map(str, profile.versions))}); use a newer hdm", file=MANIFEST)
    if profile.canonical_records and data["model_schema_version"] != model_schema_version():
        raise ExportBundleError(f"its records are of canonical model schema {data['model_schema_version']}; this hdm "
                                f"reads schema {model_schema_version()}: write the bundle again with this hdm",
                                file=MANIFEST)
    entries = [FileEntry(**f) for f in data["files"]]
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            problems.append(f"{MANIFEST}: {e.path} is listed twice")
        seen.add(e.path)
        if not FILE_PATH.match(e.path) or e.path.rsplit(".", 1)[0].split("-")[0] != e.object_type:
            problems.append(f"{MANIFEST}: {e.path} must be named after its object type ({e.object_type}.jsonl, or "
                            f"{e.object_type}-<n>.jsonl for one part of several)")
        if profile.object_types is not None and e.object_type not in profile.object_types:
            problems.append(f"{MANIFEST}: {e.path}: {e.object_type!r} is not an object type of {profile.format} "
                            f"({', '.join(sorted(profile.object_types))})")
    attachments = {}
    for a in data.get("attachments", []):
        if a["path"] != f"files/{a['sha256']}":
            problems.append(f"{MANIFEST}: attachment {a['path']} is not named by its sha256")
        attachments[a["path"]] = {"bytes": a["bytes"], "sha256": a["sha256"]}
    if problems:
        raise BundleInvalid(problems)
    return Manifest(data, raw, entries, attachments)


# -- validation ----------------------------------------------------------------------------------

class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(text)
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.items:
            raise BundleInvalid(self.items, self.more)


Problems = _Problems  # what a LineObserver adds its problems to


def check_file(files: BundleFiles, entry: FileEntry, problems: _Problems, full: bool = True,
               profile: BundleProfile = EXPORT, observer: Optional[LineObserver] = None) -> dict[str, int]:
    """Bytes, sha256 and line count of one JSONL file against the manifest; in full mode every line parsed.
    Returns {"records": valid lines, "flagged": records with a flag from reading}."""
    digest = hashlib.sha256()
    size = lines = flagged = 0
    line_no = 0
    seen: dict[int, int] = {}
    with files.open(entry.path) as f:
        for raw in iter_lines(f):
            digest.update(raw)
            size += len(raw)
            line_no += 1
            if size > entry.bytes:  # longer than declared (or a zip member that inflates on): stop reading here
                problems.add(f"{entry.path}: longer than the {entry.bytes} bytes the manifest says; not read further")
                return {"records": lines, "flagged": flagged}
            if not raw.strip():
                continue
            lines += 1
            if full:
                try:
                    ident_text, was_flagged, parsed = profile.check_line(raw, entry.object_type)
                except LineRefused as exc:
                    problems.add(f"{entry.path}:{line_no}: {exc}")
                    continue
                flagged += was_flagged
                if observer is not None:
                    observer.line(entry, line_no, parsed)
                ident = int.from_bytes(hashlib.blake2b(ident_text.encode(), digest_size=8).digest())
                first = seen.setdefault(ident, line_no)  # 8-byte digests: memory stays small per record
                if first != line_no:
                    what = "provenance.id" if profile.canonical_records else "id"
                    problems.add(f"{entry.path}:{line_no}: the same {what} as line {first} (one key, two records)")
    if size != entry.bytes:
        problems.add(f"{entry.path}: {size} bytes, the manifest says {entry.bytes}"
                     + (" (truncated)" if size < entry.bytes else ""))
    if digest.hexdigest() != entry.sha256:
        problems.add(f"{entry.path}: sha256 differs from the manifest's (changed or damaged)")
    if lines != entry.lines:
        problems.add(f"{entry.path}: {lines} record line(s), the manifest says {entry.lines}")
    return {"records": lines, "flagged": flagged}


def check_blob(files: BundleFiles, path: str, want: dict[str, Any], problems: _Problems) -> None:
    if not files.exists(path):
        problems.add(f"{path}: listed in the manifest but missing")
        return
    digest = hashlib.sha256()
    size = 0
    with files.open(path) as f:
        while block := f.read(BLOCK):
            digest.update(block)
            size += len(block)
            if size > want["bytes"]:
                break  # longer than declared: wrong whatever follows
    if size != want["bytes"] or digest.hexdigest() != want["sha256"]:
        problems.add(f"{path}: {size} bytes / sha256 differ from the manifest (changed or damaged)")


def validate(files: BundleFiles, full: bool = True, profile: BundleProfile = EXPORT,
             observer: Optional[LineObserver] = None) -> tuple[Manifest, dict[str, Any]]:
    """The manifest and what the check found, or :class:`BundleInvalid` naming every problem's file and line.
    ``observer`` (full mode) sees every valid line and adds the cross-file problems at the end."""
    manifest = read_manifest(files, profile)
    problems = _Problems()
    found: dict[str, Any] = {}
    for entry in manifest.files:
        if not files.exists(entry.path):
            problems.add(f"{entry.path}: listed in the manifest but missing")
            continue
        found[entry.path] = check_file(files, entry, problems, full, profile, observer if full else None)
    for path, want in manifest.attachments.items():
        check_blob(files, path, want, problems)
    if observer is not None and full:
        observer.finish(problems)
    problems.raise_any()
    return manifest, found


def copy_to_stage(files: BundleFiles, stage: Any, prefix: str, profile: BundleProfile = EXPORT) -> list[str]:
    """Copy a (checked) bundle's files under ``prefix`` of the stage, the manifest last (its presence means
    the rest is whole); returns the stage keys."""
    manifest = read_manifest(files, profile)
    staged = StagedBundle(stage, prefix)
    names = [e.path for e in manifest.files] + list(manifest.attachments)
    keys = []
    for name in names:
        key = staged.key(name)
        if not stage.exists(key):
            with files.open(name) as fin, stage.open_write(key) as fout:
                while block := fin.read(BLOCK):
                    fout.write(block)
        keys.append(key)
    stage.put_bytes(staged.key(MANIFEST), manifest.raw)
    return [staged.key(MANIFEST), *keys]


def staged_prefix(manifest: Manifest) -> str:
    return f"inputs/bundle-{manifest.bundle_id}/"


def blob_name(value: Optional[str]) -> Optional[str]:
    """The bundle path an attachment record's ``blob`` names, when it is one (``files/<sha256>``)."""
    return value if isinstance(value, str) and BLOB_PATH.match(value) else None
