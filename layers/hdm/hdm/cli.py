"""`hdm`: discover, stage-input, run, status, approve, report, rollback — on the local engine by default, or on a
deployed stack (`--engine aws`) through its trigger API.

Failures end in one line on stderr (no traceback; secret values and e-mail addresses never appear) and an
exit status per class of failure (:mod:`hdm.exitcodes`); ``-v`` adds the traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path

import click

from hdm import exitcodes
from hdm.localfiles import private_dir, private_umask, write_private
from hdm.pipeline.config import MigrationConfig, read_config

DEFAULT_WORKDIR = "var/migrations"
ENVIRONMENT_ERRORS = (exitcodes.CONFIG, exitcodes.SOURCE, exitcodes.DESTINATION, exitcodes.AWS, exitcodes.LOCKED,
                      exitcodes.TRANSIENT)


class CliError(click.ClickException):
    """A failure with its exit status (hdm.exitcodes); shown as one line on stderr."""

    def __init__(self, exit_code: int, message: str):
        super().__init__(message)
        self.exit_code = exit_code


class HdmGroup(click.Group):
    """Every command's failures become one clear line and an exit status (never a traceback, never a secret).

    Commands connectors offer (their ``commands`` capability, e.g. thread review) are attached when first
    asked for, so a built-in command does not load every connector."""

    _connector_commands: dict[str, click.Command] | None = None

    def _offered(self) -> dict[str, click.Command]:
        if self._connector_commands is None:
            from hdm import registry

            found: dict[str, click.Command] = {}
            for kind in registry.KINDS:
                for connector in registry.connectors(kind).values():
                    offer = connector.capability(registry.COMMANDS)
                    for command in offer() if offer else ():
                        found.setdefault(command.name, command)
            self._connector_commands = found
        return self._connector_commands

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._offered().get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._offered()))

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the single place where errors become exit statuses
            from hdm.errors import classify

            code, line = classify(exc, side=ctx.meta.get("hdm.side", "local"))
            if ctx.meta.get("hdm.verbose"):  # where it happened; the messages (which may quote input) stay out
                click.echo("Traceback (frames only):\n" + "".join(traceback.format_tb(exc.__traceback__)), err=True)
            raise CliError(code, line) from None


def _load_config(path: str) -> MigrationConfig:
    return read_config(path)  # ConfigError (no values quoted) → exit status 2


def _engine(config: MigrationConfig, workdir: str, progress: bool = True):
    from hdm.engines.local import LocalEngine

    return LocalEngine(config, workdir=workdir, progress=progress)


def _aws_client(api_url: str | None):
    from hdm.engines.aws import TriggerApiClient

    click.get_current_context().meta["hdm.side"] = "aws"
    if not api_url:
        raise CliError(exitcodes.CONFIG, "--engine aws needs --api-url (the stack's TriggerApiUrl output)")
    return TriggerApiClient(api_url)


def _epilog() -> str:
    # \b keeps click from re-wrapping the table
    return "\b\n" + exitcodes.epilog()


@click.group(cls=HdmGroup, epilog=_epilog())
@click.option("-v", "--verbose", is_flag=True, help="Log progress details (PII stays masked); tracebacks on errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """hdm, the helpdesk migrator."""
    private_umask()  # what it writes (crosswalk, stage, state, reports) is its owner's only: 0600 / 0700
    ctx.meta["hdm.verbose"] = verbose
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--out", default=None, help="Folder for scoping.json, scoping.md and inventory.md.")
def discover(config_path: str, out: str | None) -> None:
    """Scope the source: what it holds and what will need a decision (the source's own scoping report and
    automation inventory when it offers them; otherwise the generic discovery counts)."""
    from hdm import registry
    from hdm.engines.factories import build_source

    cfg = _load_config(config_path)
    connector = registry.source(cfg.source.type)
    scoping_report = connector.capability(registry.SCOPING_REPORT)
    inventory = connector.capability(registry.INVENTORY)
    source = build_source(cfg.source)
    try:
        scoping = scoping_report(source) if scoping_report else _generic_scoping(source)
        inventory_md = inventory(source) if inventory else None
    finally:
        source.close()
    folder = Path(out or Path(DEFAULT_WORKDIR) / cfg.migration_id / "discovery")
    private_dir(folder)
    files = {"scoping.json": json.dumps(scoping.data, indent=1, default=str), "scoping.md": scoping.markdown}
    if inventory_md is not None:
        files["inventory.md"] = inventory_md
    for name, text in files.items():
        write_private(folder / name, text)
    click.echo(scoping.summary)
    for name in files:
        click.echo(f"  {folder / name}")


def _generic_scoping(source):
    """The discovery report of a source without a scoping capability: its system, version and counts."""
    from hdm import registry

    found = source.discover()
    data = {"system": found.system, "version": found.version, "record_counts": dict(found.counts),
            "details": found.details}
    title = f"{found.system} {found.version or ''}".rstrip()
    lines = [f"# Discovery: {title}", "", "| object | records |", "| --- | ---: |"]
    lines += [f"| {name} | {count} |" for name, count in sorted(found.counts.items())]
    return registry.ScopingReport(data, "\n".join(lines) + "\n", title)


def _takes_uploaded_input(source, base: type) -> bool:
    """Whether a source reads an uploaded export: it has a callable ``stage_input`` of its own (not the base's
    refusal). A source not built on the base class and without one takes none."""
    method = getattr(type(source), "stage_input", None)
    return callable(method) and method is not getattr(base, "stage_input", None)


IN_PROGRESS_EXECUTION = ("RUNNING", "STARTING")
IN_PROGRESS_STATUS = ("running", "extracting", "loading", "awaiting_approval", "rolling_back", "rollback_started")


class _RunsTableReader:
    """The run state read straight from the stack's runs table (``HDM_RUNS_TABLE``; needs dynamodb:GetItem)."""

    def status(self, migration_id: str) -> dict:
        from hdm.engines import aws

        try:
            item = aws.runs().get(migration_id)
        except aws.RunNotFound:
            raise aws.TriggerApiError(404, {"message": "no such migration"}) from None
        return {"status": item.get("status"), "execution": {}}


def _run_state_reader(api_url: str | None):
    """The trigger API (``--api-url``/``HDM_API_URL``), else the runs table named by ``HDM_RUNS_TABLE``."""
    if api_url:
        return _aws_client(api_url)
    if os.environ.get("HDM_RUNS_TABLE"):
        return _RunsTableReader()
    raise CliError(exitcodes.CONFIG, "--engine aws needs --api-url (the stack's TriggerApiUrl output, or "
                                     "HDM_API_URL) to check that no run of the migration is in progress")


def _refuse_if_run_in_progress(client, migration_id: str) -> None:
    """Refuse (exit LOCKED) while the stack runs or rolls back ``migration_id``: workers read the stage then.
    A migration the stack does not know yet is free. A check, not a lock: start no run while staging."""
    from hdm.engines.aws import TriggerApiError

    try:
        state = client.status(migration_id)
    except TriggerApiError as exc:
        if exc.status == 404:
            return
        raise
    execution = (state.get("execution") or {}).get("status")
    status = state.get("status")
    if execution in IN_PROGRESS_EXECUTION or (execution not in ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT")
                                               and status in IN_PROGRESS_STATUS):
        raise CliError(exitcodes.LOCKED, f"migration {migration_id} has a run in progress (status {status}, "
                                         f"execution {execution}); stage the export when it has finished")


@main.command("stage-input")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.argument("path", type=click.Path(exists=True))
@click.option("--engine", type=click.Choice(["local", "aws"]), default="local", show_default=True)
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True, help="Local engine: migrations folder.")
@click.option("--stage-bucket", envvar="HDM_STAGE_BUCKET", default=None,
              help="AWS engine: the stack's stage bucket (its StageBucketName output; or HDM_STAGE_BUCKET).")
@click.option("--api-url", envvar="HDM_API_URL", default=None,
              help="AWS engine: the stack's trigger API URL (TriggerApiUrl), asked whether a run is in progress.")
def stage_input(config_path: str, path: str, engine: str, workdir: str, stage_bucket: str | None,
                api_url: str | None) -> None:
    """Check an uploaded export (a file or folder the configured source reads) and copy it into the migration's
    stage, where every worker reads it (locally, or the stack's stage bucket on AWS); prints where it is staged.
    Only a source that reads an uploaded export takes one. Refused while a run or rollback of the migration is in
    progress (locally: its lock; on AWS: the trigger API's status). On AWS the caller needs s3:PutObject (and
    s3:GetObject, s3:ListBucket for the checks) on the stage bucket's ``migrations/<id>/`` prefix, kms:Encrypt
    and kms:GenerateDataKey on the stage key, and execute-api:Invoke for the status call."""
    from hdm.engines.factories import build_source
    from hdm.sources.base import SourceBase

    cfg = _load_config(config_path)
    source = build_source(cfg.source)
    try:
        if not _takes_uploaded_input(source, SourceBase):
            raise CliError(exitcodes.SOURCE, f"source: the {cfg.source.type} source reads its system directly; "
                                             "it takes no uploaded export")
        if engine == "aws":
            click.get_current_context().meta["hdm.side"] = "aws"
            if not stage_bucket:
                raise CliError(exitcodes.CONFIG, "--engine aws needs --stage-bucket (the stack's StageBucketName "
                                                 "output) or HDM_STAGE_BUCKET")
            import boto3

            from hdm.engines.aws import stage_prefix
            from hdm.stage.s3 import S3Stage

            _refuse_if_run_in_progress(_run_state_reader(api_url), cfg.migration_id)
            stage = S3Stage(stage_bucket, prefix=stage_prefix(cfg.migration_id), client=boto3.client("s3"))
            keys = source.stage_input(stage, path)
        else:
            from hdm.engines.local import migration_lock
            from hdm.stage.local import LocalStage

            folder = Path(workdir) / cfg.migration_id
            private_dir(folder)
            with migration_lock(folder, "stage-input"):  # not while a run of it reads the stage
                stage = LocalStage(folder / "stage")
                keys = source.stage_input(stage, path)
    finally:
        source.close()
    common = keys[0].rsplit("/", 1)[0] + "/" if keys and all(k.startswith(keys[0].rsplit("/", 1)[0] + "/")
                                                          for k in keys) else None
    click.echo(f"staged {len(keys)} file(s) for {cfg.migration_id}" + (f" under {common}" if common else ""))
    for key in keys[:20]:
        click.echo(f"  {stage.uri(key)}")
    if len(keys) > 20:
        click.echo(f"  ... and {len(keys) - 20} more")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--engine", type=click.Choice(["local", "aws"]), default="local", show_default=True)
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True, help="Local engine: migrations folder.")
@click.option("--api-url", default=None, help="AWS engine: the deployed stack's trigger API URL.")
@click.option("--yes", is_flag=True, help="Confirm the mapping now (skip the approval pause).")
@click.option("--no-progress", is_flag=True)
@click.option("--delta", is_flag=True, help="After a finished run: move only what changed in the source since "
              "its high-water mark (new and edited records, new replies and files; deletes per "
              "options.delta_deletes).")
def run(config_path: str, engine: str, workdir: str, api_url: str | None, yes: bool, no_progress: bool,
        delta: bool = False) -> None:
    """Run (or continue) a migration."""
    cfg = _load_config(config_path)
    if engine == "aws":
        click.echo(json.dumps(_aws_client(api_url).start(cfg, delta=delta), indent=1))
        return
    outcome = _engine(cfg, workdir, progress=not no_progress).run(approve=yes, delta=delta)
    _raise_environment_error(outcome)
    _print_outcome(outcome)
    from hdm.pipeline.report import exit_status, saved_report

    code = exit_status(outcome.status, outcome.report or saved_report(outcome.folder), outcome.run_id)
    if code:
        sys.exit(code)


def _raise_environment_error(outcome) -> None:
    """A run that failed on its environment (config, source, destination, AWS) ends like any other command:
    one line and that class's exit status. Other outcomes are the migration's own (printed in full)."""
    if outcome.status != "failed" or outcome.error is None:
        return
    from hdm.errors import classify

    code, line = classify(outcome.error)
    if code in ENVIRONMENT_ERRORS:
        raise CliError(code, f"{line} (state kept in {outcome.folder})")


def _print_outcome(outcome) -> None:
    click.echo(f"migration {outcome.migration_id}: {outcome.status}")
    if outcome.message:
        click.echo(outcome.message)
    report = outcome.report or {}
    if report:
        click.echo(summary_table(report))
        click.echo(f"report: {report.get('report_html')}")
        click.echo(f"        {report.get('report_json')}")
    click.echo(f"folder: {outcome.folder}")


def summary_table(report: dict) -> str:
    lines = []
    src = report.get("source", {}).get("per_type", {})
    if src:
        lines.append(f"{'source object':<20}{'extracted':>10}{'to dest':>10}{'skipped':>10}")
        for t, v in src.items():
            lines.append(f"{t:<20}{v['extracted']:>10}{v['to_destination']:>10}{v['skipped']:>10}")
    if "totals" in report:
        from hdm.pipeline.report import headline

        lines.insert(0, headline(report))
        lines.insert(1, "")
    cols = ("source", "loaded", "matched", "merged", "rejected", "held", "skipped", "flagged", "api_calls")
    lines.append("")
    lines.append(f"{'phase':<12}" + "".join(f"{c:>10}" for c in cols) + "  ok")
    for p in report.get("phases", []):
        ok = "yes" if p.get("ok") else "NO"
        lines.append(f"{p['phase']:<12}" + "".join(f"{p.get(c, 0):>10}" for c in cols) + f"  {ok}")
    return "\n".join(lines)


@main.command()
@click.argument("migration_id")
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True)
@click.option("--api-url", default=None, help="AWS engine: ask the deployed stack instead.")
def status(migration_id: str, workdir: str, api_url: str | None) -> None:
    """State, phase and counts of a migration."""
    if api_url:
        click.echo(json.dumps(_aws_client(api_url).status(migration_id), indent=1))
        return
    state = _read_state(migration_id, workdir)
    rec = Path(workdir) / migration_id / "stage" / "reports" / "reconciliation.json"
    if rec.exists():
        saved = _read_json(rec)
        state.update({k: saved.get(k) for k in ("totals", "outcome", "exit_status", "attention") if k in saved})
    click.echo(json.dumps(state, indent=1))


@main.command()
@click.argument("migration_id")
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True)
@click.option("--api-url", default=None)
@click.option("--by", default="cli", help="Who approves (recorded).")
def approve(migration_id: str, workdir: str, api_url: str | None, by: str) -> None:
    """Confirm the mapping: the next run (or the waiting workflow) writes to the destination."""
    if api_url:
        click.echo(json.dumps(_aws_client(api_url).approve(migration_id), indent=1))
        return
    from hdm.engines.local import migration_lock

    folder = Path(workdir) / migration_id
    _read_state(migration_id, workdir)
    from hdm.mapping import approval
    from hdm.stage.local import LocalStage

    with migration_lock(folder, "approve"):  # not while a run of it is going on
        state = _read_state(migration_id, workdir)
        record = approval.approve(LocalStage(folder / "stage"), by)  # who, when, the reviewed mapping's hash
        state.update(approved=True, approved_by=by, approved_at=record["at"],
                     approved_mapping_hash=record["mapping_hash"])
        write_private(folder / "state.json", json.dumps(state, indent=1, sort_keys=True))
    click.echo(f"approved {migration_id} (mapping {record['mapping_hash'] or 'unknown'}); run it again to load")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(exitcodes.CONFIG, f"cannot read {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise CliError(exitcodes.CONFIG, f"cannot read {path}: not a JSON object")
    return data


def _read_state(migration_id: str, workdir: str) -> dict:
    state_file = Path(workdir) / migration_id / "state.json"
    if not state_file.is_file():
        raise CliError(exitcodes.CONFIG, f"no migration {migration_id!r} under {workdir}")
    return _read_json(state_file)


@main.command()
@click.argument("migration_id")
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True)
def report(migration_id: str, workdir: str) -> None:
    """Print the reconciliation summary and where the reports are."""
    path = Path(workdir) / migration_id / "stage" / "reports" / "reconciliation.json"
    if not path.exists():
        raise CliError(exitcodes.CONFIG, f"no reconciliation report yet for {migration_id!r} ({path})")
    data = _read_json(path)
    click.echo(summary_table(data))
    click.echo(f"report: {path.with_suffix('.html')}")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--workdir", default=DEFAULT_WORKDIR, show_default=True)
@click.option("--api-url", default=None)
def rollback(config_path: str, workdir: str, api_url: str | None) -> None:
    """Delete what the migration created, newest phase first; matched records are never touched."""
    cfg = _load_config(config_path)
    if api_url:
        click.echo(json.dumps(_aws_client(api_url).rollback(cfg.migration_id), indent=1))
        return
    result = _engine(cfg, workdir).rollback()
    for p in result["phases"]:
        click.echo(f"{p['phase']:<12} rolled back {p['rolled_back']}")
    if result.get("swept"):
        click.echo("found by legacy id (not in the crosswalk) and deleted: "
                   + ", ".join(f"{n} {obj}" for obj, n in result["swept"].items()))
    click.echo(result["message"])
    if not result["restored"]:
        sys.exit(exitcodes.FAILED)


def _mapping_commands() -> None:
    from hdm.mapping.propose.cli import mapping_group

    main.add_command(mapping_group)


_mapping_commands()

if __name__ == "__main__":
    main()
