"""The emulator's record store: written through to SQLite (a reopened store has the same records and sequences) with
secondary indexes kept up to date on every put and delete."""

from __future__ import annotations

from hdm_infra.intercomemu.store import Store


def test_records_sequences_and_indexes_survive_a_reopen(tmp_path):
    path = tmp_path / "w.sqlite3"
    store = Store(path)
    store.add_index("contact", "by_email", lambda c: [c.get("email")])
    store.put("contact", {"id": "a", "email": "x@y"})
    store.put("contact", {"id": "b", "email": "x@y"})
    assert [c["id"] for c in store.lookup("by_email", "x@y")] == ["a", "b"]
    store.put("contact", {"id": "a", "email": "new@y"})  # re-filed under its new key
    assert [c["id"] for c in store.lookup("by_email", "x@y")] == ["b"]
    store.delete("contact", "b")
    assert store.lookup("by_email", "x@y") == []
    assert store.next_id("ticket", 100) == 100 and store.next_id("ticket", 100) == 101
    store.close()
    again = Store(path)
    again.add_index("contact", "by_email", lambda c: [c.get("email")])
    assert [c["id"] for c in again.lookup("by_email", "new@y")] == ["a"]
    assert again.next_id("ticket", 100) == 102
    again.clear()
    assert again.lookup("by_email", "new@y") == [] and again.counts()["contact"] == 0
