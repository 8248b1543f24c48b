"""The edges: a local server that no web page, no request and no action can turn against its
user. Host and origin, HTTP limits, the headers actions send, secrets in every spelling,
isolation between actions and the server. Each test fails on the code before these rules."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import httpx
import pytest
from support import assert_no_secret, copy_project

from streamwhisk.testing import RunningServer, serve, wait_until

AUTH = "0e1d2c3b-edges:k3y-of-the-edges-tests"
EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("edges_project", tmp_path_factory.mktemp("edges"))
    with serve(project, log_path=project / "server.log", env={"AUTH": AUTH}) as running:
        yield running


def raw(server: RunningServer, request: bytes, wait_s: float = 0) -> bytes:
    """Send bytes as they are, then read the answer until the server closes."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(request)
        if wait_s:
            time.sleep(wait_s)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    return data


def spellings(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1], quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(json.dumps(secret)[1:-1])[1:-1]]


@pytest.mark.parametrize("route", ["/api/my/e/leak", "/api/v1/web/guest/e/leak.json"])
def test_a_secret_in_an_error_is_masked_in_every_spelling(edges: RunningServer,
                                                          route: str) -> None:
    answer = httpx.get(f"{edges.url}{route}", params={"mode": "raise"}, timeout=30)
    assert answer.status_code == 502
    assert_no_secret(answer.text)
    assert "repr='********' json=\"********\" url=******** nested=******** leaf=******** " \
        "dict=********" in answer.json()["error"]


def test_hosts_stay_readable_and_only_credentials_are_masked(edges: RunningServer) -> None:
    answer = httpx.get(f"{edges.url}/api/my/e/unreachable", timeout=30)
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert "Failed to resolve 'ollama.unreachable.example'" in error, error
    assert "https://********@ollama.unreachable.example/" in error, error
    assert "postgresql://********@db.unreachable.example:5432/appdata" in error, error
    for secret in ("llm-auth-key-value", "db-passw0rd-value"):
        assert secret not in answer.text
        assert secret not in edges.log()


def test_a_secret_in_the_logs_is_masked_in_every_spelling(edges: RunningServer) -> None:
    assert httpx.get(f"{edges.url}/api/my/e/leak", timeout=30).text == "printed"
    httpx.get(f"{edges.url}/api/my/e/leak", params={"mode": "raise"}, timeout=30)
    # the worker's pipes are drained when its activation ends
    assert wait_until(lambda: 'json="********"' in edges.log())
    log = edges.log()
    assert 'json="********"' in log
    assert_no_secret(log)


def test_a_secret_in_malformed_stream_data_is_masked(edges: RunningServer) -> None:
    answer = httpx.post(f"{edges.url}/web/guest/e/leak", json={"mode": "stream"}, timeout=30)
    lines = [json.loads(line) for line in answer.text.splitlines() if line]
    assert lines[0]["error"].startswith("the action sent data that is not a JSON object")
    assert {"output": "after"} in lines
    assert_no_secret(answer.text)
    assert_no_secret(edges.log())


def with_headers(edges: RunningServer, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{edges.url}/api/my/e/headers",
                     params={"headers": json.dumps(headers)}, timeout=30)


def test_framing_headers_are_the_servers_not_the_actions(edges: RunningServer) -> None:
    answer = with_headers(edges, {"Content-Length": "999", "Transfer-Encoding": "chunked",
                                  "Connection": "close", "Keep-Alive": "timeout=1",
                                  "X-Fine": "ok"})
    assert answer.status_code == 200
    assert answer.text == "with headers"
    assert answer.headers["content-length"] == str(len("with headers"))
    assert "transfer-encoding" not in answer.headers
    assert answer.headers["x-fine"] == "ok"


@pytest.mark.parametrize(("headers", "named"), [
    ({"X-Split": "a\r\nSet-Cookie: stolen=1"}, "the header X-Split with a line break"),
    ({"X-Wide": "en — dash"}, "the header X-Wide with characters HTTP headers cannot carry"),
    ({"Bad Name": "x"}, "an invalid header name 'Bad Name'"),
])
def test_a_header_http_cannot_carry_is_a_502_naming_it(
        edges: RunningServer, headers: dict[str, str], named: str) -> None:
    answer = with_headers(edges, headers)
    assert answer.status_code == 502
    assert named in answer.json()["error"]
    assert "set-cookie" not in answer.headers


# 1. Host and origin


@pytest.mark.parametrize("path", ["/", "/api/my/e/count", "/web/guest/e/count",
                                  "/api/v1/namespaces/_/actions"])
def test_a_host_that_is_not_the_servers_is_refused(edges: RunningServer, path: str) -> None:
    port = urlsplit(edges.url).port
    answer = raw(edges, f"GET {path} HTTP/1.1\r\nHost: rebound.example:{port}\r\n"
                        "Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 421 ")
    assert b"answers only to its own host names" in answer


ACTION_ROUTES = ["/api/my/e/count", "/api/v1/web/guest/e/count", "/web/guest/e/count"]


@pytest.mark.parametrize("route", ACTION_ROUTES)
def test_a_page_of_another_origin_cannot_run_an_action(edges: RunningServer, route: str,
                                                       tmp_path: Path) -> None:
    counter = tmp_path / "count"
    form = httpx.post(f"{edges.url}{route}", data={"counter": str(counter)},
                      headers={"Origin": EVIL}, timeout=30)
    assert form.status_code == 403
    assert "A page of another origin (https://evil.example) may not run actions" in form.text
    simple = httpx.get(f"{edges.url}{route}", params={"counter": str(counter)},
                       headers={"Sec-Fetch-Site": "cross-site"}, timeout=30)
    assert simple.status_code == 403
    assert not counter.exists()


@pytest.mark.parametrize("route", ACTION_ROUTES)
def test_a_page_of_the_object_stores_name_is_not_one_of_the_servers(
        edges: RunningServer, route: str, tmp_path: Path) -> None:
    """s3.<host> serves what anyone uploaded to the static bucket: its pages are foreign."""
    counter = tmp_path / "count"
    port = urlsplit(edges.url).port
    for store in (f"http://s3.localhost:{port}", f"http://s3.127.0.0.1:{port}"):
        refused = httpx.post(f"{edges.url}{route}", json={"counter": str(counter)},
                             headers={"Origin": store}, timeout=30)
        assert refused.status_code == 403, (store, refused.text)
    own = httpx.post(f"{edges.url}{route}", json={"counter": str(counter)},
                     headers={"Origin": f"http://stream.localhost:{port}"}, timeout=30)
    assert own.status_code == 200, own.text
    assert counter.read_text() == "1"


@pytest.mark.parametrize(("path", "body", "status"), [
    ("/web/guest/e/nothing", b"{}", 404), ("/web/guest/e/count", b"{not json", 400),
    ("/web/guest/e/count", b"[" + b" " * (6 * 1024 * 1024) + b"]", 413),
    ("/nowhere", b"{}", 404)])
def test_every_answer_of_the_streamer_carries_cors_for_the_servers_page(
        edges: RunningServer, path: str, body: bytes, status: int) -> None:
    """The page at localhost:PORT reads the reason of an error at stream.localhost:PORT,
    not "Failed to fetch"."""
    port = urlsplit(edges.url).port
    page = f"http://localhost:{port}"
    answer = httpx.post(f"{edges.url}{path}", content=body, timeout=30, headers={
        "Host": f"stream.localhost:{port}", "Origin": page,
        "Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.headers.get("access-control-allow-origin") == page
    foreign = httpx.post(f"{edges.url}{path}", content=b"{}", timeout=30, headers={
        "Host": f"stream.localhost:{port}", "Origin": EVIL})
    assert "access-control-allow-origin" not in foreign.headers


def test_the_servers_own_pages_and_other_clients_still_run_actions(
        edges: RunningServer, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    params = {"counter": str(counter)}
    own = httpx.post(f"{edges.url}/api/my/e/count", json=params,
                     headers={"Origin": edges.url, "Sec-Fetch-Site": "same-origin"}, timeout=30)
    assert own.status_code == 200
    assert httpx.get(f"{edges.url}/api/my/e/count", params=params, timeout=30).status_code == 200
    assert counter.read_text() == "2"


@pytest.mark.parametrize("route", ["/api/my/e/count", "/web/guest/e/count"])
def test_options_is_answered_by_the_server_never_by_the_action(
        edges: RunningServer, route: str, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    answer = httpx.options(f"{edges.url}{route}", params={"counter": str(counter)},
                           headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
                           timeout=30)
    assert answer.status_code == 204
    assert "access-control-allow-origin" not in answer.headers  # CORS is off
    assert not counter.exists()


def test_an_action_with_web_custom_options_answers_options_and_cors_itself(
        edges: RunningServer) -> None:
    app = {"Origin": "https://app.example"}
    preflight = httpx.options(f"{edges.url}/api/my/e/options", headers=app, timeout=30)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    answer = httpx.post(f"{edges.url}/api/my/e/options", headers=app, timeout=30)
    assert answer.text == "custom"


def test_cors_when_configured_follows_openwhisks_web_actions(tmp_path: Path) -> None:
    project = copy_project("edges_project", tmp_path)
    counter = tmp_path / "count"
    with serve(project, "--cors", "https://app.example",
               log_path=tmp_path / "server.log") as open_to_app:
        url = f"{open_to_app.url}/api/my/e/count"
        app = {"Origin": "https://app.example"}
        preflight = httpx.options(url, params={"counter": str(counter)}, headers=app,
                                  timeout=30)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert not counter.exists()  # answered by the server
        answer = httpx.post(url, json={"counter": str(counter)}, headers=app, timeout=30)
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert httpx.post(url, json={"counter": str(counter)}, headers={"Origin": EVIL},
                          timeout=30).status_code == 403
        assert counter.read_text() == "1"


# 2. HTTP limits


@pytest.mark.parametrize("headers", [f"X-Big: {'a' * 40_000}\r\n",
                                     "".join(f"X-N{i}: v\r\n" for i in range(150))])
def test_headers_past_the_limits_are_a_431(edges: RunningServer, headers: str) -> None:
    host = urlsplit(edges.url).netloc
    answer = raw(edges, f"GET /api/my/e/headers HTTP/1.1\r\nHost: {host}\r\n{headers}"
                        "\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 431 ")


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("edges_project", tmp_path_factory.mktemp("impatient"))
    with serve(project, "--header-timeout", "0.5", "--body-timeout", "0.5",
               log_path=project / "server.log") as running:
        yield running


def test_a_client_too_slow_with_its_headers_or_body_is_cut_off(impatient: RunningServer) -> None:
    host = urlsplit(impatient.url).netloc
    started = time.monotonic()
    headers = raw(impatient, f"GET /api/my/e/headers HTTP/1.1\r\nHost: {host}\r\n".encode())
    assert headers.startswith(b"HTTP/1.1 408 ")
    body = raw(impatient, f"POST /api/my/e/headers HTTP/1.1\r\nHost: {host}\r\n"
                          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                          '{"a": '.encode())
    assert body.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 10
    assert httpx.get(f"{impatient.url}/api/my/e/headers", timeout=30).status_code == 200


def test_a_client_gone_while_sending_its_body_is_a_quiet_close(impatient: RunningServer) -> None:
    host = urlsplit(impatient.url).netloc
    address = urlsplit(impatient.url)
    for _ in range(3):
        with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
            sock.sendall(f"POST /api/my/e/headers HTTP/1.1\r\nHost: {host}\r\n"
                         "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                         '{"a": 1'.encode())
    # a request after them: the one event loop has dealt with their hang-ups by its answer
    assert httpx.get(f"{impatient.url}/api/my/e/headers", timeout=30).status_code == 200
    assert "Traceback" not in impatient.log()
    assert "Exception in ASGI application" not in impatient.log()


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("route", ["/api/my/e/headers", "/web/guest/e/headers",
                                   "/api/v1/namespaces/_/actions/e/headers?blocking=true"])
def test_json_nested_too_deeply_is_a_400_on_every_route(edges: RunningServer,
                                                        route: str) -> None:
    answer = httpx.post(f"{edges.url}{route}", content=DEEP, timeout=30,
                        headers={"Content-Type": "application/json"},
                        auth=tuple(AUTH.split(":", 1)))  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["error"]
    assert "Exception in ASGI application" not in edges.log()
    assert "RecursionError" not in edges.log()


# 5. Isolation


# gVisor's kernel says it is this Linux, always
GVISOR = "4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016" in Path("/proc/version").read_text()
# the capabilities that open another process's /proc files, even a process not dumpable
SYS_PTRACE, SYS_ADMIN, PERFMON = 19, 21, 38


def test_an_action_cannot_read_the_servers_or_other_workers_memory_or_environment(
        edges: RunningServer) -> None:
    assert httpx.get(f"{edges.url}/api/my/e/headers", timeout=30).status_code == 200
    workers = ",".join(map(str, edges.workers()))
    seen = httpx.get(f"{edges.url}/api/my/e/peek",
                     params={"server": edges.pid, "workers": workers}, timeout=30).json()
    assert seen["server_memory"] == "PermissionError", seen
    assert seen["worker_memory"] == ["PermissionError"], seen
    assert seen["cwd"].endswith("/packages/e")  # its action's folder, not the project's root
    for capability in (SYS_PTRACE, SYS_ADMIN, PERFMON):  # root or not, none of them is held
        for held in ("CapEff", "CapPrm", "CapBnd"):
            assert not seen["capabilities"][held] >> capability & 1, (held, capability, seen)
    if GVISOR:
        pytest.skip("gVisor's /proc does not refuse a process that is not dumpable")
    assert seen["server_environ"] == "PermissionError", seen  # a key kept only in the env
    assert seen["server_maps"] == "PermissionError", seen
    assert seen["worker_environ"] == ["PermissionError"], seen


def test_names_given_with_allow_host_are_answered_too(tmp_path: Path) -> None:
    project = copy_project("edges_project", tmp_path)
    with serve(project, "--allow-host", "chat.lan.test", log_path=tmp_path / "s.log") as lan:
        port = urlsplit(lan.url).port
        named = raw(lan, f"GET /api/my/e/headers HTTP/1.1\r\nHost: chat.lan.test:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
        assert named.startswith(b"HTTP/1.1 200 ")
        other = raw(lan, f"GET /api/my/e/headers HTTP/1.1\r\nHost: other.lan.test:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
        assert other.startswith(b"HTTP/1.1 421 ")


def test_a_header_given_as_a_list_is_one_header_per_value_and_none_is_no_header(
        edges: RunningServer) -> None:
    given = {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"], "X-None": None,
             "X-Flags": [True, 3], "X-Plain": "one"}
    answer = raw(edges, b"GET /api/my/e/headers?headers=" + quote(json.dumps(given)).encode()
                 + f" HTTP/1.1\r\nHost: 127.0.0.1:{urlsplit(edges.url).port}\r\n"
                   "Connection: close\r\n\r\n".encode())
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower().splitlines()
    assert head[0].startswith("http/1.1 200")
    assert [line for line in head if line.startswith("set-cookie:")] == [
        "set-cookie: a=1; path=/", "set-cookie: b=2; path=/"]
    assert [line for line in head if line.startswith("x-flags:")] == ["x-flags: true",
                                                                     "x-flags: 3"]
    assert "x-plain: one" in head
    assert not [line for line in head if line.startswith("x-none")]
