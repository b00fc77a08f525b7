"""The outcome of a whole migration (MariaDB → emulator, real clients): a phase whose rejected share passes the
threshold stops the run before its dependants load and names the cause; once fixed, a re-run loads the rejected
records and completes."""

from __future__ import annotations

from hdm.engines.local import LocalEngine
from hdm.pipeline.report import exit_status, saved_report


def test_rejects_over_the_threshold_stop_before_the_comments_and_a_fixed_rerun_completes(rehearsal, tmp_path):
    make, db, sfemu = rehearsal
    sfemu.admin.knobs(validation_rules={"Case": {"fraction": 0.3, "message": "Cases need a product"}})
    config = make("e2e-threshold")
    work = tmp_path / "work"
    first = LocalEngine(config, workdir=work, progress=False).run(approve=True)
    assert first.status == "failed"
    assert "phase cases" in first.message and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in first.message
    assert "Cases need a product" in first.message
    assert sfemu.admin.counts().get("CaseComment", 0) == 0, "comments depend on Cases: they must not load"
    report = saved_report(first.folder)
    assert report["outcome"] == "failed" and exit_status(first.status, report, first.run_id) == 11

    sfemu.admin.knobs(validation_rules={})
    second = LocalEngine(config, workdir=work, progress=False).run()
    assert second.status == "succeeded", second.message
    cases = next(p for p in second.report["phases"] if p["phase"] == "cases")
    assert cases["rejected"] == 0 and cases["loaded"] == cases["source"]
    assert sfemu.admin.counts()["CaseComment"] > 0
    assert second.report["outcome"] in ("clean", "needs_attention")
    assert exit_status(second.status, second.report, second.run_id) == second.report["exit_status"] != 11
