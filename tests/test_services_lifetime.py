"""A platform service dies with its server, however the server ends."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import copy_project
from services_support import needs_redis, service_pid
from test_worker_faults import alive

from streamwhisk.testing import serve, wait_until


@pytest.mark.parametrize(("service", "program"), [
    pytest.param("redis", b"redis-server", marks=needs_redis), ("s3", b"weed"),
    ("postgres", b"postgres"), ("milvus", b"python")])
def test_a_service_dies_with_a_server_that_is_killed(tmp_path: Path, service: str,
                                                     program: bytes) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", service, log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: f"service {service} ready in" in up.log(), timeout=60)
        pid = service_pid(up, program)
        up.process.send_signal(signal.SIGKILL)
        up.process.wait()
    assert wait_until(lambda: not alive(pid), timeout=15), f"{service} outlived its server"
