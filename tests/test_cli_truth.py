"""The CLI tells the truth: exit codes, one-line errors with the fix, what the configuration
holds and where it comes from, where the REST API and its key are, a Ctrl-C that stops at
once, and examples in every --help. Each run as a user would, in a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
from support import COURSE_AUTH, copy_project

from streamwhisk.cli import main
from streamwhisk.testing import serve, wait_until


def cli(*args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, env={**os.environ, **(env or {})})


def project_with(tmp_path: Path, source: str, name: str = "a/b") -> Path:
    package, action = name.split("/")
    (tmp_path / "packages" / package).mkdir(parents=True)
    (tmp_path / "packages" / package / f"{action}.py").write_text(source)
    return tmp_path


REPO = Path(__file__).resolve().parent.parent
NO_LOGIN = {"STREAMWHISK_LOGIN_FILE": "/nonexistent/login.env"}


def test_invoke_exits_1_when_the_action_answers_an_error(tmp_path: Path) -> None:
    project = project_with(tmp_path, "def main(args):\n    return {'error': 'no such city'}\n")
    done = cli("invoke", "a/b", "--project", str(project), env=NO_LOGIN)
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"error": "no such city"}
    assert "a/b answered an error: no such city" in done.stderr


def test_a_mistyped_action_name_suggests_the_closest(runtime_project: Path) -> None:
    done = cli("invoke", "t/ech", "--project", str(runtime_project), env=NO_LOGIN)
    assert done.returncode == 1
    assert "did you mean t/echo" in done.stderr


def test_bad_ports_and_hosts_are_one_line_errors_with_the_fix(runtime_project: Path) -> None:
    port = cli("up", "--project", str(runtime_project), "--port", "99999", env=NO_LOGIN)
    assert port.returncode == 1
    assert port.stderr.strip().splitlines()[-1] == (
        "Error: 99999 is not a port: use one from 1 to 65535, or 0 for a free one "
        "(--port N; with make: make run PORT=8081)")
    host = cli("up", "--project", str(runtime_project), "--host", "nosuch.invalid",
               "--port", "0", env=NO_LOGIN)
    assert host.returncode == 1
    assert "--host takes an address of this machine" in host.stderr
    assert "Traceback" not in port.stderr + host.stderr


def test_config_dump_shows_what_the_actions_use_wherever_it_comes_from(tmp_path: Path) -> None:
    project = project_with(tmp_path, "#--param HOST $OLLAMA_HOST\n#--param KEY $MY_KEY\n"
                                     "def main(args):\n    return {}\n")
    env = {**NO_LOGIN, "OLLAMA_HOST": "10.1.2.3:11434"}
    done = cli("config", "dump", "--sources", "--project", str(project), env=env)
    assert "OLLAMA_HOST=10.1.2.3:11434\t# environment" in done.stdout
    assert "MY_KEY is not set (used by a/b)" in done.stderr
    bare = {k: v for k, v in os.environ.items()
            if k not in ("OLLAMA_HOST", "AUTH", "APIHOST", "OPSDEV_HOST", "OPSDEV_USERNAME")}
    nothing = subprocess.run([sys.executable, "-m", "streamwhisk", "config", "dump",
                              "--project", str(project)], capture_output=True, text=True,
                             timeout=60, env={**bare, **NO_LOGIN})
    assert nothing.stdout == ""
    assert "nothing is set" in nothing.stderr


def test_up_says_where_the_rest_api_is_and_where_its_key_is(runtime_project: Path,
                                                           tmp_path: Path) -> None:
    env = {**NO_LOGIN, "STREAMWHISK_DATA_DIR": str(tmp_path), "AUTH": None}
    with serve(runtime_project, log_path=tmp_path / "up.log", env=env) as up:
        line = next(ln for ln in up.log().splitlines() if ln.startswith("REST API at"))
        assert line.startswith(f"REST API at {up.url}/api/v1, and the #--web-secure true "
                               "actions: HTTP basic auth with a key made for this run, in ")
        key_file = Path(line.rsplit(" in ", 1)[1])
        assert key_file.stat().st_mode & 0o077 == 0
        user, key = key_file.read_text().splitlines()[0].split(":", 1)  # then its address
        assert httpx.get(f"{up.url}/api/v1/namespaces/_/actions", auth=(user, key),
                         timeout=30).status_code == 200
        assert key not in up.log()
        # no service runs for this project: its object store is not announced
        assert "the streamer also at http://stream.localhost:" in up.log()
        assert "object store" not in up.log() and "service " not in up.log()


def test_an_empty_auth_is_no_key_and_the_chats_are_listed(tmp_path: Path) -> None:
    """`AUTH=` (empty) means unset: the REST API gets a key of its own, and mastrogpt/index,
    which lists the chats through it, works."""
    env = {**NO_LOGIN, "STREAMWHISK_DATA_DIR": str(tmp_path), "AUTH": ""}
    with serve(REPO, log_path=tmp_path / "up.log", env=env) as up:
        assert "HTTP basic auth with a key made for this run" in up.log()
        assert "(AUTH in environment is empty: no key)" in up.log()
        index = httpx.get(f"{up.url}/api/my/mastrogpt/index", timeout=30)
        assert index.status_code == 200, index.text
        assert [c["url"] for c in index.json()["services"]["Chat"]] == [
            "chat/simple", "chat/countdown", "chat/stateless"]
        assert httpx.get(f"{up.url}/api/v1/namespaces/_/actions", auth=("", ""),
                         timeout=30).status_code == 401


def test_one_ctrl_c_stops_up_at_once_streams_in_flight_included(tmp_path: Path) -> None:
    project = copy_project("stream_project", tmp_path)
    markers = tmp_path / "markers"
    markers.mkdir()
    with serve(project, log_path=tmp_path / "up.log", env=NO_LOGIN) as up, httpx.stream(
            "POST", f"{up.url}/web/guest/s/endless", json={"markers": str(markers)},
            timeout=30) as response:
        lines = response.iter_lines()
        next(lines), next(lines)
        started = time.monotonic()
        up.process.send_signal(signal.SIGINT)
        up.process.wait(timeout=10)
        stopped_after = time.monotonic() - started
        assert stopped_after < 2, stopped_after
    log = (tmp_path / "up.log").read_text()
    assert "Traceback" not in log
    assert "Cancel" not in log


def test_every_command_has_examples_in_its_help() -> None:
    def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{prefix}{name} ")
            else:
                found.append((f"{prefix}{name}", command))
        return found

    for name, _ in commands(main):
        helped = cli(*name.split(), "--help")
        assert "Example" in helped.stdout, f"streamwhisk {name} --help has no example"


def test_the_dev_ollamas_lines_are_labelled_as_its_own(tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    with serve(project, "--dev-ollama", "always", log_path=tmp_path / "up.log",
               env={**NO_LOGIN, "OLLAMA_HOST": None, "AUTH": COURSE_AUTH}) as up:
        answer = httpx.post(f"{up.url}/api/my/chat/lesson", json={"input": "hello"},
                            timeout=60)
        assert answer.status_code == 200, answer.text
        assert wait_until(lambda: "dev ollama: generate" in up.log())
        log = up.log()
    assert "streamwhisk.dev-ollama: dev ollama: generate llama3.1:8b" in log, log
    assert '"POST /api/generate' not in log  # not as if the main server had served it
    assert log.count("streamwhisk dev ollama (scripted replies, not an LLM) at") == 1
