"""Every invocation on the record: OpenWhisk's activation records, kept in the project's
journal, read through OpenWhisk's REST API (ours and the npm client), the CLI, the page's
trace route; a replay records what it replays."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import copy_project, run_streamwhisk

from streamwhisk.testing import RunningServer, serve, wait_until

AUTH = "5c1d9e7a-activations:key-of-the-activation-tests"
WAIT = 60  # seconds a request may take: a cold start in a loaded full run can take several
SECRET = "s3cret-activation-token-42"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr): ")
INTEROP = Path(__file__).parent / "interop"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project("activations_project", tmp_path_factory.mktemp("activations"))


@pytest.fixture(scope="module")
def env(project: Path) -> dict[str, str]:
    return {**os.environ, "STREAMWHISK_DATA_DIR": str(project.parent / "data"), "AUTH": AUTH}


@pytest.fixture(scope="module")
def up(project: Path, env: dict[str, str]) -> Iterator[RunningServer]:
    with serve(project, log_path=project.parent / "up.log",
               env={"STREAMWHISK_DATA_DIR": env["STREAMWHISK_DATA_DIR"],
                    "AUTH": AUTH}) as running:
        yield running


@pytest.fixture
def api(up: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{up.url}/api/v1/namespaces/_", auth=tuple(AUTH.split(":")),
                      timeout=60) as client:
        yield client


def record_of(api: httpx.Client, activation_id: str) -> dict[str, Any]:
    """The record, once written (the journal writes it off the event loop)."""
    assert wait_until(lambda: api.get(f"/activations/{activation_id}").status_code == 200,
                      timeout=10), activation_id
    return dict(api.get(f"/activations/{activation_id}").json())


def annotation(record: dict[str, Any], key: str) -> Any:
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def test_a_web_action_names_its_activation_and_its_record_has_openwhisks_shape(
        up: RunningServer, api: httpx.Client) -> None:
    answer = httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT, params={"name": "ann"})
    assert answer.status_code == 200
    activation_id = answer.headers["x-openwhisk-activation-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", activation_id)
    record = record_of(api, activation_id)
    assert {k: record[k] for k in ("activationId", "namespace", "name", "version", "subject")} \
        == {"activationId": activation_id, "namespace": "guest/a", "name": "hello",
            "version": "0.0.1", "subject": "guest"}
    assert record["end"] - record["start"] == record["duration"] >= 0
    assert record["response"] == {"status": "success", "statusCode": 0, "success": True,
                                  "result": {"body": "hi ann", "token": "********"}}
    assert [LOG_LINE.sub("", line) for line in record["logs"]] == [
        "hello ann token ********", "to stderr"]
    assert all(LOG_LINE.match(line) for line in record["logs"])
    assert annotation(record, "path") == "guest/a/hello"
    assert annotation(record, "kind") == "python:default"
    assert annotation(record, "limits") == {"timeout": 60000, "memory": 256,
                                            "concurrency": 1, "logs": 10}
    assert isinstance(annotation(record, "waitTime"), int)
    args = record["trace"]["args"]
    assert {k: v for k, v in args.items() if not k.startswith("__ow_")} == {"name": "ann"}
    assert args["__ow_method"] == "get"
    assert record["trace"]["parameters"] == ["SECRET_TOKEN"]
    assert SECRET not in json.dumps(record)


def test_a_cold_start_has_its_init_time_and_a_warm_one_none(up: RunningServer,
                                                            api: httpx.Client) -> None:
    ids = [httpx.get(f"{up.url}/api/v1/web/guest/a/big", timeout=WAIT, params={"size": 3})
           .headers["x-openwhisk-activation-id"] for _ in range(2)]
    cold, warm = (record_of(api, i) for i in ids)
    assert isinstance(annotation(cold, "initTime"), int)
    assert annotation(warm, "initTime") is None


def test_the_four_outcomes_are_openwhisks(up: RunningServer, api: httpx.Client) -> None:
    failed = api.post("/actions/a/hello", params={"blocking": "true"}, json={"fail": True})
    assert failed.status_code == 502  # the action's own error, as OpenWhisk answers it
    assert failed.json()["response"] == {"status": "application error", "statusCode": 1,
                                         "success": False, "result": {"error": "asked to fail"}}
    crashed = httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT, params={"crash": 1})
    record = record_of(api, crashed.headers["x-openwhisk-activation-id"])
    assert record["response"]["status"] == "action developer error"
    assert record["response"]["statusCode"] == 2
    assert any("ValueError: boom" in line for line in record["logs"])  # its traceback


def test_a_non_blocking_invoke_is_read_back_by_id_its_logs_and_its_result(
        api: httpx.Client) -> None:
    started = api.post("/actions/a/hello", json={"name": "later"})
    assert started.status_code == 202
    activation_id = started.json()["activationId"]
    assert record_of(api, activation_id)["response"]["result"]["body"] == "hi later"
    logs = api.get(f"/activations/{activation_id}/logs").json()["logs"]
    assert LOG_LINE.sub("", logs[0]) == "hello later token ********"
    assert api.get(f"/activations/{activation_id}/result").json()["result"]["body"] \
        == "hi later"


def test_the_list_filters_pages_and_briefs_as_openwhisks_does(up: RunningServer,
                                                              api: httpx.Client) -> None:
    ids = [httpx.get(f"{up.url}/api/v1/web/guest/a/big", timeout=WAIT, params={"size": 5})
           .headers["x-openwhisk-activation-id"] for _ in range(3)]
    record_of(api, ids[-1])
    newest = api.get("/activations", params={"name": "a/big", "limit": 2}).json()
    assert [r["activationId"] for r in newest] == ids[:0:-1]
    assert "response" not in newest[0] and newest[0]["statusCode"] == 0
    skipped = api.get("/activations", params={"name": "big", "limit": 1, "skip": 1}).json()
    assert [r["activationId"] for r in skipped] == [ids[1]]
    docs = api.get("/activations", params={"name": "a/big", "limit": 1, "docs": "true"})
    assert docs.json()[0]["response"]["result"] == {"body": "xxxxx"}
    start = record_of(api, ids[1])["start"]
    since = api.get("/activations", params={"name": "a/big", "since": start, "upto": start})
    assert ids[1] in [r["activationId"] for r in since.json()]
    assert api.get("/activations", params={"limit": 201}).status_code == 400
    assert api.get("/activations", params={"skip": "x"}).status_code == 400


def test_activations_need_the_key_and_an_unknown_one_is_a_404(up: RunningServer,
                                                              api: httpx.Client) -> None:
    assert httpx.get(f"{up.url}/api/v1/namespaces/_/activations").status_code == 401
    assert api.get("/activations/" + "0" * 32).status_code == 404
    assert api.get("/activations/" + "0" * 32 + "/logs").status_code == 404


def test_a_stream_is_recorded_with_each_message_its_count_and_first_message(
        up: RunningServer, api: httpx.Client) -> None:
    with httpx.stream("POST", f"{up.url}/web/_/a/story", timeout=60,
                      json={"input": "hi", "count": 4, "state": "before"}) as answer:
        lines = [json.loads(line) for line in answer.iter_lines() if line]
        activation_id = answer.headers["x-openwhisk-activation-id"]
    assert lines[-1]["done"] is True
    record = record_of(api, activation_id)
    stream = annotation(record, "stream")
    assert stream["messages"] == 5 and isinstance(stream["firstMessageMs"], int)
    assert [m["message"] for m in record["trace"]["stream"]] == lines[:-1]
    times = [m["at"] for m in record["trace"]["stream"]]
    assert times == sorted(times)
    args = record["trace"]["args"]
    assert {k: v for k, v in args.items() if not k.startswith("__ow_")} == {
        "input": "hi", "count": 4, "state": "before"}
    assert record["response"]["result"]["state"] == "after hi"


@pytest.mark.parametrize(("how", "said"), [("die", "exited unexpectedly"),
                                           ("hog", "memory")])
def test_a_stream_cut_by_a_crash_or_an_out_of_memory_kill_is_a_developer_error(
        up: RunningServer, api: httpx.Client, how: str, said: str) -> None:
    with httpx.stream("POST", f"{up.url}/web/_/a/story", timeout=60,
                      json={"count": 5, how: True}) as answer:
        lines = [json.loads(line) for line in answer.iter_lines() if line]
        activation_id = answer.headers["x-openwhisk-activation-id"]
    assert "error" in lines[-1]
    record = record_of(api, activation_id)
    assert record["response"]["statusCode"] == 2, record["response"]
    assert said in record["response"]["result"]["error"]
    assert annotation(record, "stream")["messages"] == 2


def test_the_npm_client_reads_activations_unchanged(up: RunningServer) -> None:
    node = shutil.which("node")
    assert node and (INTEROP / "node_modules" / "openwhisk").is_dir(), "run `make setup`"
    done = subprocess.run([node, str(INTEROP / "activations.js")],
                          env={**os.environ, "APIHOST": up.url, "AUTH": AUTH},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    seen = json.loads(done.stdout)
    assert seen["got"]["activationId"] == seen["id"]
    assert seen["id"] in seen["listed"]
    assert any("hello npm" in line for line in seen["logs"]["logs"])
    assert seen["result"]["result"]["body"] == "hi npm"


def test_a_page_reads_the_trace_of_what_it_ran_and_nothing_else(up: RunningServer) -> None:
    answer = httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT, params={"name": "page"})
    activation_id, key = (answer.headers["x-openwhisk-activation-id"],
                          answer.headers["x-streamwhisk-trace"])
    trace = f"{up.url}/_streamwhisk/activations/{activation_id}"
    assert wait_until(lambda: httpx.get(trace, params={"key": key}).status_code == 200)
    assert httpx.get(trace, params={"key": key}).json()["trace"]["args"]["name"] == "page"
    assert httpx.get(trace, params={"key": "0" * 32}).status_code == 404
    assert httpx.get(trace).status_code == 404
    foreign = httpx.get(trace, params={"key": key}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_the_cli_lists_gets_and_shows_logs_and_results_as_wsk_does(
        up: RunningServer, project: Path, env: dict[str, str]) -> None:
    activation_id = httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT,
                              params={"name": "cli"}).headers["x-openwhisk-activation-id"]
    where = ("--project", str(project))
    assert wait_until(lambda: activation_id in run_streamwhisk(
        "activation", "list", *where, env=env).stdout, timeout=10)
    listed = run_streamwhisk("activation", "list", "a/hello", "--limit", "50", *where, env=env)
    assert listed.stdout.splitlines()[0].split() == [
        "Datetime", "Activation", "ID", "Kind", "Start", "Duration", "Status", "Entity"]
    row = next(line for line in listed.stdout.splitlines() if activation_id in line)
    assert row.split()[-2:] == ["success", "guest/a/hello:0.0.1"]
    got = run_streamwhisk("activation", "get", activation_id, *where, env=env)
    assert got.stdout.startswith(f"ok: got activation {activation_id}\n")
    assert json.loads(got.stdout.split("\n", 1)[1])["activationId"] == activation_id
    logs = run_streamwhisk("activation", "logs", activation_id, "--strip", *where, env=env)
    assert logs.stdout.splitlines() == ["hello cli token ********", "to stderr"]
    result = run_streamwhisk("activation", "result", "--last", "a/hello", *where, env=env)
    assert json.loads(result.stdout)["body"] == "hi cli"
    missing = run_streamwhisk("activation", "get", "0" * 32, *where, env=env)
    assert missing.returncode == 1 and "activation list" in missing.stderr


def test_poll_follows_new_activations_and_their_logs(up: RunningServer, project: Path,
                                                     env: dict[str, str]) -> None:
    polling = subprocess.Popen(
        [os.sys.executable, "-m", "streamwhisk", "activation", "poll", "a/hello", "--exit",
         "20", "--project", str(project)], env=env, stdout=subprocess.PIPE, text=True)
    assert polling.stdout is not None
    try:
        assert polling.stdout.readline().startswith("Enter Ctrl-c to exit.")
        polling.stdout.readline()
        httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT, params={"name": "polled"})
        seen = ""
        while "hello polled" not in seen:
            line = polling.stdout.readline()
            assert line, seen
            seen += line
        assert "Activation: 'hello' (" in seen
    finally:
        polling.send_signal(signal.SIGINT)
        polling.wait(10)


def test_a_replay_runs_the_same_arguments_and_records_what_it_replays(
        up: RunningServer, project: Path, env: dict[str, str], api: httpx.Client) -> None:
    first = httpx.get(f"{up.url}/api/v1/web/guest/a/hello", timeout=WAIT, params={"name": "again"})
    activation_id = first.headers["x-openwhisk-activation-id"]
    record_of(api, activation_id)
    where = ("--project", str(project), "--url", up.url)
    replayed = run_streamwhisk("activation", "replay", activation_id, *where, env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["body"] == "hi again"
    changed = run_streamwhisk("activation", "replay", activation_id, "-p", "name", "other",
                              *where, env=env)
    assert json.loads(changed.stdout)["body"] == "hi other"

    def newest() -> dict[str, Any]:
        return dict(api.get("/activations", params={"name": "a/hello", "limit": 1,
                                                   "docs": "true"}).json()[0])

    assert wait_until(lambda: newest()["trace"]["args"].get("name") == "other")
    assert annotation(newest(), "replayOf") == activation_id


def test_a_streamed_activation_replays_as_a_stream(up: RunningServer, project: Path,
                                                   env: dict[str, str],
                                                   api: httpx.Client) -> None:
    with httpx.stream("POST", f"{up.url}/web/_/a/story", json={"input": "x", "count": 2},
                      timeout=60) as s:
        for _ in s.iter_lines():
            pass
        activation_id = s.headers["x-openwhisk-activation-id"]
    record_of(api, activation_id)
    replayed = run_streamwhisk("activation", "replay", activation_id, "--project",
                               str(project), "--url", up.url, env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert "word0 word1" in replayed.stdout


def test_invoke_records_its_activation_too(project: Path, env: dict[str, str]) -> None:
    done = run_streamwhisk("invoke", "a/hello", "name=invoked", "--project", str(project),
                           env=env)
    assert done.returncode == 0, done.stderr
    result = run_streamwhisk("activation", "result", "--last", "a/hello", "--project",
                             str(project), env=env)
    assert json.loads(result.stdout)["body"] == "hi invoked"


def test_the_newest_are_kept_within_the_bounds_and_survive_a_killed_server(
        tmp_path: Path) -> None:
    project = copy_project("activations_project", tmp_path)
    data = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "AUTH": AUTH}
    with serve(project, "--keep-activations", "5", log_path=tmp_path / "up.log",
               env=data) as running, httpx.Client(timeout=60) as client:
        ids = [client.get(f"{running.url}/api/v1/web/guest/a/big", params={"size": 10})
               .headers["x-openwhisk-activation-id"] for _ in range(12)]
        listed = f"{running.url}/api/v1/namespaces/_/activations"

        def newest() -> list[str]:
            found = client.get(listed, auth=tuple(AUTH.split(":")), params={"limit": 50})
            return [r["activationId"] for r in found.json()]

        assert wait_until(lambda: newest()[:1] == ids[-1:], timeout=10)
        assert wait_until(lambda: newest() == ids[:6:-1], timeout=10), newest()
        running.process.send_signal(signal.SIGKILL)
        running.process.wait()
    env = {**os.environ, **data}
    kept = run_streamwhisk("activation", "list", "--project", str(project), env=env)
    assert [line.split()[2] for line in kept.stdout.splitlines()[1:]] == ids[:6:-1]


def test_megabytes_bound_the_journal_too(tmp_path: Path) -> None:
    project = copy_project("activations_project", tmp_path)
    data = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "AUTH": AUTH}
    with serve(project, "--activations-mb", "1", log_path=tmp_path / "up.log",
               env=data) as running, httpx.Client(timeout=60) as client:
        for _ in range(8):  # 300 kB each: 8 of them do not fit in 1 MB
            client.get(f"{running.url}/api/v1/web/guest/a/big", params={"size": 300_000})
        listed = f"{running.url}/api/v1/namespaces/_/activations"
        assert wait_until(lambda: len(client.get(listed, auth=tuple(AUTH.split(":")),
                                                 params={"limit": 50}).json()) <= 3,
                          timeout=10)
