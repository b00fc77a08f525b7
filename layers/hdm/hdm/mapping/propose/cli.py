"""``hdm mapping propose``: the proposal as YAML overrides (what a person edits) and JSON (scores, reasons)."""

from __future__ import annotations

import json
from pathlib import Path

import click


class InputError(click.ClickException):
    exit_code = 2  # hdm.exitcodes.CONFIG: an input that cannot be used

    def __init__(self, message: str):
        super().__init__(message)


def _read_json(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: must hold a JSON object")
    return data


def _profiles_for(cfg, workdir: str) -> dict:
    """The source's own field profiles when it offers them, else profiles of the records staged for this
    migration (every source stages the canonical model)."""
    from hdm import registry
    from hdm.mapping.propose import FIELD_PROFILES
    from hdm.mapping.propose.stage_profiles import profiles_from_stage
    from hdm.stage.local import LocalStage

    offer = registry.source(cfg.source.type).capability(FIELD_PROFILES)
    if offer is not None:
        from hdm.engines.factories import build_source

        source = build_source(cfg.source)
        try:
            return offer(source)
        finally:
            getattr(source, "close", lambda: None)()
    folder = Path(workdir) / cfg.migration_id / "stage"
    found = profiles_from_stage(LocalStage(folder)) if folder.is_dir() else {"objects": {}}
    if not found["objects"]:
        raise InputError(f"no staged records for {cfg.migration_id} in {workdir}: run `hdm run --config "
                                   "...` first (it stops before loading while approval is required)")
    return found


@click.group("mapping")
def mapping_group() -> None:
    """Propose the mapping a person reviews, edits (YAML overrides) and approves."""


@mapping_group.command("propose")
@click.option("--config", "config_path", default=None, type=click.Path(dir_okay=False),
              help="The migration's config: source/destination types; profiles from the source's field_profiles "
                   "capability, else from the records `hdm run` staged (it pauses before loading).")
@click.option("--workdir", default="var/migrations", show_default=True)
@click.option("--source", "source_type", default=None, help="Source type (without --config).")
@click.option("--destination", "destination_type", default=None, help="Destination type (without --config).")
@click.option("--profiles", default=None, type=click.Path(dir_okay=False),
              help="Field profiles of the source as JSON (instead of reading them through --config).")
@click.option("--describes", required=True, type=click.Path(dir_okay=False),
              help="The destination's object descriptions (JSON object name -> describe), read offline.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for proposal.yaml/.json.")
@click.option("--threshold", default=None, type=float, help="Minimum confidence to propose an existing field.")
def propose_command(config_path: str | None, workdir: str, source_type: str | None, destination_type: str | None,
                    profiles: str | None, describes: str, out: str, threshold: float | None) -> None:
    """Propose a destination target for every source field and value, with confidence and reasons (offline)."""
    from hdm import registry
    from hdm.mapping.loader import load_document
    from hdm.mapping.propose import PROPOSAL_FIELDS, propose
    from hdm.mapping.propose.match import THRESHOLD

    profile_doc = _read_json(profiles) if profiles else None
    if config_path:
        from hdm.pipeline.config import read_config

        cfg = read_config(config_path)
        source_type, destination_type = cfg.source.type, cfg.destination.type
        if profile_doc is None:
            profile_doc = _profiles_for(cfg, workdir)
    if not (source_type and destination_type and profile_doc is not None):
        raise click.UsageError("give --config, or --source, --destination and --profiles")

    dest = registry.destination(destination_type)
    fields_of = dest.capability(PROPOSAL_FIELDS)
    if fields_of is None:
        raise InputError(f"the destination {destination_type!r} offers no {PROPOSAL_FIELDS} capability")
    document = load_document(source_type, destination_type)
    proposal = propose(profile_doc, fields_of(_read_json(describes)), document,
                       threshold if threshold is not None else THRESHOLD)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "proposal.yaml").write_text(proposal.to_yaml(), encoding="utf-8")
    (folder / "proposal.json").write_text(proposal.to_json(), encoding="utf-8")
    from hdm.mapping.propose.review import build_mapping_review

    (folder / "review.html").write_text(build_mapping_review(proposal.data), encoding="utf-8")
    if config_path:  # kept with the migration: approval checks its required fields against the final mapping
        from hdm.mapping.approval import PROPOSAL_KEY
        from hdm.stage.local import LocalStage

        stage_dir = Path(workdir) / cfg.migration_id / "stage"
        if stage_dir.is_dir():
            LocalStage(stage_dir).put_json(PROPOSAL_KEY, proposal.data)
    rows = [f for o in proposal.data["objects"].values() for f in o["fields"]]
    accepted = sum(1 for f in rows if f.get("pre_accepted"))
    click.echo(f"{len(rows)} fields: {accepted} pre-accepted, {len(proposal.data['decisions'])} decision(s) for a "
               f"person; wrote proposal.yaml (edit), proposal.json (scores) and review.html in {folder}")


@mapping_group.command("sample")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--workdir", default="var/migrations", show_default=True)
@click.option("-n", "--size", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where the sample plan (JSON) goes.")
def sample_command(config_path: str, workdir: str, size: int, out: str) -> None:
    """Choose a stratified sample of staged tickets (every status, priority, custom field, attachments, inline
    images, internal notes, longest thread, merged/linked, non-ASCII, oldest/newest) with its dependencies."""
    import json as _json

    from hdm.mapping.propose.sample import choose_sample
    from hdm.pipeline.config import read_config
    from hdm.stage.local import LocalStage

    cfg = read_config(config_path)
    folder = Path(workdir) / cfg.migration_id / "stage"
    if not folder.is_dir():
        raise InputError(f"no staged records for {cfg.migration_id} in {workdir}: run `hdm run` first")
    plan = choose_sample(LocalStage(folder), size)
    Path(out).write_text(_json.dumps(plan, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    click.echo(f"{len(plan['tickets'])} tickets, {len(plan['dependencies'])} dependencies, "
               f"{len(plan['strata'])} strata covered" + (f"; not covered: {', '.join(plan['not_covered'])}"
                                                          if plan["not_covered"] else "") + f"; wrote {out}")
