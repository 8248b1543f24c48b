"""A running `streamwhisk up`, as `chat` and `loader` reach it: its streamer for a chat, its
REST API (with its key) to invoke an action as `ops invoke` does."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .. import runs
from ..basicauth import credentials, is_blank
from ..config import Config
from ..errors import ServerUnreachable
from ..paths import run_key_file

DEFAULT_URL = "http://127.0.0.1:8080"  # where `up` listens unless told otherwise


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def same_server(one: str, other: str) -> bool:
    """Whether two URLs name the same server: same port, and the same host, or both this
    machine's loopback."""
    a, b = urlsplit(one), urlsplit(other)
    if a.port != b.port or a.scheme != b.scheme:
        return False
    return a.hostname == b.hostname or {a.hostname, b.hostname} <= LOOPBACK


def _run_key_for(url: str) -> str:
    """The key an `up` made for its run, when `url` is that up's own address; else ""."""
    try:
        key, _, owner = run_key_file(url).read_text().partition("\n")
    except OSError:
        return ""
    return key.strip() if same_server(owner.strip(), url) else ""


@dataclass(frozen=True)
class RunningUp:
    url: str
    key: str  # the REST API's, "" when none is known

    @classmethod
    def find(cls, project: Path, url: str | None, auth: str | None) -> RunningUp:
        """`url`, else STREAMWHISK_URL, else the project's running up, else up's default;
        its key: `auth`, else AUTH from the layers (up takes the login's), else the key up
        made for a run on that port."""
        running = runs.running(project)
        url = (url or os.environ.get("STREAMWHISK_URL") or (running and running.url)
               or DEFAULT_URL).rstrip("/")
        key = auth or ""
        if is_blank(key):
            login = Config.load(project, "packages").get("AUTH")
            key = login if login and not is_blank(login) else ""
        if not key:
            key = _run_key_for(url)
        return cls(url, key)

    def stream(self, action: str, body: dict[str, Any],
               client: httpx.Client) -> Iterator[dict[str, Any]]:
        """The messages of one streamed reply, as the page reads them (NDJSON)."""
        try:
            with client.stream("POST", f"{self.url}/web/_/{action}", json=body,
                               headers={"accept": "application/x-ndjson"}) as answer:
                if answer.status_code != 200:
                    answer.read()
                    raise ServerUnreachable(f"{action}: {self._why(answer)}")
                for line in answer.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def invoke(self, action: str, body: dict[str, Any], client: httpx.Client) -> Any:
        """The result of a blocking invocation through the REST API."""
        auth = credentials(self.key) or httpx.USE_CLIENT_DEFAULT  # no key: none sent
        try:
            answer = client.post(f"{self.url}/api/v1/namespaces/_/actions/{action}",
                                 params={"blocking": "true", "result": "true"}, json=body,
                                 auth=auth)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        if answer.status_code == 401:
            raise ServerUnreachable(f"{self.url} refused the key: pass --auth UUID:KEY (up "
                                    "says which key protects its REST API)")
        if answer.status_code not in (200, 502):
            raise ServerUnreachable(f"{action}: {self._why(answer)}")
        return answer.json()

    def _unreachable(self, exc: Exception) -> ServerUnreachable:
        return ServerUnreachable(f"no streamwhisk up answers at {self.url} ({exc}): start "
                                 "`streamwhisk up` in the project, or pass --url")

    @staticmethod
    def _why(answer: httpx.Response) -> str:
        try:
            return f"{answer.status_code}: {answer.json().get('error', answer.text)}"
        except ValueError:
            return f"{answer.status_code}: {answer.text[:200]}"
