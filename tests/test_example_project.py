"""The repo is itself an example project: every action in it must load as `make run` serves it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from streamwhisk.names import split_action_name
from streamwhisk.project import Project
from streamwhisk.testing import RunningServer, serve, wait_until

REPO = Path(__file__).resolve().parent.parent
ACTIONS = Project(REPO).action_names()


def test_the_example_project_has_the_lessons_actions() -> None:
    assert "chat/simple" in ACTIONS


# what `streamwhisk up` provides as a cluster's login would
PLATFORM = {"OPSDEV_HOST": "http://127.0.0.1:8080", "OPSDEV_USERNAME": "guest"}


@pytest.mark.parametrize("name", ACTIONS)
def test_every_example_action_loads_with_its_annotations(name: str, tmp_path: Path) -> None:
    project = Project(REPO, login=tmp_path / "no-login.env", defaults=PLATFORM)
    spec = project.load(*split_action_name(name))
    assert spec.annotations.web, f"{name} is not a web action"
    assert "index" in spec.annotations.annotations or name.startswith("mastrogpt/")


def test_mastrogpt_index_lists_the_chats_grouped_in_order(
    streamwhisk_server: RunningServer,
) -> None:
    index = httpx.get(streamwhisk_server.url + "/api/my/mastrogpt/index", timeout=30).json()
    assert index["username"] == "guest"  # OPSDEV_USERNAME: the server's namespace
    assert list(index["services"]) == ["Chat"]
    chats = index["services"]["Chat"]
    assert [(c["name"], c["url"]) for c in chats] == [
        ("Simple", "chat/simple"), ("Countdown", "chat/countdown"),
        ("Stateless", "chat/stateless")]
    assert all(c["description"] for c in chats)


def test_with_no_ollama_host_up_starts_the_dev_ollama_for_the_chats(tmp_path: Path) -> None:
    env: dict[str, str | None] = {"OLLAMA_HOST": None,
                                  "STREAMWHISK_LOGIN_FILE": str(tmp_path / "none.env")}
    with serve(REPO, log_path=tmp_path / "log", env=env) as server:
        assert "streamwhisk dev ollama (scripted replies, not an LLM) at" in server.log()
        answer = httpx.post(server.url + "/web/_/chat/stateless",
                            json={"input": "Capital of Italy"}, timeout=30)
        done = json.loads(answer.text.splitlines()[-1])
        assert "Rome" in done["result"]["body"]["output"]
        simple = httpx.post(server.url + "/api/my/chat/simple", json={"input": "Who are you?"})
        assert "streamwhisk dev model" in simple.json()["output"]


def test_with_ollama_host_set_up_leaves_it_alone(tmp_path: Path) -> None:
    with serve(REPO, log_path=tmp_path / "log") as server:  # OLLAMA_HOST: the session's
        assert "streamwhisk dev ollama (scripted" not in server.log()
        assert "dev ollama not started: OLLAMA_HOST is 127.0.0.1:" in server.log()


def test_never_starting_the_dev_ollama_leaves_an_unset_host_empty_and_says_so(
    tmp_path: Path,
) -> None:
    env: dict[str, str | None] = {"OLLAMA_HOST": None,
                                  "STREAMWHISK_LOGIN_FILE": str(tmp_path / "none.env")}
    with serve(REPO, "--dev-ollama", "never", log_path=tmp_path / "log", env=env) as server:
        assert "unset: $OLLAMA_HOST, needed by chat/simple, chat/stateless: passed as an " \
            "empty string" in server.log()
        response = httpx.post(server.url + "/api/my/chat/simple", json={"input": "hi"})
        assert response.status_code == 200  # as on the cluster: the action says what is wrong
        assert response.json()["output"].startswith("Cannot reach Ollama")
        assert wait_until(lambda: "chat/simple" in server.log() and "$OLLAMA_HOST unset in "
                          "every layer: passed as an empty string" in server.log())
