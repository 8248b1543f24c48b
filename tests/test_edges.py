"""The edges: a local server that no web page, no request and no action can turn against its
user. Host and origin, HTTP limits, the headers actions send, secrets in every spelling,
isolation between actions and the server. Each test fails on the code before these rules."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from conftest import copy_project

from streamwhisk.testing import RunningServer, serve

SECRET = 'p@ss\\w"ord%41 é+x'
NESTED = "nested-t0ken-value"


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = copy_project("edges_project", tmp_path_factory.mktemp("edges"))
    with serve(project, log_path=project / "server.log") as running:
        yield running


def spellings(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
            repr(secret)[1:-1], quote(secret, safe=""), quote(secret), quote_plus(secret),
            json.dumps(json.dumps(secret)[1:-1])[1:-1]]


def assert_no_secret(text: str) -> None:
    for spelling in [*spellings(SECRET), NESTED]:
        assert spelling not in text, f"{spelling!r} leaked"


@pytest.mark.parametrize("route", ["/api/my/e/leak", "/api/v1/web/guest/e/leak.json"])
def test_a_secret_in_an_error_is_masked_in_every_spelling(edges: RunningServer,
                                                          route: str) -> None:
    answer = httpx.get(f"{edges.url}{route}", params={"mode": "raise"}, timeout=30)
    assert answer.status_code == 502
    assert_no_secret(answer.text)
    assert "repr='********' json=\"********\" url=******** nested=******** leaf=******** " \
        "dict=********" in answer.json()["error"]


def test_a_secret_in_the_logs_is_masked_in_every_spelling(edges: RunningServer) -> None:
    assert httpx.get(f"{edges.url}/api/my/e/leak", timeout=30).text == "printed"
    httpx.get(f"{edges.url}/api/my/e/leak", params={"mode": "raise"}, timeout=30)
    time.sleep(0.3)  # the worker's pipes are drained when its activation ends
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
