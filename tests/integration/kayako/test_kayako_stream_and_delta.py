"""The Kayako source's attachments streamed into the stage (a large file never held in memory; a body that
breaks off mid-download is fetched again from its first byte and staged once) and its delta capability
(``delta_mark``/``plan_delta``/``live_keys`` of hdm/delta.py) against the Kayako emulator."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import threading
import tracemalloc
from collections import Counter

import pytest
from hdm.delta import supports_delta
from hdm.http import RetryPolicy
from hdm.sources.kayako.client import KayakoClient
from hdm.sources.kayako.source import KayakoSource
from hdm.stage.local import LocalStage
from hdm_infra.testing.kayakoemu import KayakoHandle

HUGE = 16 * 1024 * 1024


def make_source(k: KayakoHandle, page_size: int = 50) -> KayakoSource:
    creds = k.running.credentials
    client = KayakoClient(k.running.api_url, creds["email"], creds["password"], ca_bundle=str(k.running.cert_path),
                          page_size=page_size, retry=RetryPolicy(attempts=5, base=0.01, cap=0.02, total=30.0),
                          sleep=lambda s: None)
    return KayakoSource(client, page_size=page_size)


@pytest.fixture(scope="module")
def emulator_process(tmp_path_factory):
    """The emulator in a process of its own, so that its copy of the file is not in this process's memory."""
    from hdm_infra.kayakoemu.client import AdminClient
    from hdm_infra.kayakoemu.server import start_subprocess

    running = start_subprocess(tmp_path_factory.mktemp("kayakoemu-proc"))
    try:
        yield KayakoHandle(running=running, admin=AdminClient(running))
    finally:
        running.stop()


def test_a_large_attachment_is_streamed_into_the_stage_with_its_sha256(emulator_process: KayakoHandle, tmp_path):
    kayakoemu = emulator_process
    plan = kayakoemu.admin.seed(cases=3, seed=11, huge_attachment_bytes=HUGE)["plan"]
    src = make_source(kayakoemu)
    chunk = next(c for c in src.plan(100) if c.object_type == "attachment" and c.chunk_id != "attachment-articles")
    stage = LocalStage(tmp_path / "stage")
    src.catalogs()  # the small lists are read before measuring
    tracemalloc.start()
    try:
        records = list(src.extract(chunk, stage))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    huge = [r for r in records if r.provenance.id == str(plan["huge_attachment_id"])]
    assert len(huge) == 1 and huge[0].size == HUGE and not huge[0].flags
    session = kayakoemu.http()
    posts = session.get(kayakoemu.url("/cases/3/posts"), params={"include": "attachment", "limit": 100}).json()
    url = next(a["url_download"] for p in posts["data"] for a in p.get("attachments") or []
               if isinstance(a, dict) and a.get("id") == plan["huge_attachment_id"])
    digest = hashlib.sha256()
    with session.get(url, stream=True) as answer:
        assert answer.status_code == 200
        for block in answer.iter_content(1 << 20):
            digest.update(block)
    assert huge[0].sha256 == digest.hexdigest()
    with stage.open_read(huge[0].blob) as f:
        assert hashlib.sha256(f.read()).hexdigest() == huge[0].sha256
    print(f"extraction peak {peak / 1e6:.2f} MB for a {HUGE / 1e6:.1f} MB file")
    assert peak < HUGE / 4, f"extraction peaked at {peak / 1e6:.1f} MB for a {HUGE / 1e6:.1f} MB file"


class _HalfThenWhole(http.server.BaseHTTPRequestHandler):
    """Answers its first GET with the full Content-Length but only half the body, then drops the connection;
    the next GETs get the whole body."""

    body = bytes(range(256)) * 4096  # 1 MiB
    calls: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.calls.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if len(self.calls) == 1:
            self.wfile.write(self.body[: len(self.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def test_a_download_broken_off_mid_body_is_retried_and_staged_once(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HalfThenWhole)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        waits: list[float] = []
        client = KayakoClient(base, "agent@example.test", "pw", retry=RetryPolicy(attempts=3, base=0.01, cap=0.02),
                              sleep=waits.append)
        client.http.auth = None  # no login on this bare file server
        stage = LocalStage(tmp_path / "stage")
        (stage_key, sha, size), kind = client.download_to(f"{base}/cases/1/posts/2/attachments/3/download",
                                                          stage.put_blob)
    finally:
        server.shutdown()
        server.server_close()
    assert len(_HalfThenWhole.calls) == 2 and len(waits) == 1
    assert size == len(_HalfThenWhole.body) and sha == hashlib.sha256(_HalfThenWhole.body).hexdigest()
    assert kind == "application/pdf"
    files = [p for p in (tmp_path / "stage").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [stage_key.rsplit("/", 1)[1]]  # staged once, no partial file left
    assert client.counters.snapshot()["GET attachment"]["statuses"].get("broken-body") == 1


def test_a_delta_plan_extracts_only_the_cases_changed_since_the_mark(kayakoemu_seeded: KayakoHandle):
    k = kayakoemu_seeded
    src = make_source(k, page_size=10)
    assert supports_delta(src)
    full = Counter()
    for chunk in src.plan(5):
        full.update(r.OBJECT.value for r in src.extract(chunk))
    mark = src.delta_mark()
    assert mark["clock"] == "date_header"
    now = dt.datetime.fromisoformat(mark["now"].replace("Z", "+00:00"))
    assert abs((now - dt.datetime.now(dt.UTC)).total_seconds()) < 120

    idle = make_source(k, page_size=10)
    nothing = [r for c in idle.plan_delta(5, mark, 0, "d0") for r in idle.extract(c)
               if r.OBJECT.value in ("ticket", "message", "contact", "organization", "agent")]
    assert nothing == []  # nothing changed since the mark: no case, post or person read again

    k.admin.touch([2, 4], (now + dt.timedelta(seconds=5)).isoformat())  # a new note post on each, updated_at moved
    delta = make_source(k, page_size=10)
    chunks = delta.plan_delta(5, mark, 60, "d1")
    assert all("-d1-" in c.chunk_id for c in chunks)
    got: dict[str, list] = {}
    for chunk in chunks:
        for r in delta.extract(chunk):
            got.setdefault(r.OBJECT.value, []).append(r)
    assert sorted(r.provenance.id for r in got["ticket"]) == ["2", "4"]
    assert {r.ticket for r in got["message"]} == {"ticket:2", "ticket:4"}
    assert len({r.provenance.id for r in got["message"]}) == len(got["message"])  # nothing twice
    assert "contact" not in got and "organization" not in got and "agent" not in got
    posts = delta.client.counters.snapshot()["GET /cases/{id}/posts"]["calls"]
    assert posts <= 2 * 2  # posts read only for the two changed cases (messages, and files when they have some)
    assert full["ticket"] == len(delta.live_keys()["ticket"])


def test_a_mark_the_source_did_not_write_is_refused(kayakoemu_seeded: KayakoHandle):
    from hdm.delta import DeltaNotSupported

    with pytest.raises(DeltaNotSupported, match="full migration"):
        make_source(kayakoemu_seeded).plan_delta(5, {"now": "2024-01-01 00:00:00"}, 0, "x")
