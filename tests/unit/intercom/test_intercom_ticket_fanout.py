"""The Intercom load fans a chunk out by ticket (issue 12, Performance): every ticket's rows on one thread and in
their order, outcomes of every batch kept, and an error of one batch raised after the others ended."""

from __future__ import annotations

import random
import threading

import pytest
from hdm.destinations.base import ChunkLoadResult
from hdm.destinations.intercom import destination as D
from hdm.destinations.intercom import phases as P


def _parts(tickets: int, per: int, seed: int = 7) -> list[dict]:
    rows = [{"_source_key": f"message:{t}-{i}", "_ticket": f"ticket:{t}", "_position": i}
            for t in range(tickets) for i in range(per)]
    random.Random(seed).shuffle(rows)  # tickets interleaved; each ticket's rows in a shuffled but known order
    return rows


def test_batches_keep_each_ticket_whole_and_in_order():
    rows = _parts(30, 5)
    batches = D._by_ticket(rows, P.TICKET_SCOPED[P.PARTS], P.TICKET_WORKERS)
    assert 1 < len(batches) <= P.TICKET_WORKERS
    assert sorted(map(id, (r for b in batches for r in b))) == sorted(map(id, rows))  # nothing lost or doubled
    home = {}
    for i, batch in enumerate(batches):
        for row in batch:
            assert home.setdefault(row["_ticket"], i) == i  # a ticket never spans two batches
        for t in {r["_ticket"] for r in batch}:
            assert [r for r in batch if r["_ticket"] == t] == [r for r in rows if r["_ticket"] == t]


def test_phases_not_scoped_by_ticket_stay_one_batch():
    rows = [{"_source_key": f"contact:{i}"} for i in range(40)]
    assert D._by_ticket(rows, P.TICKET_SCOPED.get(P.CONTACTS), P.TICKET_WORKERS) == [rows]


class _Dest(D.IntercomDestination):
    def __init__(self):  # only what load_chunk touches
        class Calls:
            total = 0

        class Api:
            calls = Calls()

        self._api = Api()

    @property
    def api(self):
        return self._api


def test_load_chunk_runs_tickets_on_threads_keeping_order_and_outcomes(monkeypatch):
    seen: dict[str, list[tuple[str, int]]] = {}
    threads: set[int] = set()
    lock = threading.Lock()
    barrier = threading.Barrier(2, timeout=5)  # proves two batches run at the same time

    def loader(dest, run, rows):
        if len(rows) and rows[0]["_ticket"] in {"ticket:0", "ticket:1"}:
            barrier.wait()
        for row in rows:
            with lock:
                threads.add(threading.get_ident())
                seen.setdefault(row["_ticket"], []).append((row["_source_key"], threading.get_ident()))
            run.outcome(row["_source_key"], P.PART, "loaded", "id")

    monkeypatch.setitem(D.LOADERS, P.PARTS, loader)
    rows = sorted(_parts(16, 4), key=lambda r: (r["_ticket"], r["_position"]))
    result = D.IntercomDestination.load_chunk(_Dest(), P.PARTS, "c1", rows, None, "m", "r")
    assert isinstance(result, ChunkLoadResult) and len(threads) > 1
    assert sorted(o.source_key for o in result.outcomes) == sorted(r["_source_key"] for r in rows)
    for ticket, sent in seen.items():
        assert [k for k, _ in sent] == [r["_source_key"] for r in rows if r["_ticket"] == ticket]
        assert len({tid for _, tid in sent}) == 1  # one thread per ticket


def test_an_error_in_one_batch_is_raised_after_the_others_ended(monkeypatch):
    done: list[str] = []

    def loader(dest, run, rows):
        if any(r["_ticket"] == "ticket:3" for r in rows):
            raise RuntimeError("boom")
        done.extend(r["_source_key"] for r in rows)

    monkeypatch.setitem(D.LOADERS, P.PARTS, loader)
    rows = _parts(16, 2)
    with pytest.raises(Exception, match="boom"):
        D.IntercomDestination.load_chunk(_Dest(), P.PARTS, "c1", rows, None, "m", "r")
    # 16 tickets in 8 batches of 2 tickets: only the failing batch's 2 tickets (4 rows) are missing
    assert len(done) == 2 * 16 - 2 * 2


@pytest.mark.parametrize("nth", [1, 2, 5])
def test_a_hard_kill_losing_deferred_entries_re_runs_without_duplicates(tmp_path, fake_intercom, monkeypatch, nth):
    """A loaded part's entry waits for the next part's pending marker; a process killed hard (no flush) loses it,
    and the re-run finds the part by its pending marker and the read-back: nothing sent twice."""
    from fake_intercom import FakeIntercom, Killed
    from hdm.crosswalk.base import State
    from hdm.crosswalk.sqlite import SqliteCrosswalk
    from hdm.destinations.intercom.run import Run
    from hdm.stage.local import LocalStage
    from test_intercom_loaders import migrate

    clean = FakeIntercom(fake_intercom.admins_, fake_intercom.teams_)
    for f in (clean, fake_intercom):
        f.contacts["9"] = {"id": "9", "email": "dan@existing.example", "external_id": None, "companies": []}
    migrate(clean, LocalStage(tmp_path / "clean"), SqliteCrosswalk(tmp_path / "clean.sqlite"))
    stage, cw = LocalStage(tmp_path / "stage"), SqliteCrosswalk(tmp_path / "cw.sqlite")
    fake_intercom.kill_at = ("reply", nth)
    with monkeypatch.context() as m:
        m.setattr(Run, "flush", lambda self: self._later.clear())  # the deferred entries die with the process
        with pytest.raises(Killed):
            migrate(fake_intercom, stage, cw, run_id="r1")
    assert [e for e in cw.iter_migration("m1") if e.state == State.PENDING]
    migrate(fake_intercom, stage, cw, run_id="r2")
    assert fake_intercom.state() == clean.state()
    assert not [e for e in cw.iter_migration("m1") if e.state == State.PENDING]


def test_parts_load_one_chunk_at_a_time():
    # a source may split one ticket's messages over two chunks (the export bundle's file slices do): two chunks at
    # once interleave its parts at random (seen on the export-intercom parity run); the fan-out is within a chunk
    assert P.PHASE_BY_NAME[P.PARTS].max_concurrency == 1
    assert P.TICKET_SCOPED[P.PARTS] == "_ticket"
