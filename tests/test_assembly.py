"""One run, assembled once: the project's layers, the services plan, the dev-Ollama decision,
the key and the report, as `up`, `invoke`, `test`, `shell` and `runtimes` build them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from streamwhisk import runs
from streamwhisk.assembly import Run, RunChoices, RunReport
from streamwhisk.testing import serve

ACTION = """#--web true
#--param OLLAMA_HOST $OLLAMA_HOST
#--param REDIS_URL $REDIS_URL
#--param OPSDEV_HOST $OPSDEV_HOST
def main(args):
    return {"body": {k: args.get(k) for k in ("OLLAMA_HOST", "REDIS_URL", "OPSDEV_HOST")}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("OLLAMA_HOST", "REDIS_URL", "AUTH"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "packages" / "chat").mkdir(parents=True)
    (tmp_path / "packages" / "chat" / "ask.py").write_text(ACTION)
    return tmp_path


def params(run: Run) -> dict[str, object]:
    return run.project.load("chat", "ask").params


def test_the_dev_ollama_is_wanted_when_no_layer_sets_the_llm_and_then_is_its_address(
        project: Path) -> None:
    run = Run(RunChoices(project, dev_ollama="auto"))
    assert run.wants_dev_ollama
    assert params(run)["OLLAMA_HOST"] == ""
    run.dev_ollama_started("http://127.0.0.1:4321")
    assert params(run)["OLLAMA_HOST"] == "127.0.0.1:4321"
    assert run.report().dev_ollama == "http://127.0.0.1:4321"


def test_a_configured_llm_keeps_auto_from_starting_one_and_always_wins_over_it(
        project: Path) -> None:
    (project / ".env").write_text("OLLAMA_HOST=https://me:s3cret@ollama.example\n")
    assert not Run(RunChoices(project, dev_ollama="auto")).wants_dev_ollama
    run = Run(RunChoices(project, dev_ollama="always"))
    assert run.wants_dev_ollama
    run.dev_ollama_started("http://127.0.0.1:4321")
    assert params(run)["OLLAMA_HOST"] == "127.0.0.1:4321"
    report = run.report()
    assert report.ollama_host == "https://********@ollama.example (from .env)"
    assert "s3cret" not in report.to_json()


def test_the_services_auto_starts_give_their_values_and_always_wins_over_a_layer(
        project: Path) -> None:
    run = Run(RunChoices(project, services="auto"))
    port = run.report().services["redis"]
    assert f":{port}" in str(params(run)["REDIS_URL"])
    (project / ".env").write_text("REDIS_URL=redis://elsewhere:6379\n")
    assert Run(RunChoices(project, services="auto")).report().services == {}
    always = Run(RunChoices(project, services="always"))
    assert f":{always.report().services['redis']}" in str(params(always)["REDIS_URL"])


def test_a_served_run_tells_actions_its_public_origin(project: Path) -> None:
    run = Run(RunChoices(project), "http://0.0.0.0:8123", bound_to="0.0.0.0")
    assert params(run)["OPSDEV_HOST"] == "http://localhost:8123"
    assert Run(RunChoices(project)).platform == {"OPSDEV_USERNAME": "guest",
                                                "NUVDEV_USERNAME": "guest"}


def test_the_report_says_where_the_key_comes_from_never_the_key(project: Path) -> None:
    run = Run(RunChoices(project), "http://127.0.0.1:8124")
    key, source = run.api_key()
    report = run.report()
    assert report.key_source == source and "a key made for this run" in source
    assert key not in report.to_json() and key.split(":")[1] not in report.to_json()
    assert RunReport.from_json(report.to_json()) == report


def test_a_running_up_notes_its_report_for_chat_and_forgets_it_when_it_ends(
        project: Path, tmp_path: Path) -> None:
    with serve(project, "--dev-ollama", "always", "--services", "auto",
               log_path=tmp_path / "up.log") as server:
        report = runs.running(project)
        assert report is not None and report.url == server.url and report.pid == server.pid
        assert report.dev_ollama is not None and set(report.services) == {"redis"}
        assert httpx.get(f"{report.dev_ollama}/api/version").status_code == 200
        answer = httpx.get(f"{server.url}/api/v1/web/guest/chat/ask").json()
        assert answer["OLLAMA_HOST"] == report.dev_ollama.removeprefix("http://")
        assert f":{report.services['redis']}" in answer["REDIS_URL"]
    assert runs.running(project) is None
