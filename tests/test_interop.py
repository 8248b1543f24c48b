"""A real OpenWhisk client that no one here wrote, the npm `openwhisk` package, creates,
invokes, reads and deletes an action on `streamwhisk up`'s REST API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamwhisk.testing import RunningServer, serve

INTEROP = Path(__file__).parent / "interop"
AUTH = "9a8b7c6d-npm-client:k3y-for-the-npm-client"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    empty = tmp_path_factory.mktemp("npm")
    (empty / "packages").mkdir()
    with serve(empty, "--log-level", "warning", log_path=empty / "server.log",
               env={"AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(empty / "data")}) as running:
        yield running


def test_the_npm_openwhisk_client_creates_and_invokes_an_action(server: RunningServer) -> None:
    node = shutil.which("node")
    assert node, "the tests need Node.js (make setup installs the client with npm)"
    assert (INTEROP / "node_modules" / "openwhisk").is_dir(), "run `make setup` first"
    done = subprocess.run([node, str(INTEROP / "create_and_invoke.js")],
                          env={**os.environ, "APIHOST": server.url, "AUTH": AUTH},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    seen = json.loads(done.stdout)
    assert seen["result"] == {"greeting": "hello node"}
    assert "guest/npmclient/hello" in seen["listed"]
    assert seen["kind"] == "python:default"
    assert seen["refused"] == "401"
