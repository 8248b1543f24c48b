"""The OpenWhisk REST subset: authenticated with the server's key, secrets never shown."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from streamwhisk.openwhisk.rest import UNAUTHORIZED
from streamwhisk.testing import RunningServer, serve, wait_until

KEY = ("23bc46b1-71f6-4ed5-8c54-816aa4f8c502", "rest-test-key-0123456789")


@pytest.fixture(scope="module")
def keyed_server(runtime_project: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[RunningServer]:
    log = tmp_path_factory.mktemp("rest") / "server.log"
    with serve(runtime_project, "--api-key", ":".join(KEY), log_path=log) as running:
        yield running


@pytest.fixture
def api(keyed_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keyed_server.url + "/api/v1/namespaces/_", auth=KEY,
                      timeout=30) as client:
        yield client


@pytest.mark.parametrize("auth", [None, ("someone", "else"), (KEY[0], "wrong")])
def test_the_rest_api_refuses_requests_without_the_servers_key(
    keyed_server: RunningServer, auth: tuple[str, str] | None
) -> None:
    response = httpx.get(keyed_server.url + "/api/v1/namespaces/_/actions", auth=auth)
    assert response.status_code == 401
    assert response.json()["error"] == UNAUTHORIZED


def test_listing_shows_each_action_with_its_annotations_and_limits(api: httpx.Client) -> None:
    actions = {f"{a['namespace']}/{a['name']}": a for a in api.get("/actions").json()}
    echo = actions["guest/t/echo"]
    assert {"key": "web-export", "value": True} in echo["annotations"]
    assert echo["limits"]["timeout"] == 60000
    assert "guest/t/private" in actions  # not a web action, still an action
    assert "parameters" not in echo


def test_getting_an_action_names_its_parameters_but_masks_their_values(
    api: httpx.Client,
) -> None:
    boom = api.get("/actions/t/boom")
    assert boom.json()["parameters"] == [{"key": "TOKEN", "value": "********"}]
    assert "tok-very-secret-123" not in boom.text
    assert api.get("/actions/t/absent").status_code == 404


def test_invoking_blocking_returns_the_result_and_non_blocking_an_activation_id(
    api: httpx.Client,
) -> None:
    result = api.post("/actions/t/echo?blocking=true&result=true", json={"name": "Ann"})
    assert result.json()["body"]["args"]["name"] == "Ann"
    whole = api.post("/actions/t/echo?blocking=true", json={}).json()
    assert whole["response"]["success"] is True and whole["activationId"]
    started = api.post("/actions/t/echo", json={})
    assert started.status_code == 202 and started.json()["activationId"]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/actions"), ("GET", "/actions/t/echo"), ("POST", "/actions/t/echo?blocking=true"),
    ("PUT", "/actions/t/new"), ("DELETE", "/actions/t/echo"), ("GET", "/packages"),
    ("GET", "/packages/t")])
def test_another_namespace_is_refused_as_openwhisk_refuses_it(
        keyed_server: RunningServer, method: str, path: str) -> None:
    answer = httpx.request(method, f"{keyed_server.url}/api/v1/namespaces/someone{path}",
                           auth=KEY, json={}, timeout=30)
    assert answer.status_code == 403
    assert answer.json()["error"] == \
        "The supplied authentication is not authorized to access 'someone'."
    assert "echo" not in answer.text


def test_the_own_namespace_and_the_default_one_answer_alike(keyed_server: RunningServer) -> None:
    listed = [httpx.get(f"{keyed_server.url}/api/v1/namespaces/{ns}/actions", auth=KEY,
                        timeout=30).json() for ns in ("_", "guest")]
    assert listed[0] == listed[1] and listed[0]


def test_packages_are_listed(api: httpx.Client) -> None:
    assert [p["name"] for p in api.get("/packages").json()] == ["t"]


def test_only_actions_that_ask_for_it_get_the_api_key(keyed_server: RunningServer) -> None:
    keyed = httpx.get(keyed_server.url + "/api/my/t/keyed", timeout=30).json()
    assert keyed["status"] == 200 and "keyed" in keyed["names"]
    env = httpx.get(keyed_server.url + "/api/my/t/echo", timeout=30).json()["env"]
    assert "__OW_API_KEY" not in env
    assert KEY[1] not in keyed_server.log()


def test_web_secure_with_a_value_wants_it_in_x_require_whisk_auth(
    keyed_server: RunningServer,
) -> None:
    url = keyed_server.url + "/api/my/t/guarded"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"X-Require-Whisk-Auth": "wrong"}).status_code == 401
    assert httpx.get(url, headers={"X-Require-Whisk-Auth": "opensesame-42"}).text == "let in"
    streamed = httpx.post(keyed_server.url + "/web/_/t/guarded", json={})
    assert streamed.status_code == 401


def test_web_secure_true_wants_the_api_key(keyed_server: RunningServer) -> None:
    url = keyed_server.url + "/api/my/t/keyonly"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=KEY).text == "let in"


def test_an_invoke_beyond_the_queue_is_a_503_with_retry_after(
    runtime_project: Path, tmp_path: Path
) -> None:
    with serve(runtime_project, "--api-key", ":".join(KEY), "--max-workers", "1",
               "--queue-size", "0", log_path=tmp_path / "log") as crowded:
        url = crowded.url + "/api/v1/namespaces/_/actions/t/slow?blocking=true&result=true"

        def invoke(_: int) -> httpx.Response:
            return httpx.post(url, json={"seconds": 1.5}, auth=KEY, timeout=30)

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(invoke, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 503]
    refused = next(a for a in answers if a.status_code == 503)
    assert refused.headers["retry-after"] == "1"


def test_a_deployed_actions_timeout_is_clamped_as_a_projects_is(api: httpx.Client) -> None:
    """OpenWhisk's maximum, an hour, for an action deployed with more, as for one in the
    project: the limits are read one way everywhere."""
    code = "def main(args):\n    return {'ok': True}\n"
    put = api.put("actions/long", params={"overwrite": "true"},
                  json={"exec": {"kind": "python:default", "code": code},
                        "limits": {"timeout": 999_999_999, "memory": 512}})
    assert put.status_code == 200, put.text
    assert put.json()["limits"] == {"timeout": 3_600_000, "memory": 512, "concurrency": 1,
                                    "logs": 10}
    assert api.delete("actions/long").status_code == 200


def test_an_unexpected_failure_is_an_openwhisk_shaped_500_and_the_server_goes_on(
        runtime_project: Path, tmp_path: Path) -> None:
    """A file where the store keeps a package's folder: the disk refuses (an OSError no route
    answers). The answer is OpenWhisk's `{"error"}` JSON, not a bare text/plain 500; the log
    has the traceback once; the server keeps serving."""
    data = tmp_path / "data"
    (data / "deployed" / "guest").mkdir(parents=True)
    (data / "deployed" / "guest" / "blocked").write_text("a file, not a folder")
    with serve(runtime_project, "--api-key", ":".join(KEY), log_path=tmp_path / "log",
               env={"STREAMWHISK_DATA_DIR": str(data)}) as up, \
            httpx.Client(base_url=f"{up.url}/api/v1/namespaces/_/", auth=KEY,
                         timeout=30) as api:
        answer = api.put("packages/blocked", json={})
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/json"
        error = answer.json()["error"]
        assert error.startswith("The server could not handle this request (") and \
            "its log has the details" in error
        assert wait_until(lambda: up.log().count("Traceback") == 1)
        assert api.get("packages").status_code == 200
