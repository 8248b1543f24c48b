"""`streamwhisk deploy` / `undeploy` against the REST API of a real `streamwhisk up`, through a
proxy that keeps every request, each body checked against OpenWhisk's published schema; what
is deployed then runs there, on the web and streamer routes too, and survives a restart."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openwhisk_schema import validate
from package_index import PackageIndex
from recording_proxy import RecordingProxy, recording_proxy
from support import copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

AUTH = "1f7ab2c4-deploy-tests:k3y-for-the-deploy-tests-0042"
SECRET = "deploy-secret-value-771"


def streamwhisk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


def target_env(data_dir: Path) -> dict[str, str | None]:
    return {"AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(data_dir),
            "STREAMWHISK_LOGIN_FILE": str(data_dir / "no-login.env")}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[RunningServer]:
    """A `streamwhisk up` of an empty project: the cluster the tests deploy to."""
    empty = tmp_path_factory.mktemp("cluster")
    (empty / "packages").mkdir()
    with serve(empty, "--log-level", "warning", log_path=empty / "server.log",
               env=target_env(data_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(target: RunningServer) -> Iterator[RecordingProxy]:
    with recording_proxy(target.url) as recording:
        yield recording


@pytest.fixture
def deployer_env(tmp_path: Path, package_index: PackageIndex) -> dict[str, str]:
    """The deploying user: AUTH in the environment, records and caches of this test's own."""
    return {**os.environ, "AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(tmp_path / "deployer"),
            "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env"),
            "PIP_INDEX_URL": package_index.url, "UV_HTTP_RETRIES": "0"}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory, proxy: RecordingProxy,
             package_index: PackageIndex) -> subprocess.CompletedProcess[str]:
    """The deploy project, deployed once through the proxy."""
    project = copy_project("deploy_project", tmp_path_factory.mktemp("deploy"))
    home = tmp_path_factory.mktemp("deployer")
    env = {**os.environ, "AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(home),
           "STREAMWHISK_LOGIN_FILE": str(home / "login.env"),
           "PIP_INDEX_URL": package_index.url, "PIP_RETRIES": "0"}
    return streamwhisk("deploy", "--project", str(project), "--apihost", proxy.url, env=env)


def rest(target: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=f"{target.url}/api/v1/namespaces/_/", auth=tuple(
        AUTH.split(":", 1)), timeout=60)  # type: ignore[arg-type]


def test_every_request_body_is_one_openwhisk_accepts(
        deployed: subprocess.CompletedProcess[str], proxy: RecordingProxy) -> None:
    packages = proxy.bodies("PUT", "/packages/")
    actions = proxy.bodies("PUT", "/actions/")
    assert len(packages) == 2 and len(actions) == 3, deployed.stderr
    echo = next(a for a in actions if a["name"] == "echo")
    assert echo["exec"] == {"kind": "python:default", "code": echo["exec"]["code"],
                            "binary": False}
    assert {"key": "web-export", "value": True} in echo["annotations"]
    assert {"key": "final", "value": True} in echo["annotations"]
    assert {"key": "provide-api-key", "value": True} in echo["annotations"]
    assert {"key": "description", "value": "echoes its input"} in echo["annotations"]
    assert echo["parameters"] == [{"key": "SECRET", "value": SECRET}]
    assert echo["limits"] == {"timeout": 30000, "memory": 256}
    # last: where OpenWhisk's schema file is absent, this is skipped, the checks above are not
    for body in packages:
        validate(body, "PackagePut")
    for body in actions:
        validate(body, "ActionPut")


def test_a_folder_goes_as_a_zip_with_its_requirements_in_a_virtualenv(
        deployed: subprocess.CompletedProcess[str], proxy: RecordingProxy) -> None:
    greet = next(a for a in proxy.bodies("PUT", "/actions/") if a["name"] == "greet")
    assert greet["exec"]["binary"] is True
    assert greet["limits"] == {"concurrency": 2}
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(greet["exec"]["code"]))).namelist()
    assert {"__main__.py", "helper.py", "requirements.txt",
            "virtualenv/bin/activate_this.py"} <= set(names)
    assert any(n.startswith("virtualenv/lib/python3.") and n.endswith("/greeting.py")
               for n in names)
    assert not any(n.startswith("virtualenv/bin/python") for n in names)


def test_deploy_reports_each_artifact_and_what_failed(
        deployed: subprocess.CompletedProcess[str]) -> None:
    said = deployed.stderr
    assert deployed.returncode == 1  # one action could not go
    assert "failed tools/broken: packages/tools/broken.py:3: syntax error" in said
    for line in ("created package chat", "created package tools", "created action chat/echo",
                 "created action chat/stream", "created action tools/greet"):
        assert line in said
    assert "5 created, 0 updated, 1 failed: tools/broken" in said
    assert SECRET not in said and AUTH.split(":")[1] not in said


def test_what_was_deployed_runs_on_every_route(
        deployed: subprocess.CompletedProcess[str], target: RunningServer) -> None:
    with rest(target) as api:
        answer = api.post("actions/chat/echo", params={"blocking": "true", "result": "true"},
                          json={"input": "hi"})
        assert answer.json() == {"body": {"output": "echo: hi", "secret_set": True,
                                          "api_key_given": True}}
        assert api.get("actions/tools/greet").json()["exec"]["binary"] is True
    web = httpx.get(f"{target.url}/api/v1/web/guest/tools/greet?name=web", timeout=60)
    assert web.text == "hello, web, from the greeting wheel"
    lines = httpx.post(f"{target.url}/web/guest/chat/stream", json={"input": "a b c"},
                       timeout=60).text.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"output": "a "}, {"output": "b "}, {"output": "c "},
        {"done": True, "result": {"body": {"words": 3}}}]


def test_the_local_answers_match_openwhisks_schema(
        deployed: subprocess.CompletedProcess[str], target: RunningServer) -> None:
    namespaces = httpx.get(f"{target.url}/api/v1/namespaces", auth=tuple(AUTH.split(":", 1)),
                           timeout=30)  # type: ignore[arg-type]
    assert namespaces.json() == ["guest"]
    with rest(target) as api:
        assert api.get("actions/chat/echo").json()["parameters"] == [
            {"key": "SECRET", "value": "********"}]
        validate(api.get("actions/chat/echo").json(), "Action")
        validate(api.get("packages/tools").json(), "Package")


def test_dry_run_sends_nothing_and_masks_secrets(
        tmp_path: Path, proxy: RecordingProxy, deployer_env: dict[str, str]) -> None:
    project = copy_project("deploy_project", tmp_path)
    before = len(proxy.sent)
    done = streamwhisk("deploy", "--project", str(project), "--apihost", proxy.url,
                       "--dry-run", env=deployer_env)
    assert len(proxy.sent) == before
    # the plan is the command's output: `streamwhisk deploy --dry-run > plan.txt` keeps it
    assert "would create action chat/echo (python:default; 0.4 KB; web; SECRET=********)" \
        in done.stdout
    assert "(dry run: nothing was sent)" in done.stdout
    assert "would create" not in done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_undeploy_removes_exactly_what_deploy_created(
        tmp_path: Path, target: RunningServer, deployer_env: dict[str, str]) -> None:
    project = copy_project("deploy_project", tmp_path)
    (project / "packages" / "tools" / "broken.py").unlink()
    shutil.move(project / "packages" / "chat", project / "packages" / "kept")
    with rest(target) as api:  # there before the deploy: it is updated, not created
        assert api.put("packages/kept", json={"name": "kept"}).status_code == 200
        first = streamwhisk("deploy", "kept", "--project", str(project), "--apihost",
                            target.url, env=deployer_env)
        assert first.returncode == 0, first.stderr
        assert "updated package kept" in first.stderr
        assert "created action kept/echo" in first.stderr
        gone = streamwhisk("undeploy", "--project", str(project), "--apihost", target.url,
                           env=deployer_env)
        assert gone.returncode == 0, gone.stderr
        assert "deleted action kept/echo" in gone.stderr
        assert api.get("actions/kept/echo").status_code == 404
        assert api.get("packages/kept").status_code == 200  # not deploy's to remove
        again = streamwhisk("undeploy", "--project", str(project), "--apihost", target.url,
                            env=deployer_env)
        assert "nothing that deploy created" in again.stderr


def test_deployed_actions_survive_a_restart(
        deployed: subprocess.CompletedProcess[str], data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "packages").mkdir()
    with serve(tmp_path, "--log-level", "warning", log_path=tmp_path / "server.log",
               env=target_env(data_dir)) as restarted, rest(restarted) as api:
        answer = api.post("actions/chat/echo", params={"blocking": "true", "result": "true"},
                          json={"input": "again"})
        assert answer.json()["body"]["output"] == "echo: again"


def test_the_api_wants_auth_and_the_servers_own_host_name(
        target: RunningServer, tmp_path: Path, deployer_env: dict[str, str]) -> None:
    stranger = httpx.put(f"{target.url}/api/v1/namespaces/_/packages/x", json={}, timeout=30)
    assert stranger.status_code == 401
    assert "send the server's AUTH" in stranger.json()["error"]
    with rest(target) as api:
        rebound = api.get("packages", headers={"host": "attacker.example"})
        assert rebound.status_code == 421
    project = copy_project("deploy_project", tmp_path)
    wrong = streamwhisk("deploy", "--project", str(project), "--apihost", target.url,
                        env={**deployer_env, "AUTH": "someone:else"})
    assert wrong.returncode == 1
    assert "answered 401" in wrong.stderr
    assert "run `streamwhisk login` again" in wrong.stderr


def test_an_unreachable_api_host_is_a_clear_error(
        tmp_path: Path, deployer_env: dict[str, str], free_port: int) -> None:
    project = copy_project("deploy_project", tmp_path)
    done = streamwhisk("deploy", "--project", str(project), "--apihost",
                       f"http://127.0.0.1:{free_port}", env=deployer_env)
    assert done.returncode == 1
    assert f"cannot reach http://127.0.0.1:{free_port}" in done.stderr


def test_a_zip_over_48_mb_and_a_bad_requirements_txt_are_refused_before_sending(
        tmp_path: Path, proxy: RecordingProxy, deployer_env: dict[str, str]) -> None:
    project = copy_project("deploy_project", tmp_path)
    tools = project / "packages" / "tools"
    (tools / "greet" / "weights.bin").write_bytes(os.urandom(49 * 1024 * 1024))
    shutil.copytree(tools / "greet", tools / "typo", ignore=shutil.ignore_patterns("*.bin"))
    (tools / "typo" / "requirements.txt").write_text("greetnig==1.0\n")
    before = len(proxy.sent)
    done = streamwhisk("deploy", "tools", "--project", str(project), "--apihost", proxy.url,
                       env=deployer_env)
    assert done.returncode == 1
    assert re.search(r"failed tools/greet: tools/greet is 6\d\.\d MB as sent, over OpenWhisk's "
                     r"48 MB limit for an action", done.stderr), done.stderr
    assert "failed tools/typo: cannot install tools/typo's requirements.txt" in done.stderr
    assert "greetnig" in done.stderr.split("failed tools/typo:")[1].splitlines()[0]
    assert "0 created, 0 updated, 3 failed: tools/broken, tools/greet, tools/typo" in done.stderr
    assert not [s for s in proxy.sent[before:] if s.method == "PUT"]


def test_a_name_openwhisk_refuses_is_refused_with_the_rule(
        tmp_path: Path, deployer_env: dict[str, str], proxy: RecordingProxy) -> None:
    project = copy_project("deploy_project", tmp_path)
    done = streamwhisk("deploy", "bad name!", "--project", str(project), "--apihost",
                       proxy.url, env=deployer_env)
    assert done.returncode == 1
    assert "package name 'bad name!' is one OpenWhisk refuses: start with a letter" in done.stderr


def test_devel_redeploys_what_changes_and_keeps_watching(
        tmp_path: Path, target: RunningServer, deployer_env: dict[str, str]) -> None:
    project = copy_project("deploy_project", tmp_path)
    shutil.rmtree(project / "packages" / "tools")
    shutil.move(project / "packages" / "chat", project / "packages" / "live")
    echo = project / "packages" / "live" / "echo.py"
    log = tmp_path / "devel.log"
    with log.open("w") as out:
        devel = subprocess.Popen([sys.executable, "-m", "streamwhisk", "devel", "--project",
                                  str(project), "--apihost", target.url], env=deployer_env,
                                 stdout=out, stderr=subprocess.STDOUT)
    said = log.read_text
    try:
        assert wait_until(lambda: "devel: watching" in said(), timeout=60), said()
        assert "created action live/echo" in said()
        with rest(target) as api:
            def answer(name: str) -> object:
                return api.post(f"actions/live/{name}", json={"input": "x"},
                                params={"blocking": "true", "result": "true"}).json()

            echo.write_text(echo.read_text().replace('f"echo: ', 'f"edited: '))
            assert wait_until(lambda: "updated action live/echo" in said(), timeout=60), said()
            assert answer("echo")["body"]["output"] == "edited: x"  # type: ignore[index]
            (echo.parent / "fresh.py").write_text(
                "#--web true\ndef main(args):\n    return {'body': 'fresh'}\n")
            assert wait_until(lambda: "created action live/fresh" in said(), timeout=60)
            assert answer("fresh") == {"body": "fresh"}
            echo.write_text("def main(args):\n    return {\n")
            assert wait_until(lambda: "failed live/echo: packages/live/echo.py:2: syntax error"
                              in said(), timeout=60), said()
            (echo.parent / "fresh.py").write_text(
                "#--web true\ndef main(args):\n    return {'body': 'fresher'}\n")
            assert wait_until(lambda: "updated action live/fresh" in said(), timeout=60)
            assert answer("fresh") == {"body": "fresher"}  # the watch went on
            assert said().count("updated action live/echo") == 1  # each change, once
    finally:
        stop_or_kill(devel, signal.SIGINT)
    assert "devel: stopped" in said()


def stop_or_kill(process: subprocess.Popen[bytes], signum: int) -> int | None:
    """Send `signum`; the exit code, or None when it did not stop in time (then killed, so a
    failing test leaves nothing running)."""
    process.send_signal(signum)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_stops_devel_started_in_the_background(
        tmp_path: Path, target: RunningServer, deployer_env: dict[str, str],
        signum: int) -> None:
    project = copy_project("deploy_project", tmp_path)
    shutil.rmtree(project / "packages" / "tools")
    log = tmp_path / "devel.log"
    with log.open("w") as out:  # as `streamwhisk devel &` in a script: SIGINT ignored
        devel = subprocess.Popen(
            ["sh", "-c", 'trap "" INT; exec "$0" -m streamwhisk devel "$@"', sys.executable,
             "--project", str(project), "--apihost", target.url],
            env=deployer_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: "devel: watching" in log.read_text(), timeout=60)
    finally:
        code = stop_or_kill(devel, signum)
    assert code == 0, log.read_text()
    assert "devel: stopped" in log.read_text()
    assert "Traceback" not in log.read_text()


def test_deploy_goes_where_the_login_points(
        tmp_path: Path, target: RunningServer, deployer_env: dict[str, str]) -> None:
    env = {**deployer_env, "HOME": str(tmp_path)}
    env.pop("AUTH")
    env.pop("WSK_CONFIG_FILE", None)
    login = streamwhisk("login", "--apihost", target.url, "--auth", AUTH, env=env)
    assert login.returncode == 0, login.stderr
    project = copy_project("deploy_project", tmp_path)
    shutil.rmtree(project / "packages" / "tools")
    done = streamwhisk("deploy", "--project", str(project), env=env)
    assert done.returncode == 0, done.stderr
    assert f"deploying to {target.url} (namespace guest)" in done.stderr


def test_each_flag_maps_as_wsk_action_update_reads_it(
        tmp_path: Path, proxy: RecordingProxy, target: RunningServer,
        deployer_env: dict[str, str]) -> None:
    project = tmp_path / "flags"
    (project / "packages" / "flags").mkdir(parents=True)
    (project / "packages" / "flags" / "raw.py").write_text(
        "#--kind python:3.12\n#--web raw\n#--web-secure s3cret-token\n#--logsize 5\n"
        "#--main handler\n#-p LIMIT 3\n"
        "def handler(args):\n    return {'body': args.get('__ow_body', '')}\n")
    (project / "packages" / "flags" / "boxed.py").write_text(
        "#--docker openwhisk/python3action\n#--web false\n"
        "def main(args):\n    return {}\n")
    before = len(proxy.sent)
    done = streamwhisk("deploy", "--project", str(project), "--apihost", proxy.url,
                       env=deployer_env)
    bodies = {b["name"]: b for b in [s.json() for s in proxy.sent[before:]
                                     if s.method == "PUT" and "/actions/" in s.path]}
    raw = bodies["raw"]
    assert raw["exec"] == {"kind": "python:3.12", "code": raw["exec"]["code"], "binary": False,
                           "main": "handler"}
    assert {a["key"]: a["value"] for a in raw["annotations"]} == {
        "web-export": True, "raw-http": True, "final": True,
        "require-whisk-auth": "s3cret-token"}
    assert raw["limits"] == {"logs": 5}
    assert raw["parameters"] == [{"key": "LIMIT", "value": 3}]
    boxed = bodies["boxed"]
    assert boxed["exec"]["kind"] == "blackbox"
    assert boxed["exec"]["image"] == "openwhisk/python3action"
    assert {"key": "web-export", "value": False} in boxed["annotations"]
    # the local runtime runs no containers, and says so, as the cluster's error for that one
    assert "failed flags/boxed: flags/boxed: " in done.stderr
    assert "Docker (blackbox) actions cannot run in streamwhisk up" in done.stderr
    secured = httpx.post(f"{target.url}/api/v1/web/guest/flags/raw", content=b"raw body",
                         headers={"X-Require-Whisk-Auth": "s3cret-token"}, timeout=60)
    assert secured.status_code == 200
    assert httpx.post(f"{target.url}/api/v1/web/guest/flags/raw", timeout=60).status_code == 401
    for body in bodies.values():  # last: skipped where OpenWhisk's schema file is absent
        validate(body, "ActionPut")


def test_an_unchanged_requirements_txt_is_not_installed_again(
        deployed: subprocess.CompletedProcess[str], tmp_path: Path,
        package_index: PackageIndex, deployer_env: dict[str, str], proxy: RecordingProxy) -> None:
    project = copy_project("deploy_project", tmp_path)
    package_index.requested.clear()
    done = streamwhisk("deploy", "tools/greet", "--project", str(project), "--apihost",
                       proxy.url, "--dry-run", env=deployer_env)
    assert "would create action tools/greet" in done.stdout or \
        "would update action tools/greet" in done.stdout
    assert "building the virtualenv" not in done.stderr
    assert not [path for path in package_index.requested if "greeting" in path]


def test_an_unset_variable_is_deployed_as_an_empty_string_with_a_warning(
        tmp_path: Path, proxy: RecordingProxy, deployer_env: dict[str, str]) -> None:
    """As `ops ide deploy` expands it (a vision action's $S3_EXTERNAL_URL only some set)."""
    project = copy_project("deploy_project", tmp_path)
    (project / "packages" / "chat" / "vision.py").write_text(
        "#--web true\n#--param EXTERNAL $S3_EXTERNAL_URL_NOT_SET\n"
        "def main(args):\n    return {}\n")
    done = streamwhisk("deploy", "chat/vision", "--project", str(project), "--apihost",
                       proxy.url, "--dry-run", env=deployer_env)
    assert done.returncode == 0, done.stderr
    assert "would create action chat/vision (python:default; " in done.stdout
    assert "warning: chat/vision: $S3_EXTERNAL_URL_NOT_SET unset in every layer: deployed " \
        "as an empty string" in done.stdout + done.stderr
