"""`hdm stage-input` refuses clearly: a source that takes no upload (whatever its base class), and, on AWS, a
migration with a run in progress (workers read the stage then)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hdm import cli, exitcodes
from hdm.engines.aws import TriggerApiError


class PlainSource:  # not built on SourceBase: no stage_input at all
    system = "plain"

    def close(self) -> None:
        pass


class Uploading(PlainSource):
    def __init__(self):
        self.staged = []

    def stage_input(self, stage, path):
        self.staged.append(path)
        return ["inputs/x/manifest.json"]


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"migration_id": "mig-1", "source": {"type": "export", "path": str(tmp_path)},
                                "destination": {"type": "salesforce", "username": "u"}}))
    monkeypatch.delenv("HDM_RUNS_TABLE", raising=False)
    return path


def _invoke(config, *extra):
    return CliRunner().invoke(cli.main, ["stage-input", "--config", str(config), *extra, str(config.parent)])


def test_a_source_without_stage_input_is_refused_as_a_source_error_not_a_crash(config, monkeypatch):
    monkeypatch.setattr("hdm.engines.factories.build_source", lambda cfg: PlainSource())
    result = _invoke(config)
    assert result.exit_code == exitcodes.SOURCE, result.output
    assert "takes no uploaded export" in result.output


@pytest.mark.parametrize(("state", "refused"), [
    ({"status": "running", "execution": {"status": "RUNNING"}}, True),
    ({"status": "rollback_started", "execution": {}}, True),
    ({"status": "awaiting_approval", "execution": {"status": "RUNNING"}}, True),
    ({"status": "succeeded", "execution": {"status": "SUCCEEDED"}}, False),
    (None, False),  # the stack does not know the migration yet
])
def test_on_aws_a_run_in_progress_refuses_the_upload(config, monkeypatch, state, refused):
    source = Uploading()
    monkeypatch.setattr("hdm.engines.factories.build_source", lambda cfg: source)

    class Api:
        def status(self, migration_id):
            if state is None:
                raise TriggerApiError(404, {"message": "no such migration"})
            return state

    monkeypatch.setattr(cli, "_aws_client", lambda url: Api())

    class FakeStage:
        def __init__(self, *a, **k):
            pass

        def uri(self, key):
            return f"s3://b/{key}"

    monkeypatch.setattr("hdm.stage.s3.S3Stage", FakeStage)
    monkeypatch.setattr("boto3.client", lambda *a, **k: object())
    result = _invoke(config, "--engine", "aws", "--stage-bucket", "b", "--api-url", "https://api.example.test")
    if refused:
        assert result.exit_code == exitcodes.LOCKED, result.output
        assert "in progress" in result.output and source.staged == []
    else:
        assert result.exit_code == 0, result.output
        assert source.staged


def test_on_aws_without_a_way_to_check_the_run_state_it_asks_for_the_api_url(config, monkeypatch):
    monkeypatch.setattr("hdm.engines.factories.build_source", lambda cfg: Uploading())
    result = _invoke(config, "--engine", "aws", "--stage-bucket", "b")
    assert result.exit_code == exitcodes.CONFIG and "--api-url" in result.output
