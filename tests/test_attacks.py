"""The second attack pass on the edges, kept as tests so the next pass starts from them: each
names what was tried and what must hold. Bounded in count and time; loopback only.

1 an empty key opens nothing · 3 a worker's whole tree dies however it ends · 4 a dying
worker takes no new activation · 5 no broken HTTP reply · 6 results and stream messages are
strict JSON · 7 secrets masked across log-line splits and in every URL quoting · 8 bad names
and zips are 400s, unpacking off the event loop · 9 the dev Ollama's Host rules.
(2, what an action can read of other processes, is in test_edges.py.)
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import stat
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from support import SECRET, alive, assert_no_secret, copy_project

from streamwhisk.basicauth import matches
from streamwhisk.testing import RunningServer, serve, serve_dev_ollama, wait_until


def host_of(server: RunningServer) -> str:
    return server.url.removeprefix("http://")


def raw(server: RunningServer, request: bytes) -> bytes:
    """A request as bytes (what httpx refuses to send), the whole answer back."""
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])),
                                  timeout=30) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def strict(line: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"{name} in {line[:80]!r}")

    return json.loads(line, parse_constant=refuse)


# 1. An empty key opens nothing


@pytest.fixture(scope="module")
def empty_auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("runtime_project", tmp_path_factory.mktemp("empty-auth"))
    with serve(project, log_path=project / "server.log",
               env={"AUTH": "", "STREAMWHISK_API_KEY": None,
                    "STREAMWHISK_LOGIN_FILE": str(project / "none.env")}) as running:
        yield running


@pytest.mark.parametrize("authorization", ["Basic ", "Basic Og==", "Basic " + base64.b64encode(
    b"  ").decode(), "Bearer ", ""], ids=["empty", "colon", "blank", "bearer", "none"])
@pytest.mark.parametrize("route", ["/api/v1/web/_/t/secure", "/web/_/t/secure",
                                   "/api/v1/namespaces/_/actions"])
def test_an_empty_auth_opens_no_secure_action_and_no_api(
        empty_auth_server: RunningServer, route: str, authorization: str) -> None:
    header = f"Authorization: {authorization}\r\n" if authorization else ""
    answer = raw(empty_auth_server, f"GET {route} HTTP/1.1\r\nHost: {host_of(empty_auth_server)}"
                                    f"\r\n{header}Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:300]


def test_up_says_which_key_protects_what_when_auth_is_empty(
        empty_auth_server: RunningServer) -> None:
    line = next(ln for ln in empty_auth_server.log().splitlines() if ln.startswith("REST API"))
    assert "#--web-secure true actions: HTTP basic auth with a key made for this run" in line
    assert "(AUTH in environment is empty: no key)" in line


@pytest.mark.parametrize("expected", ["", ":", " ", "  :  "])
def test_no_header_matches_an_empty_credential(expected: str) -> None:
    for header in ("Basic ", "Basic Og==", "Basic " + base64.b64encode(expected.encode())
                   .decode(), ""):
        assert not matches(header, expected)


# 3. A worker's whole tree dies, however the worker ends


@pytest.mark.parametrize("how", [{}, {"memory": "1"}], ids=["os._exit", "memory-limit"])
def test_what_a_worker_left_running_dies_with_it_when_it_dies_on_its_own(
        client: httpx.Client, tmp_path: Path, how: dict[str, str]) -> None:
    response = client.get("/api/my/t/abandons", params={"pids": str(tmp_path), **how})
    assert response.status_code == 502
    for name in ("setsid", "daemon"):
        pid = int((tmp_path / name).read_text())
        assert wait_until(lambda pid=pid: not alive(pid), timeout=10), f"{name} {pid} survived"


# 4. A dying worker takes no new activation


def test_the_request_right_after_an_out_of_memory_kill_is_answered(
        client: httpx.Client) -> None:
    for _ in range(5):
        killed = client.get("/api/my/t/oomflag", params={"hog": "1"})
        assert killed.status_code == 502
        assert "ran out of memory" in killed.json()["error"]
        after = client.get("/api/my/t/oomflag")
        assert after.status_code == 200, after.text


# 5. No broken HTTP reply, whatever the action returns


def shaped(server: RunningServer, status: int, headers: dict[str, str] | None = None,
           body: str | None = "shaped") -> bytes:
    """What the server sends for a reply the action shapes (t/status returns what it's told)."""
    asked: dict[str, object] = {"status": status}
    if body is not None:
        asked["body"] = body
    if headers is not None:
        asked["headers"] = json.dumps(headers)
    return raw(server, f"GET /api/v1/web/_/t/status.http?{urlencode(asked)} HTTP/1.1\r\n"
                       f"Host: {host_of(server)}\r\nConnection: close\r\n\r\n".encode())


@pytest.mark.parametrize("status", [100, 101, 103, 199, 600, 0])
def test_a_status_outside_200_to_599_is_a_502_naming_it(server: RunningServer,
                                                        status: int) -> None:
    answer = shaped(server, status)
    assert answer.startswith(b"HTTP/1.1 502 "), answer[:200]
    assert f"the statusCode {status}".encode() in answer


@pytest.mark.parametrize("character", ["\x01", "\x0b", "\x7f", "\x1f", "\r", "\n", "\x00"])
def test_a_header_value_with_a_control_character_is_a_502_naming_the_header(
        server: RunningServer, character: str) -> None:
    answer = shaped(server, 200, {"X-Bad": f"a{character}b"})
    assert answer.startswith(b"HTTP/1.1 502 "), answer[:200]
    assert b"the header X-Bad" in answer
    assert "Exception in ASGI application" not in server.log()


@pytest.mark.parametrize("status", [204, 205, 304])
def test_a_status_without_a_body_is_sent_without_the_body_the_action_gave(
        server: RunningServer, status: int) -> None:
    answer = shaped(server, status, {"X-Kept": "yes"}, body="dropped")
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), head
    assert b"x-kept: yes" in head.lower()
    assert rest == b""
    assert "Exception in ASGI application" not in server.log()


def test_an_action_headers_tab_and_latin1_are_fine(server: RunningServer) -> None:
    answer = shaped(server, 201, {"X-Fine": "tab\there caf\u00e9"})
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]


# 6. Results and stream messages are strict JSON


@pytest.mark.parametrize("what", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("route", ["/api/my/t/notjson", "/api/v1/web/guest/t/notjson.json"])
def test_nan_and_infinity_in_a_result_are_the_actions_error_named(
        client: httpx.Client, server: RunningServer, what: str, route: str) -> None:
    answer = client.get(route, params={"what": what})
    assert answer.status_code == 502
    strict(answer.text)
    error = answer.json()["error"]
    assert error.startswith("The action's result is not JSON: result['body']['scores'][1]"), error
    assert "NaN and Infinity have no JSON form" in error
    assert "Traceback" not in server.log()


def test_nan_in_a_stream_is_an_error_event_and_the_stream_goes_on(
        server: RunningServer) -> None:
    answer = httpx.post(server.url + "/web/_/t/notjson", json={"what": "nan"}, timeout=30)
    lines = [strict(line) for line in answer.text.splitlines() if line]
    assert lines[0] == {"output": "before"}
    assert "NaN is not a JSON number" in lines[1]["error"]  # type: ignore[index]
    assert lines[2] == {"output": "after"}
    assert lines[-1]["done"] is True  # type: ignore[index]


# 7. Secrets masked across log-line splits and in every URL quoting


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("edges_project", tmp_path_factory.mktemp("edges"))
    with serve(project, log_path=project / "server.log") as running:
        yield running


def test_a_secret_astride_a_log_line_split_is_masked(edges: RunningServer) -> None:
    assert httpx.get(f"{edges.url}/api/my/e/leak", params={"mode": "long"},
                     timeout=60).text == "long"
    assert wait_until(lambda: edges.log().count("y" * 100) >= 24, timeout=30)
    log = edges.log()
    assert log.count("********") >= 24
    assert_no_secret(log)


@pytest.mark.parametrize("spelling", [
    quote(SECRET, safe=""), quote(SECRET, safe="").lower(), quote(quote(SECRET, safe=""),
                                                                 safe=""),
    quote_plus(SECRET)], ids=["percent", "lowercase-percent", "twice", "plus"])
def test_a_secret_in_a_request_url_is_masked_in_the_access_log_without_breaking_it(
        edges: RunningServer, spelling: str) -> None:
    path = f"/api/my/e/headers?token={spelling}&n={len(spelling)}"
    answer = raw(edges, f"GET {path} HTTP/1.1\r\nHost: {host_of(edges)}\r\n"
                        "Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert wait_until(lambda: f"&n={len(spelling)} HTTP/1.1" in edges.log())
    log = edges.log()
    assert f'"GET /api/my/e/headers?token=********&n={len(spelling)} HTTP/1.1" 200' in log
    assert spelling not in log
    assert "Logging error" not in log


# 8. The REST API: every bad name or zip is a 400 naming the rule, unpacking off the loop

KEY = ("5f1e9c0b-attack-pass", "attack-pass-key-0123456789")
CODE = "def main(args):\n    return {'body': 'deployed'}\n"


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("runtime_project", tmp_path_factory.mktemp("rest-attacks"))
    with serve(project, "--api-key", ":".join(KEY), log_path=project / "server.log",
               env={"STREAMWHISK_DATA_DIR": str(project / "data")}) as running:
        yield running


@pytest.fixture
def api(api_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.url + "/api/v1/namespaces/_", auth=KEY,
                      timeout=60) as client:
        assert client.put("/packages/p", params={"overwrite": "true"}, json={}).status_code == 200
        yield client


def zipped(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            if name in links:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return base64.b64encode(buffer.getvalue()).decode()


# (a name of one segment is an action in the default package, as OpenWhisk allows)
@pytest.mark.parametrize("name", ["p/..", "p/.x", "p/caf\u00e9", "p/bad name ", "p/a!b", "..",
                                  "p/" + "a" * 257, "%2e%2e/x", "p/a/b/c"],
                         ids=["dots", "dot-first", "unicode", "trailing-space", "bang",
                              "one-dots", "257", "escaped-dots", "four-segments"])
@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE", "POST"])
def test_a_bad_action_name_is_a_400_or_404_never_a_500(
        api: httpx.Client, api_server: RunningServer, name: str, method: str) -> None:
    body = json.dumps({"exec": {"kind": "python:default", "code": CODE}}).encode()
    credentials = base64.b64encode(":".join(KEY).encode()).decode()
    path = "/api/v1/namespaces/_/actions/" + quote(name, safe="/%")  # sent as it is
    answer = raw(api_server, f"{method} {path} HTTP/1.1\r\nHost: {host_of(api_server)}\r\n"
                             f"Authorization: Basic {credentials}\r\nContent-Type: "
                             f"application/json\r\nContent-Length: {len(body)}\r\n"
                             "Connection: close\r\n\r\n".encode() + body)
    status = int(answer.split(b" ", 2)[1])
    assert status in (400, 404), answer[:400]
    assert b"Internal Server Error" not in answer


@pytest.mark.parametrize("length", [250, 255, 256])
def test_names_as_long_as_openwhisk_allows_are_deployed_and_run(api: httpx.Client,
                                                                length: int) -> None:
    name = "n" * length
    put = api.put(f"/actions/p/{name}", params={"overwrite": "true"},
                  json={"exec": {"kind": "python:default", "code": CODE}})
    assert put.status_code == 200, put.text
    listed = [a["name"] for a in api.get("/actions").json()]
    assert name in listed
    ran = api.post(f"/actions/p/{name}", params={"blocking": "true", "result": "true"})
    assert ran.json() == {"body": "deployed"}
    assert api.delete(f"/actions/p/{name}").status_code == 200


def bad_crc_zip() -> str:
    data = bytearray(base64.b64decode(zipped({"__main__.py": CODE.encode() * 50})))
    start = data.index(b"PK\x03\x04")
    compressed_at = start + 30 + len("__main__.py")
    data[compressed_at + 5] ^= 0xFF  # one flipped byte in the deflated data
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize(("code", "said"), [
    (bad_crc_zip(), "cannot be unpacked"),
    (zipped({"link": b"/tmp", "link/evil.py": b"x = 1", "__main__.py": CODE.encode()},
            links=("link",)), "symbolic link"),
    (zipped({"__main__.py": CODE.encode(), "pad.bin": b"\0" * (49 * 1024 * 1024)}),
     "more than 48 MB"),
    (zipped({"__main__.py": CODE.encode(), **{f"f{i}": b"" for i in range(10_001)}}),
     "10002 entries"),
], ids=["bad-crc", "through-a-symlink", "bomb", "many-entries"])
def test_a_bad_zip_is_refused_with_its_reason(api: httpx.Client, code: str, said: str) -> None:
    answer = api.put("/actions/p/zipped", params={"overwrite": "true"},
                     json={"exec": {"kind": "python:default", "code": code, "binary": True}})
    assert answer.status_code in (400, 413), answer.text
    assert said in answer.json()["error"], answer.text


def test_unpacking_a_big_zip_does_not_stall_other_requests(
        api: httpx.Client, api_server: RunningServer) -> None:
    big = zipped({"__main__.py": CODE.encode(),
                  **{f"data/{i}.bin": os.urandom(4096) for i in range(9_000)}})
    gaps: list[float] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                started = time.monotonic()
                client.get(api_server.url + "/api/my/t/echo")
                gaps.append(time.monotonic() - started)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        answer = api.put("/actions/p/big", params={"overwrite": "true"},
                         json={"exec": {"kind": "python:default", "code": big, "binary": True}})
    finally:
        done.set()
        prober.join()
    assert answer.status_code == 200, answer.text
    assert len(gaps) > 5
    # a stalled loop shows as one probe waiting as long as the unpacking (seconds)
    assert max(gaps) < 1.0, max(gaps)


# 9. Host rules: the dev Ollama's as strict as the server's; one Host header only


@pytest.fixture(scope="module")
def dev_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    logs = tmp_path_factory.mktemp("dev-ollama")
    with serve_dev_ollama("--auth", "", log_path=logs / "ollama.log") as running:
        yield running


@pytest.mark.parametrize("host", ["rebound.example:{port}", "rebound.example",
                                  "127.0.0.2:{port}"])
def test_the_dev_ollama_refuses_a_host_that_is_not_its_own(dev_ollama: RunningServer,
                                                           host: str) -> None:
    port = dev_ollama.url.rsplit(":", 1)[1]
    answer = raw(dev_ollama, f"GET /api/tags HTTP/1.1\r\nHost: {host.format(port=port)}\r\n"
                             "Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 421 "), answer[:200]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}"])
def test_the_dev_ollama_answers_to_its_own_names(dev_ollama: RunningServer, host: str) -> None:
    port = dev_ollama.url.rsplit(":", 1)[1]
    answer = raw(dev_ollama, f"GET /api/tags HTTP/1.1\r\nHost: {host.format(port=port)}\r\n"
                             "Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


@pytest.mark.parametrize("which", ["server", "dev-ollama"])
def test_two_host_headers_are_refused(server: RunningServer, dev_ollama: RunningServer,
                                      which: str) -> None:
    target = server if which == "server" else dev_ollama
    own = host_of(target)
    for hosts in ((own, "rebound.example"), ("rebound.example", own), (own, own)):
        lines = "".join(f"Host: {h}\r\n" for h in hosts)
        answer = raw(target, f"GET / HTTP/1.1\r\n{lines}Connection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


def test_nothing_is_left_running_by_the_runtime_project(server: RunningServer) -> None:
    """After every test above (crashes, kills, orphans): the server, its fork server and
    idle workers, and nothing else below it."""
    from streamwhisk.actionloop.tree import children, descendants

    def only_workers() -> bool:
        fork_servers = set(children(server.pid))
        return set(descendants(server.pid)) <= fork_servers | set(server.workers())

    assert server.process.poll() is None
    assert wait_until(only_workers, timeout=10), descendants(server.pid)
