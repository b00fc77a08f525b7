"""Write hdm export bundles (docs/export-bundle.md) for tests and demos.

- :func:`export_source`: run any source (e.g. the osTicket source over a generated or recorded database) and write
  its canonical records, attachments included, as a bundle: the bundle then migrates like the source itself.
- :func:`sample_records`: a small synthetic help desk (no database needed) with the rare cases a reader must keep:
  non-ASCII text, an internal note, attachments, a note on a person, and one record with a bad value (flagged on
  read, not refused).
- :func:`write_broken_line`: a bundle whose manifest is right but one line is not JSON (the negative test).

    python -m hdm_infra.export_bundle --out var/bundle [--zip] [--config migration.yaml] [--tickets 20] [--seed 7]

With ``--config``, the migration config's source is exported (its secrets resolved as for a run); without it,
a synthetic bundle of ``--tickets`` tickets is written.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from hdm.model import (
    Agent,
    Attachment,
    Contact,
    Event,
    Message,
    MessageKind,
    Note,
    Organization,
    Provenance,
    Record,
    Ticket,
    Visibility,
    key,
)
from hdm.sources.base import attach_stage
from hdm.sources.export.writer import BundleWriter, zip_bundle

SYSTEM = "sample"
TOOL = "hdm_infra.export_bundle"


def export_source(source: Any, folder: str | Path, chunk_rows: int = 500, stage: Any = None,
                  description: Optional[str] = None) -> dict[str, Any]:
    """Every record ``source`` extracts, written as a bundle in ``folder``; returns the manifest."""
    if stage is not None:
        attach_stage(source, stage)
    found = source.discover()
    writer = BundleWriter(folder, {"system": found.system, "version": found.version, "tool": TOOL}, description)
    for chunk in source.plan(chunk_rows):
        writer.add_all(source.extract(chunk, writer))
    return writer.close()


def _prov(obj: str, ident: Any) -> Provenance:
    return Provenance(SYSTEM, obj, str(ident))


def sample_records(tickets: int = 6, seed: int = 7, bad_value: bool = True) -> Iterator[tuple[Record, bytes | None]]:
    """(record, attachment bytes or None) of a small help desk with the rare cases; deterministic per seed."""
    rnd = random.Random(seed)
    yield Organization(_prov("company", 1), name="Ærøskøbing Fähre GmbH", domains=["faehre.example"]), None
    yield Organization(_prov("company", 2), name="東京サポート株式会社"), None
    contacts = []
    for i, (name, email) in enumerate([("Zoë Ångström", "zoe@faehre.example"), ("محمد علي", "m.ali@example.org"),
                                       ("Łukasz Żółć", None)], start=1):
        c = Contact(_prov("person", i), name=name, email=email, organization=key("organization", 1 + (i % 2)))
        contacts.append(c.key)
        yield c, None
    yield Agent(_prov("agent", 1), username="ana", first_name="Ana", last_name="Núñez",
                email="ana@agents.example.test"), None
    # a note on a person (no ticket): a destination without a home for it skips it with a reason, never drops it
    yield Note(_prov("person_note", 1), subject=contacts[0], body_text="Prefers phone calls — täglich ab 9 Uhr.",
               author=key("agent", 1), created_at="2024-01-05T09:00:00Z", extra={"source_field": "crm_note"}), None
    for t in range(1, tickets + 1):
        tk = Ticket(_prov("ticket", t), number=f"S-{t:04d}", subject=f"Ticket {t}: ça ne marche pas — ✓ {t}",
                    status="open" if t % 3 else "closed", priority=rnd.choice(["low", "normal", "high"]),
                    requester=contacts[t % len(contacts)], channel="email",
                    created_at=f"2024-0{1 + t % 9}-1{t % 10}T10:00:00Z")
        yield tk, None
        messages = [("customer", Visibility.PUBLIC, f"<p>Bonjour, problème n° {t} 🙂</p>"),
                    ("agent", Visibility.PUBLIC, f"<p>Danke, wir schauen uns {t} an.</p>"),
                    ("agent", Visibility.INTERNAL, "<p>Internal: customer is on the legacy plan — do not quote.</p>")]
        for pos, (kind, vis, body) in enumerate(messages):
            mid = t * 10 + pos
            author = tk.requester if kind == "customer" else key("agent", 1)
            msg = Message(_prov("message", mid), ticket=tk.key, position=pos, kind=MessageKind(kind), visibility=vis,
                          author=author, author_name="Ana Núñez" if kind == "agent" else "Zoë Ångström",
                          created_at=f"2024-02-0{1 + pos}T1{pos}:00:00Z", body_html=body, body_format="html")
            if pos == 1 and t % 2 == 0:
                data = f"report for ticket {t}\n".encode() * 3
                att = Attachment(_prov("file", mid), ticket=tk.key, message=msg.key, file_name=f"résumé-{t}.txt",
                                 content_type="text/plain", size=len(data), visibility=vis)
                msg.attachments.append(att.key)
                yield msg, None
                yield att, data
                continue
            yield msg, None
        yield Event(_prov("event", t), ticket=tk.key, name="created", at=tk.created_at), None
    if bad_value:  # a value of the wrong type: the reader leaves it empty and flags the record, never drops it
        bad = Ticket(_prov("ticket", tickets + 1), number=f"S-{tickets + 1:04d}", subject="a ticket with a bad date",
                     status="open", requester=contacts[0])
        yield bad, b"__bad_created_at__"


def write_sample(folder: str | Path, tickets: int = 6, seed: int = 7, bad_value: bool = True) -> dict[str, Any]:
    """A synthetic bundle (see :func:`sample_records`); returns the manifest."""
    writer = BundleWriter(folder, {"system": SYSTEM, "version": "1", "tool": TOOL}, "synthetic sample help desk")
    for rec, data in sample_records(tickets, seed, bad_value):
        if data == b"__bad_created_at__":
            row = rec.to_dict()
            row["created_at"] = 20240101  # a number where the model wants an ISO string
            from hdm.stage.base import encode_record_line

            writer.write_line(rec.OBJECT.value, encode_record_line(row))
            continue
        if data is not None and isinstance(rec, Attachment):
            rec.blob, rec.sha256, rec.size = writer.put_blob([data])
        writer.add(rec)
    return writer.close()


def write_broken_line(folder: str | Path, object_type: str = "ticket", after: int = 2) -> int:
    """A sample bundle whose ``object_type`` file has a line that is not JSON after ``after`` records (the manifest
    counts and checksums it, so only the line check finds it); returns that line's number."""
    writer = BundleWriter(folder, {"system": SYSTEM, "tool": TOOL})
    n = 0
    broken_at = 0
    for rec, data in sample_records(tickets=4, bad_value=False):
        if data is not None and isinstance(rec, Attachment):
            rec.blob, rec.sha256, rec.size = writer.put_blob([data])
        writer.add(rec)
        if rec.OBJECT.value == object_type:
            n += 1
            if n == after:
                writer.write_line(object_type, b'{"_type": "ticket", "provenance": {"system": "sample", \n')
                broken_at = n + 1
    writer.close()
    return broken_at


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hdm_infra.export_bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the bundle folder to write (must not exist)")
    parser.add_argument("--zip", action="store_true", help="also write <out>.zip")
    parser.add_argument("--config", help="export this migration config's source instead of a synthetic help desk")
    parser.add_argument("--tickets", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-rows", type=int, default=500)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        parser.error(f"{out} exists; give a new folder")
    if args.config:
        import tempfile

        from hdm.engines.factories import build_source
        from hdm.pipeline.config import read_config
        from hdm.stage.local import LocalStage

        cfg = read_config(args.config)
        source = build_source(cfg.source)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                manifest = export_source(source, out, args.chunk_rows, stage=LocalStage(tmp))
        finally:
            source.close()
    else:
        manifest = write_sample(out, args.tickets, args.seed)
    if args.zip:
        zip_bundle(out, out.with_suffix(".zip"))
    counts = {f["object_type"]: f["lines"] for f in manifest["files"]}
    zipped = f"; zip {out.with_suffix('.zip')}" if args.zip else ""
    print(f"wrote {out}: {sum(counts.values())} records ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
          f"{len(manifest['attachments'])} attachment file(s){zipped}")


if __name__ == "__main__":
    main()
