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


def test_invoke_shows_what_the_action_printed_and_its_traceback(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/boom")
    assert "t/boom[" in result.stderr and "stdout: using token ********" in result.stderr
    assert 'File "' in result.stderr and "boom.py\", line 5, in main" in result.stderr
    assert "stderr: ValueError: upstream refused token ********" in result.stderr
    assert "tok-very-secret-123" not in result.stdout + result.stderr


def test_invoke_takes_key_value_words_as_params(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/echo", "name=Bob", "n=3", "-p", "n", "4")
    assert result.returncode == 0, result.stderr
    args = json.loads(result.stdout)["body"]["args"]
    assert (args["name"], args["n"]) == ("Bob", 4)  # -p over key=value, as the later wins
    bad = _invoke(runtime_project, "t/echo", "name")
    assert bad.returncode != 0 and "give arguments as KEY=VALUE" in bad.stderr


def test_invoke_with_services_runs_the_projects_services_for_it(tmp_path: Path) -> None:
    from support import copy_project

    project = copy_project("services_project", tmp_path)
    env = {**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "none.env")}
    env.pop("REDIS_URL", None)
    counts = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "streamwhisk", "invoke", "cache/counter",
                               "--services", "auto", "--project", str(project)],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        counts.append(json.loads(done.stdout)["body"]["count"])
    assert counts == [1, 2]  # a real Redis, its data kept between runs


def test_invoke_of_a_missing_action_says_where_it_looked(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/absent")
    assert result.returncode == 1
    assert "packages/t/absent.py" in result.stderr


REPO = Path(__file__).resolve().parent.parent


def test_invoke_stream_prints_each_message_as_it_arrives(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "streamwhisk", "invoke", "chat/countdown", "-p", "input",
               "2", "-p", "delay", "0.5", "--stream", "--project", str(REPO)]
    env = {**os.environ, "STREAMWHISK_LOGIN_FILE": str(tmp_path / "no-login.env")}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        still_counting = process.poll() is None
        rest = process.stdout.read()
    assert (first, rest) == ("2...\n", "1...\nGo!\n")
    assert still_counting, "the first line came only when the action had finished"
    assert process.returncode == 0


def test_invoke_stream_json_prints_the_relayed_lines_and_done(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streamwhisk", "invoke", "chat/countdown", "-p", "input", "1",
         "-p", "delay", "0", "--stream", "--json", "--project", str(REPO)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "STREAMWHISK_LOGIN_FILE": str(tmp_path / "no-login.env")},
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[:2] == [{"output": "1...\n"}, {"output": "Go!\n"}]
    assert lines[-1]["done"] is True and lines[-1]["result"]["body"]["streaming"] is True


def test_invoke_stream_of_a_failing_action_exits_1(runtime_project: Path) -> None:
    result = _invoke(runtime_project, "t/boom", "--stream")
    assert result.returncode == 1
    assert "Error: An error has occurred: ValueError" in result.stderr


def test_invoke_with_no_ollama_host_uses_the_dev_ollama(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    env["STREAMWHISK_LOGIN_FILE"] = str(tmp_path / "no-login.env")
    result = subprocess.run(
        [sys.executable, "-m", "streamwhisk", "invoke", "chat/stateless", "-p", "input",
         "Capital of Italy", "--stream", "--project", str(REPO)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Rome" in result.stdout
    assert "streamwhisk dev ollama (scripted replies, not an LLM)" in result.stderr


HOSTILE = "\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://evil.example\x07link\x1b]8;;\x07\x1b[2J\x9b31m"


def test_model_output_is_shown_never_obeyed_by_the_terminal(tmp_path: Path) -> None:
    """Clipboard writes (OSC 52), links (OSC 8), screen clears, C1 controls: printed as
    caret notation in text, as \\u escapes in JSON."""
    action = tmp_path / "packages" / "say" / "it.py"
    action.parent.mkdir(parents=True)
    action.write_text(
        "import json, socket\n\n"
        "def main(args):\n"
        "    text = args['text']\n"
        "    if 'STREAM_HOST' in args:\n"
        "        with socket.create_connection((args['STREAM_HOST'], int(args['STREAM_PORT'])))"
        " as out:\n"
        "            out.sendall(json.dumps({'output': text}).encode())\n"
        "    return {'body': {'output': text}}\n")
    for mode in ([], ["--stream"], ["--stream", "--json"]):
        result = _invoke(tmp_path, "say/it", "-p", "text", json.dumps(HOSTILE), *mode)
        assert result.returncode == 0, result.stderr
        printed = result.stdout + result.stderr
        assert "\x1b" not in printed and "\x07" not in printed and "\x9b" not in printed
        assert ("^[]52;c;ZXZpbA==^G" in printed) or ("\\u001b]52;c;ZXZpbA==" in printed), (
            mode, printed)
