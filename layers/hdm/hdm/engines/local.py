"""The embedded engine: the same plan and the same step functions as Step Functions, run in-process
with a worker pool. Stage in a local directory and crosswalk in SQLite, both under one folder per
migration. Re-running an interrupted migration continues from the chunks already done.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tqdm import tqdm

from hdm.connector_errors import Transient, find, is_quota_exhausted, is_transient
from hdm.crosswalk.base import State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.engines.factories import build_destination, build_source
from hdm.localfiles import private_dir, write_private
from hdm.logging import get_logger, mask_pii
from hdm.pipeline import steps
from hdm.pipeline.config import MigrationConfig
from hdm.pipeline.secrets import redact
from hdm.stage.local import LocalStage

log = get_logger(__name__)

STATE_FILE = "state.json"
TRANSIENT_ATTEMPTS = 3  # a chunk failing with connector_errors.Transient is tried at most this often per run
TRANSIENT_DELAY = 2.0  # seconds before the first retry, doubled each time; a server's retry_after wins, capped
TRANSIENT_MAX_DELAY = 60.0
LOCK_FILE = "run.lock"


class MigrationLocked(RuntimeError):
    """Another process (or engine) is running, approving or rolling back this migration."""

    def __init__(self, folder: Path, holder: dict[str, Any]):
        who = f"pid {holder['pid']}" if holder.get("pid") else "pid unknown"
        if holder.get("host") and holder.get("host") != socket.gethostname():
            who += f" on {holder['host']}"
        what = f" ({holder['action']}" + (f" since {holder['since']}" if holder.get("since") else "") + ")" \
            if holder.get("action") else ""
        super().__init__(f"migration folder {folder} is locked by another hdm ({who}){what}: one run at a time "
                         "per migration; wait for it to end (or stop that process) and try again")
        self.folder = folder
        self.holder = holder


@contextlib.contextmanager
def migration_lock(folder: str | Path, action: str) -> Iterator[None]:
    """Hold the migration folder's exclusive lock for ``action`` (run, approve, rollback), or raise
    :class:`MigrationLocked` at once (never waits).

    An advisory ``flock`` on ``<folder>/run.lock``: the kernel releases it when the holder exits, however it
    exits, so a crashed run leaves no stale lock. The holder writes its pid into the file for the message.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MigrationLocked(folder, _lock_holder(fd)) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "action": action,
                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _lock_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


@dataclass
class RunOutcome:
    migration_id: str
    run_id: str
    status: str  # "succeeded" | "awaiting_approval" | "failed" | "stopped"
    folder: str
    message: str = ""
    phases: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    error: Optional[BaseException] = field(default=None, repr=False, compare=False)  # why it failed or stopped


class _PerThread:
    """One instance per worker thread (database connections and HTTP sessions are not shared)."""

    def __init__(self, make: Callable[[], Any]):
        self._make = make
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        obj = getattr(self._local, "obj", None)
        if obj is None:
            obj = self._local.obj = self._make()
            with self._lock:
                self._all.append(obj)
        return obj

    def close(self) -> None:
        for obj in self._all:
            close = getattr(obj, "close", None)
            if close:
                try:
                    close()
                except Exception:  # closing is best effort; the run's outcome is already decided
                    log.warning("close failed for %s", type(obj).__name__)
        self._all.clear()


class LocalEngine:
    def __init__(
        self,
        config: MigrationConfig,
        workdir: str | Path = "var/migrations",
        progress: bool = True,
        source_factory: Optional[Callable[[], Any]] = None,
        destination_factory: Optional[Callable[[], Any]] = None,
    ):
        self.config = config
        self.folder = Path(workdir) / config.migration_id
        private_dir(self.folder)  # files 0600, folders 0700 (hdm.localfiles)
        self.stage = LocalStage(self.folder / "stage")
        self.crosswalk = SqliteCrosswalk(self.folder / "crosswalk.sqlite")
        self.progress = progress
        self._source_factory = source_factory
        self._destination_factory = destination_factory
        self.transient_attempts = TRANSIENT_ATTEMPTS
        self.transient_delay = TRANSIENT_DELAY

    # -- state of the migration (what is done, approval) ---------------------------------------
    def _state(self) -> dict[str, Any]:
        path = self.folder / STATE_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _save_state(self, **changes: Any) -> dict[str, Any]:
        state = self._state()
        state.update(changes)
        tmp = self.folder / (STATE_FILE + ".tmp")
        write_private(tmp, json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(self.folder / STATE_FILE)
        return state

    def approve(self, by: str = "local user") -> None:
        from hdm.mapping import approval

        with migration_lock(self.folder, "approve"):
            record = approval.approve(self.stage, by)  # binds the approval to the mapping reviewed
            self._save_state(approved=True, approved_by=by, approved_at=record["at"],
                             approved_mapping_hash=record["mapping_hash"])

    def status(self) -> dict[str, Any]:
        return self._state()

    def _context(self, run_id: str) -> tuple[steps.Context, list[_PerThread]]:
        cfg = self.config
        sources = _PerThread(self._source_factory or (lambda: build_source(cfg.source)))
        destinations = _PerThread(
            self._destination_factory or (lambda: build_destination(cfg.destination, self.stage, cfg.migration_id,
                                                                     cfg.source.type))
        )
        ctx = steps.Context(
            migration_id=cfg.migration_id, run_id=run_id, config=cfg, stage=self.stage,
            crosswalk=self.crosswalk, source=sources, destination=destinations,
        )
        return ctx, [sources, destinations]

    # -- fan-out --------------------------------------------------------------------------------
    def _fan_out(self, label: str, fn: Callable[[dict], dict], items: list[dict], concurrency: int) -> list[dict]:
        results: list[dict] = [{}] * len(items)
        workers = max(1, min(concurrency, self.config.max_workers, len(items) or 1))
        bar = tqdm(total=len(items), desc=label, unit="chunk", disable=not self.progress, leave=True)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"hdm-{label}") as pool:
                futures = {pool.submit(self._retrying, fn, item): i for i, item in enumerate(items)}
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for fut in done:
                        results[futures[fut]] = fut.result()  # re-raises the first failure
                        bar.update(1)
        finally:
            bar.close()
        return results

    def _retrying(self, fn: Callable[[dict], dict], item: dict) -> dict:
        """``fn(item)``, tried again (bounded, with backoff) while it fails with a generic Transient; chunk
        steps are idempotent (loads verify pending records first). The last Transient is raised: the run stops
        with what is done kept, and the same command continues later."""
        for attempt in range(1, max(1, self.transient_attempts) + 1):
            try:
                return fn(item)
            except Exception as exc:
                if not is_transient(exc) or attempt >= self.transient_attempts:
                    raise
                hint = getattr(find(exc, Transient), "retry_after", None)
                delay = min(TRANSIENT_MAX_DELAY, hint if isinstance(hint, (int, float)) and hint > 0
                            else self.transient_delay * 2 ** (attempt - 1))
                log.info("chunk %s: temporary failure (%s), attempt %d of %d", item.get("key") or item.get("chunk_id"),
                         type(exc).__name__, attempt, self.transient_attempts)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the run --------------------------------------------------------------------------------
    def run(self, approve: bool = False, delta: bool = False) -> RunOutcome:
        """Run (or continue) the migration; :class:`MigrationLocked` at once when another run holds it.
        ``delta``: after a finished run, move only what changed in the source since (hdm/pipeline/delta.py)."""
        with migration_lock(self.folder, "run"):
            return self._locked_run(approve, delta)

    def _locked_run(self, approve: bool, delta: bool = False) -> RunOutcome:
        run_id = uuid.uuid4().hex[:12]
        state = self._save_state(migration_id=self.config.migration_id, last_run_id=run_id, status="running")
        if approve and not state.get("approved"):
            state = self._save_state(approved=True, approved_by="hdm run --yes")
        ctx, pools = self._context(run_id)
        try:
            return self._run(ctx, state, delta)
        except steps.PhaseNotReconciled as exc:
            self._save_state(status="failed", error=mask_pii(str(exc)))
            return RunOutcome(self.config.migration_id, run_id, "failed", str(self.folder), str(exc), error=exc)
        except Exception as exc:
            stop = is_quota_exhausted(exc)  # a spent allowance (any connector): checkpointed, resumable
            status = "stopped" if stop else "failed"
            msg = mask_pii(redact(f"{type(exc).__name__}: {exc}"))  # error texts can quote record values
            if stop:
                msg += " — the run checkpointed; run the same command again when the allocation resets"
            elif is_transient(exc):  # a service kept failing temporarily after the retries: done chunks are kept
                msg += " — temporary failure after every retry; try again later: run the same command to continue"
            self._save_state(status=status, error=msg)
            log.info("run %s %s: %s", run_id, status, msg)  # the outcome carries it to the caller
            return RunOutcome(self.config.migration_id, run_id, status, str(self.folder), msg, error=exc)
        finally:
            for p in pools:
                p.close()

    def _run(self, ctx: steps.Context, state: dict[str, Any], delta: bool = False) -> RunOutcome:
        cfg = self.config
        if delta or not self.stage.exists(steps.EXTRACT_MANIFEST):
            steps.discover(ctx, delta=delta)
        items = self.stage.get_json(steps.EXTRACT_MANIFEST)
        self._fan_out("extract", lambda it: steps.extract_chunk(ctx, it), items, cfg.max_workers)
        self._fan_out("transform", lambda it: steps.transform_chunk(ctx, it), items, cfg.max_workers)
        load_plan = steps.plan_load(ctx)["phases"]

        if cfg.require_approval and not self._state().get("approved"):
            self._save_state(status="awaiting_approval")
            return RunOutcome(
                cfg.migration_id, ctx.run_id, "awaiting_approval", str(self.folder),
                "extracted and transformed; review the reports, then `hdm approve` and run again",
            )

        from hdm.mapping import approval

        if cfg.require_approval and approval.approved(self.stage) is None:  # e.g. `run --yes`: approved as planned
            record = approval.approve(self.stage, self._state().get("approved_by") or "hdm run --yes")
            self._save_state(approved_at=record["at"], approved_mapping_hash=record["mapping_hash"])
        steps.prepare_destination(ctx)
        phase_reports = []
        for phase in load_plan:
            if steps.held_back_by(ctx, phase["name"]):  # a phase it depends on stopped over its rejected share
                phase_reports.append(steps.reconcile_phase(ctx, phase["name"]))  # reported as not loaded
                continue
            items = self.stage.get_json(phase["manifest_key"])
            done_keys = set(self.stage.list(f"results/{phase['name']}/"))
            todo = [it for it in items if self._result_key(it) not in done_keys or self._retry(it)]
            results = self._fan_out(
                f"load {phase['name']}", lambda it: steps.load_chunk(ctx, it), todo, phase["max_concurrency"]
            )
            phase_reports.append(steps.reconcile_phase(ctx, phase["name"], results))
            self._save_state(last_phase=phase["name"])
        report = steps.final_report(ctx)
        stop = steps.threshold_stop(report)
        if stop is not None:  # every phase that could load did; the ones depending on the stopped phase did not
            msg = mask_pii(redact(str(stop)))
            self._save_state(status="failed", error=msg)
            return RunOutcome(cfg.migration_id, ctx.run_id, "failed", str(self.folder), msg, phase_reports, report,
                              error=stop)
        self._save_state(status="succeeded", error=None)
        return RunOutcome(cfg.migration_id, ctx.run_id, "succeeded", str(self.folder), "", phase_reports, report)

    @staticmethod
    def _result_key(item: dict) -> str:
        return steps.result_key(item["phase"], steps.load_chunk_id(item["phase"], item["key"]))

    def _retry(self, item: dict) -> bool:
        """A chunk that left crosswalk entries pending (a write whose fate is unknown) is loaded again:
        loading is idempotent, and the destination verifies pending records before writing them again."""
        keys = [row["_source_key"] for row in self.stage.read_records(item["key"])]
        return any(
            e.state == State.PENDING
            for entries in self.crosswalk.get_many(self.config.migration_id, keys).values()
            for e in entries
        )

    # -- rollback -------------------------------------------------------------------------------
    def rollback(self) -> dict[str, Any]:
        """Roll back under the migration's lock (:class:`MigrationLocked` when a run or rollback holds it)."""
        with migration_lock(self.folder, "rollback"):
            return self._locked_rollback()

    def _locked_rollback(self) -> dict[str, Any]:
        run_id = "rb-" + uuid.uuid4().hex[:9]
        ctx, pools = self._context(run_id)
        try:
            phases, _ = steps.rollback_order(ctx, fallback_to_destination=False)  # newest first
            out = [steps.rollback_phase(ctx, phase) for phase in phases]
            result = steps.rollback_verdict(ctx, out)
            self._save_state(status="rolled_back" if result["restored"] else "rollback_incomplete")
            return result
        finally:
            for p in pools:
                p.close()

