"""``hdm mapping propose``: the proposal as YAML overrides (what a person edits) and JSON (scores, reasons)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _read_json(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: must hold a JSON object")
    return data


@click.group("mapping")
def mapping_group() -> None:
    """Propose, inspect and hash the mapping a person confirms."""


@mapping_group.command("propose")
@click.option("--source", "source_type", required=True, help="Source type (e.g. the pair's left side).")
@click.option("--destination", "destination_type", required=True, help="Destination type.")
@click.option("--profiles", required=True, type=click.Path(dir_okay=False),
              help="Field profiles of the source (JSON; what the source's field_profiles capability gives).")
@click.option("--describes", required=True, type=click.Path(dir_okay=False),
              help="The destination's object descriptions (JSON object name -> describe), read offline.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for proposal.yaml/.json.")
@click.option("--threshold", default=None, type=float, help="Minimum confidence to propose an existing field.")
def propose_command(source_type: str, destination_type: str, profiles: str, describes: str, out: str,
                    threshold: float | None) -> None:
    """Propose a destination target for every source field and value, with confidence and reasons (offline)."""
    from hdm import registry
    from hdm.mapping.loader import load_document
    from hdm.mapping.propose import PROPOSAL_FIELDS, propose
    from hdm.mapping.propose.match import THRESHOLD

    dest = registry.destination(destination_type)
    fields_of = dest.capability(PROPOSAL_FIELDS)
    if fields_of is None:
        raise click.ClickException(f"the destination {destination_type!r} offers no {PROPOSAL_FIELDS} capability")
    document = load_document(source_type, destination_type)
    proposal = propose(_read_json(profiles), fields_of(_read_json(describes)), document,
                       threshold if threshold is not None else THRESHOLD)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "proposal.yaml").write_text(proposal.to_yaml(), encoding="utf-8")
    (folder / "proposal.json").write_text(proposal.to_json(), encoding="utf-8")
    from hdm.mapping.propose.review import build_mapping_review

    (folder / "review.html").write_text(build_mapping_review(proposal.data), encoding="utf-8")
    rows = [f for o in proposal.data["objects"].values() for f in o["fields"]]
    accepted = sum(1 for f in rows if f.get("pre_accepted"))
    click.echo(f"{len(rows)} fields: {accepted} pre-accepted, {len(proposal.data['decisions'])} decision(s) for a "
               f"person; wrote proposal.yaml (edit), proposal.json (scores) and review.html in {folder}")
