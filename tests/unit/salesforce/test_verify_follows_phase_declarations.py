"""Which phases are read back after loading comes from the phase declarations (LoadPhase.verified), not from a
list of phase names in verify.py."""

from __future__ import annotations

import dataclasses

from hdm.crosswalk.base import CrosswalkEntry, Origin, State
from hdm.crosswalk.sqlite import SqliteCrosswalk
from hdm.destinations.salesforce import phases as P
from hdm.destinations.salesforce.verify import verify_rows


class Api:
    def __init__(self):
        self.queries = []

    def query_in(self, fields, obj, key, ids):
        self.queries.append((obj, tuple(ids)))
        return [{"Id": i, "Name": "Acme"} for i in ids]


def _setup(tmp_path):
    cw = SqliteCrosswalk(tmp_path / "cw.sqlite")
    cw.put_many([CrosswalkEntry("m", "organization:1", "Account", P.ACCOUNTS, "r", State.LOADED, Origin.CREATED,
                                "001000000000001AAA")])
    return cw, [{"_source_key": "organization:1", "Name": "Acme"}]


def test_a_verified_phase_is_read_back(tmp_path):
    cw, rows = _setup(tmp_path)
    api = Api()
    assert verify_rows(api, cw, "m", P.ACCOUNTS, rows) == []
    assert api.queries == [("Account", ("001000000000001AAA",))]


def test_a_phase_declared_unverified_is_not_read_back_whatever_its_name(tmp_path, monkeypatch):
    cw, rows = _setup(tmp_path)
    unverified = dataclasses.replace(P.PHASE_BY_NAME[P.ACCOUNTS], verified=False)
    monkeypatch.setitem(P.PHASE_BY_NAME, P.ACCOUNTS, unverified)
    api = Api()
    assert verify_rows(api, cw, "m", P.ACCOUNTS, rows) == []
    assert api.queries == []


def test_users_and_queues_are_unverified_by_their_declaration(tmp_path):
    assert not P.PHASE_BY_NAME[P.USERS].verified and not P.PHASE_BY_NAME[P.QUEUES].verified
    cw, rows = _setup(tmp_path)
    api = Api()
    assert verify_rows(api, cw, "m", P.USERS, rows) == [] and api.queries == []
