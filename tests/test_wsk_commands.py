"""`streamwhisk action ...` and `streamwhisk url`, as the course's lesson 1 uses `ops action`
and `ops url`: an action in the default package, made, run and removed on the running `up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from streamwhisk.testing import RunningServer, serve

REVERSE = "def main(args):\n    return {'output': args.get('input', '')[::-1]}\n"


@pytest.fixture
def lesson(tmp_path: Path) -> Iterator[tuple[RunningServer, Path, dict[str, str]]]:
    project = tmp_path / "lesson1"
    (project / "packages").mkdir(parents=True)
    (project / "reverse.py").write_text(REVERSE)
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    env.pop("STREAMWHISK_URL", None)
    with serve(project, log_path=tmp_path / "log",
               env={"STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"], "AUTH": None}) as up:
        yield up, project, env


def run(lesson: tuple[RunningServer, Path, dict[str, str]],
        *args: str) -> subprocess.CompletedProcess[str]:
    _, project, env = lesson
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_action_in_the_default_package_is_made_run_and_removed_as_in_lesson_one(
        lesson: tuple[RunningServer, Path, dict[str, str]]) -> None:
    up = lesson[0]
    created = run(lesson, "action", "create", "reverse", "reverse.py", "--web", "true")
    assert created.stdout == "ok: created action reverse\n", created.stderr
    again = run(lesson, "action", "create", "reverse", "reverse.py")
    assert again.returncode != 0 and "resource already exists" in again.stderr
    result = run(lesson, "action", "invoke", "reverse", "-p", "input", "hello", "-r")
    assert json.loads(result.stdout) == {"output": "olleh"}, result.stderr
    invoked = run(lesson, "action", "invoke", "reverse", "-p", "input", "hi")
    assert invoked.stdout.startswith("ok: invoked /_/reverse with id "), invoked.stderr
    url = run(lesson, "url", "reverse").stdout.strip()
    assert url == f"{up.url}/api/v1/web/guest/default/reverse"
    assert httpx.get(url + ".json", params={"input": "abc"}, timeout=30).json() == \
        {"output": "cba"}  # .json: the whole result, as OpenWhisk answers it
    listed = run(lesson, "action", "list").stdout.splitlines()
    assert listed[0] == "actions" and any(line.startswith("/guest/reverse ") for line in listed)
    got = run(lesson, "action", "get", "reverse").stdout
    assert got.startswith("ok: got action reverse\n")
    assert json.loads(got.split("\n", 1)[1])["namespace"] == "guest"
    updated = run(lesson, "action", "update", "reverse", "-p", "input", "fixed")
    assert updated.stdout == "ok: updated action reverse\n", updated.stderr
    assert json.loads(run(lesson, "action", "invoke", "reverse", "-r").stdout) == \
        {"output": "dexif"}  # the parameter changed, the code stayed
    assert run(lesson, "action", "delete", "reverse").stdout == "ok: deleted action reverse\n"
    assert httpx.get(url, timeout=30).status_code == 404


def test_an_action_in_a_package_makes_its_package(
        lesson: tuple[RunningServer, Path, dict[str, str]]) -> None:
    up = lesson[0]
    assert run(lesson, "action", "update", "demo/reverse", "reverse.py", "--web", "true"
               ).stdout == "ok: updated action demo/reverse\n"
    assert httpx.get(f"{up.url}/api/v1/web/guest/demo/reverse.json?input=ab",
                     timeout=30).json() == {"output": "ba"}
    missing = run(lesson, "url", "demo/nothing")
    assert missing.returncode != 0 and "does not exist" in missing.stderr
