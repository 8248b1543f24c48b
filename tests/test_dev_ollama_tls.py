"""The dev Ollama answers as course code calls a hosted Ollama: `https://{AUTH}@{OLLAMA_HOST}`,
with real TLS from a local CA, and plain HTTP on the same address."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import socket
import ssl
import stat
import struct
from pathlib import Path

import certifi
import httpx
import ollama
import pytest
import requests
from support import COURSE_AUTH, copy_project

from streamwhisk.testing import RunningServer, serve

AUTH = "9f1d2c3b-learner:some-login-key"


@pytest.fixture
def host(dev_ollama_url: str) -> str:
    return dev_ollama_url.removeprefix("http://")


def test_requests_reaches_it_over_https_with_auth_in_the_url(host: str) -> None:
    base = f"https://{AUTH}@{host}/"  # a base ending in "/", as the lesson writes it
    answer = requests.post(f"{base}/api/generate", timeout=30,
                           json={"model": "llama3.1:8b", "prompt": "Who are you?",
                                 "stream": False})
    assert answer.status_code == 200
    assert answer.json()["response"]
    assert requests.get(f"https://{AUTH}@{host}", timeout=30).text == "Ollama is running"


def test_the_official_ollama_client_streams_over_https(host: str) -> None:
    client = ollama.Client(host=f"https://{host}", auth=tuple(AUTH.split(":")))  # type: ignore[arg-type]
    parts = [part.message.content for part in client.chat(
        model="deepseek-r1:32b", messages=[{"role": "user", "content": "Capital of Italy"}],
        stream=True)]
    assert len(parts) > 1 and "Rome" in "".join(parts)


def test_plain_http_still_works_on_the_same_address(host: str) -> None:
    assert httpx.get(f"http://{host}/api/version", timeout=30).status_code == 200


def test_a_client_that_does_not_trust_the_dev_ca_is_refused(host: str) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://{host}/", verify=certifi.where(), timeout=30)


def test_the_ca_lives_outside_the_project_with_private_keys(tmp_path: Path) -> None:
    folder = Path(os.environ["STREAMWHISK_CA_DIR"])
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600
    assert (folder / "bundle.pem").read_text().count("BEGIN CERTIFICATE") > 100


def test_a_lesson_action_in_a_worker_reaches_it_over_https(course_server: RunningServer) -> None:
    answer = httpx.post(course_server.url + "/api/my/chat/lesson",
                        json={"input": "Capital of Italy"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert "Rome" in answer.json()["output"]
    log = course_server.log()
    assert "OLLAMA_HOST=127.0.0.1:" in log and "for this run, over ollama.course.invalid" in log
    assert COURSE_AUTH not in log


def test_auto_says_why_it_did_not_start_a_dev_ollama(tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    with serve(project, log_path=tmp_path / "log", env={
            "OLLAMA_HOST": None, "STREAMWHISK_LOGIN_FILE": str(tmp_path / "none.env")}) as server:
        assert ("dev ollama not started: OLLAMA_HOST is ollama.course.invalid (from "
                "packages/.env)") in server.log()


def _hang_up(address: tuple[str, int], step: int, context: ssl.SSLContext) -> None:
    """A client that goes away at one of the moments a front door must survive: before its
    first byte, after it, inside the TLS handshake, after its request, with a FIN or an RST."""
    with socket.create_connection(address, timeout=10) as sock:
        if step % 2:  # an RST instead of a FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        moment = step // 2 % 4
        if moment == 1:
            sock.sendall(b"\x16")
        elif moment == 2:
            sock.setblocking(False)
            with contextlib.suppress(ssl.SSLError, OSError):
                context.wrap_socket(sock, server_hostname="localhost",
                                    do_handshake_on_connect=False).do_handshake()
        elif moment == 3:
            sock.sendall(b'POST /api/generate HTTP/1.1\r\nHost: x\r\ncontent-length: 64\r\n\r\n'
                         b'{"model": "llama3.1:8b", "prompt": "long story", "stre')


def test_clients_that_hang_up_at_any_moment_leave_the_front_door_whole(
        dev_ollama: RunningServer) -> None:
    address = ("127.0.0.1", int(dev_ollama.url.rsplit(":", 1)[1]))
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(_hang_up, address, step, context) for step in range(800)]
        for turn in range(20):  # meanwhile, real requests over both protocols
            scheme = "https" if turn % 2 else "http"
            answer = httpx.post(f"{scheme}://127.0.0.1:{address[1]}/api/generate", verify=False,
                                json={"model": "llama3.1:8b", "prompt": "Capital of Italy",
                                      "stream": False}, timeout=30)
            assert "Rome" in answer.json()["response"]
        for future in futures:
            future.result()
    assert httpx.get(f"{dev_ollama.url}/api/version", timeout=30).status_code == 200
    assert dev_ollama.process.poll() is None
    assert "Bad file descriptor" not in dev_ollama.log(), dev_ollama.log()
    assert "Traceback" not in dev_ollama.log(), dev_ollama.log()
