"""The services refuse what has no key, from another local user too; they get none of the
server's secrets; no action can read their processes; one run owns their data; a killed
Redis loses at most its last second."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support import FIXTURES, copy_project, count, needs_redis, service_pid

from streamwhisk.testing import RunningServer, serve, wait_until

SECRET = "sk-the-servers-own-key-0123456789"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
as_root_only = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                  reason="acting as another user needs root and setpriv")


def up_with(tmp_path: Path, *services: str) -> tuple[Path, dict[str, str | None]]:
    project = copy_project("services_project", tmp_path)
    shutil.copy(FIXTURES / "edges_project" / "packages" / "e" / "peek.py",
                project / "packages" / "boxed" / "peek.py")
    env: dict[str, str | None] = {"STREAMWHISK_DATA_DIR": str(tmp_path / "data"),
                                  "OPENAI_API_KEY": SECRET, "REDIS_URL": None}
    return project, env


def folder_of(up: RunningServer, service: str) -> Path:
    line = next(line for line in up.log().splitlines() if f"service {service} at" in line)
    return Path(line.split(", data in ", 1)[1].split(": starting", 1)[0])


def _counts_on_disk(folder: Path) -> int:
    """The counter's increments Redis has written to its append-only file(s)."""
    return sum(aof.read_bytes().upper().count(b"INCR") for aof in folder.rglob("*.aof"))


def as_nobody(code: str) -> str:
    done = subprocess.run([*NOBODY, sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_redis
def test_services_get_none_of_the_servers_secrets_and_no_action_reads_their_processes(
        tmp_path: Path) -> None:
    project, env = up_with(tmp_path)
    with serve(project, "--services", "redis,postgres", log_path=tmp_path / "up.log",
               env=env) as up:
        assert wait_until(lambda: up.log().count(" ready in ") == 2, timeout=90), up.log()
        for program in (b"redis-server", b"postgres"):
            pid = service_pid(up, program)
            environment = Path(f"/proc/{pid}/environ").read_bytes()
            assert SECRET.encode() not in environment
            assert b"OPENAI_API_KEY" not in environment
            seen = httpx.get(f"{up.url}/api/my/boxed/peek", params={"server": pid},
                             timeout=60).json()
            assert seen["server_environ"] == "PermissionError", (program, seen)
            assert seen["server_memory"] == "PermissionError", (program, seen)
        redis = service_pid(up, b"redis-server")
        secret = (folder_of(up, "redis") / ".secret").read_text().strip()
        # its password is not on its command line, which every local user reads
        assert secret.encode() not in Path(f"/proc/{redis}/cmdline").read_bytes()


def test_the_stores_inner_ports_are_in_a_namespace_of_their_own(tmp_path: Path) -> None:
    project, env = up_with(tmp_path)
    with serve(project, "--services", "s3", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service s3 ready in" in up.log(), timeout=90), up.log()
        weed = service_pid(up, b"weed")
        assert os.readlink(f"/proc/{weed}/ns/net") != os.readlink("/proc/self/ns/net")
        folder = folder_of(up, "s3")
        inner = json.loads((folder / ".inner-ports.json").read_text())
        for port in (inner["master"], inner["s3"]):  # nothing listens there on this loopback
            with pytest.raises(ConnectionRefusedError), socket.create_connection(
                    ("127.0.0.1", port), timeout=5):
                pass
        # its parts' gRPC sockets in /tmp (where SeaweedFS always puts them) are its user's
        sockets = [f"/tmp/seaweedfs-{part}-grpc-{port}.sock"
                   for part, port in inner["grpc"].items()]
        assert [oct(os.stat(path).st_mode & 0o777) for path in sockets if os.path.exists(
            path)] == [oct(0o700)] * len([path for path in sockets if os.path.exists(path)])
        store = up.log().split("service s3 at ", 1)[1].split(",", 1)[0]
        unsigned = httpx.get(f"http://{store}/{'guest-data'}", timeout=30,
                             headers={"Origin": "http://evil.example"})
        assert unsigned.status_code == 403
        assert "access-control-allow-origin" not in unsigned.headers
    assert not [path for path in sockets if os.path.exists(path)]  # removed as it ended


@as_root_only
def test_another_user_reads_writes_and_deletes_nothing_in_the_store(tmp_path: Path) -> None:
    project, env = up_with(tmp_path)
    with serve(project, "--services", "s3", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service s3 ready in" in up.log(), timeout=90), up.log()
        stored = httpx.post(f"{up.url}/api/my/files/store", json={"put": "private.txt",
                                                                 "text": "mine"}, timeout=60)
        assert stored.status_code == 200, stored.text
        folder = folder_of(up, "s3")
        store = up.log().split("service s3 at ", 1)[1].split(",", 1)[0]
        assert as_nobody(f"import os; print(os.access({str(folder)!r}, os.R_OK))") == "False"
        inner = json.loads((folder / ".inner-ports.json").read_text())
        probes = [f"http://127.0.0.1:{inner['master']}/col/delete?collection=guest-data",
                  f"http://{store}/guest-data/private.txt", f"http://{store}/guest-data"]
        said = as_nobody(
            "import urllib.request, urllib.error\n"
            f"for url in {probes!r}:\n"
            "    try:\n"
            "        urllib.request.urlopen(url, timeout=5); print('read')\n"
            "    except urllib.error.HTTPError as e: print(e.code)\n"
            "    except OSError as e: print(type(e).__name__)\n")
        assert said.split() in (["URLError", "403", "403"],
                                ["ConnectionRefusedError", "403", "403"]), said
        again = httpx.post(f"{up.url}/api/my/files/store", json={"get": "private.txt"},
                           timeout=60)
        assert "mine" in again.text, again.text


def test_milvus_refuses_any_token_but_the_projects(tmp_path: Path) -> None:
    import grpc
    from pymilvus import MilvusClient, MilvusException
    from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

    project, env = up_with(tmp_path)
    with serve(project, "--services", "milvus", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service milvus ready in" in up.log(), timeout=120), up.log()
        address = up.log().split("service milvus at ", 1)[1].split(",", 1)[0]
        secret = (folder_of(up, "milvus") / ".secret").read_text().strip()
        for token in ("", "root:wrong", "bogus", "root:Milvus"):
            with pytest.raises(MilvusException):
                MilvusClient(uri=f"http://{address}", token=token, timeout=20).list_collections()
            with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as no:
                milvus_pb2_grpc.MilvusServiceStub(channel).ShowCollections(
                    milvus_pb2.ShowCollectionsRequest(), timeout=20,
                    metadata=[("authorization", base64.b64encode(token.encode()).decode())])
            assert no.value.code() == grpc.StatusCode.UNAUTHENTICATED
        right = MilvusClient(uri=f"http://{address}", token=f"root:{secret}", timeout=20)
        assert isinstance(right.list_collections(), list)


@needs_redis
def test_a_second_run_on_the_same_data_is_refused_naming_the_first(tmp_path: Path) -> None:
    project, env = up_with(tmp_path)
    with serve(project, "--services", "redis", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service redis ready in" in up.log(), timeout=60), up.log()
        second = subprocess.run(
            [sys.executable, "-m", "streamwhisk", "up", "--project", str(project), "--port", "0",
             "--services", "redis"], capture_output=True, text=True, timeout=60,
            env={**os.environ, "STREAMWHISK_DATA_DIR": str(tmp_path / "data")})
        assert second.returncode == 1
        assert "redis is running: its data (" in second.stderr
        assert f"in use by streamwhisk up (pid {up.pid})" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1, second.stderr
        assert count(up)["count"] == 1  # the first run's Redis still serves


@needs_redis
def test_a_killed_redis_loses_at_most_its_last_second(tmp_path: Path) -> None:
    project, env = up_with(tmp_path)
    with serve(project, "--services", "redis", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service redis ready in" in up.log(), timeout=60), up.log()
        counted = [count(up)["count"] for _ in range(5)]
        # appendfsync everysec: within a second, the five are in the append-only file
        assert wait_until(lambda: _counts_on_disk(folder_of(up, "redis")) >= 5, timeout=10)
        os.kill(service_pid(up), signal.SIGKILL)
        assert wait_until(lambda: up.log().count("service redis ready in") == 2, timeout=60)
        assert count(up)["count"] == counted[-1] + 1
