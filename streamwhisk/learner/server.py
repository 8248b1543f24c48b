"""A running `streamwhisk up`, as `chat`, `loader` and `action` find it: its address and
key, and the one OpenWhisk client (`openwhisk/client.py`) that talks to it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .. import runs
from ..basicauth import is_blank
from ..config import Config
from ..openwhisk.client import LOCAL_UP, Client
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

    def client(self, timeout_s: float | None) -> Client:
        """Its OpenWhisk client (REST API and streamer), with its key when one is known."""
        return Client(self.url, self.key, peer=LOCAL_UP, require_key=False,
                      timeout_s=timeout_s)
