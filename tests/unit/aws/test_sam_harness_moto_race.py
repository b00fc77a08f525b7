"""The in-process Lambda harness invokes a handler again only when moto's own thread race failed it."""

import pytest
from hdm_infra.testing import sam_harness

_RACE = compile("def boom():\n    raise RuntimeError('dictionary changed size during iteration')\n",
                "/site-packages/moto/dynamodb/models/fake.py", "exec")


def _moto_boom():
    env: dict = {}
    exec(_RACE, env)  # noqa: S102 - a function whose frame sits in a moto path, as moto's own would
    env["boom"]()


def test_a_moto_race_is_invoked_again_and_then_succeeds():
    calls = []

    def handler(payload, ctx):
        calls.append(payload)
        if len(calls) < 3:
            _moto_boom()
        return {"ok": True}

    assert sam_harness._call(handler, {"n": 1}, None) == {"ok": True}
    assert len(calls) == 3


def test_a_race_that_persists_is_raised_after_the_bounded_attempts():
    calls = []

    def handler(payload, ctx):
        calls.append(1)
        _moto_boom()

    with pytest.raises(RuntimeError, match="changed size"):
        sam_harness._call(handler, {}, None)
    assert len(calls) == sam_harness._MOTO_RACE_ATTEMPTS


def test_our_own_runtime_error_is_never_retried():
    calls = []

    def handler(payload, ctx):
        calls.append(1)
        raise RuntimeError("dictionary changed size during iteration")  # hdm's code, not moto's

    with pytest.raises(RuntimeError):
        sam_harness._call(handler, {}, None)
    assert calls == [1]
