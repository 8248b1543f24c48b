"""`streamwhisk invoke`: one activation from the terminal, result on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _invoke(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streamwhisk", "invoke", *args, "--project", str(project)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "STREAMWHISK_LOGIN_FILE": str(project / "no-login.env")},
    )


def test_invoke_prints_the_result_as_json(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/echo", "-p", "name", "Bob", "-p", "n", "3")
    assert result.returncode == 0, result.stderr
    args = json.loads(result.stdout)["body"]["args"]
    assert (args["name"], args["n"], args["GREETING"]) == ("Bob", 3, "hello")


def test_invoke_of_a_failing_action_exits_1_with_a_one_line_reason(
    runtime_project: Path,
) -> None:
    result = _invoke(runtime_project, "t/boom")
    assert result.returncode == 1
    assert "Error: An error has occurred: ValueError" in result.stderr
    assert "tok-very-secret-123" not in result.stdout + result.stderr


def test_invoke_of_a_missing_action_says_where_it_looked(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/absent")
    assert result.returncode == 1
    assert "packages/t/absent.py" in result.stderr
