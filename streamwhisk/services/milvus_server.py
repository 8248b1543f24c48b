"""`python -m streamwhisk.services.milvus_server --data-dir D --socket S --host H --port P`:
Milvus as the cluster's client meets it. Milvus Lite's server (a C++ build of Milvus, from
the `milvus-lite` package) keeps the data in D and listens on the Unix socket S only, in a
folder of this user's alone; in front of it, on H:P, a gRPC front that passes each call
through unchanged once it carries the project's token, as a Milvus with authentication on
refuses one without (the token, `root:<secret>`, comes in its environment, never on its
command line).

Where Milvus Lite answers otherwise than a Milvus server, the front answers as the server
does: a delete's result names no primary keys (a server's `MutationResult` of a delete has
`delete_cnt` and no IDs, so pymilvus 2.5 gives `{"delete_count": n}`; Milvus Lite lists the
keys, and pymilvus then returns the list); and an index type Milvus Lite does not build
(HNSW, IVF_SQ8, DISKANN, ...: it has FLAT, IVF_FLAT and AUTOINDEX) is made as AUTOINDEX with
the metric asked for, where a server would build it (same answers, exact ones; its
`describe_index` then says AUTOINDEX). Milvus Lite ends when this process does: it waits
on a lock that this process holds, and exits when the lock is free."""

from __future__ import annotations

import argparse
import base64
import fcntl
import hmac
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from pymilvus.grpc_gen import schema_pb2

from .milvus import TOKEN

MAX_MESSAGE = 256 * 1024 * 1024  # as Milvus standalone
# what a Milvus server answers to a call with wrong credentials
REFUSED = "auth check failure, please check username and password are correct"

def _lite_binaries() -> Path:
    """The package's lib/ (its server and the libraries it loads), found without importing
    the package, whose __init__ wants setuptools' pkg_resources."""
    spec = importlib.util.find_spec("milvus_lite")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("milvus: the milvus-lite package is missing: it comes with streamwhisk "
                 "(reinstall it)")
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


LITE = _lite_binaries()
START_S = 20.0  # for Milvus Lite to open its socket
DELETE = "/milvus.proto.milvus.MilvusService/Delete"
CREATE_INDEX = "/milvus.proto.milvus.MilvusService/CreateIndex"
LITE_INDEXES = {"FLAT", "IVF_FLAT", "AUTOINDEX", ""}  # "": the server's choice
# what a client sends that is its own connection's, not the call's
NOT_FORWARDED = ("authorization", "user-agent")


class TokenCheck(grpc.ServerInterceptor):  # type: ignore[misc]
    """Every call carries pymilvus's `authorization` (base64 of the token, or of
    user:password, which for root:<secret> is the same), or is refused."""

    def __init__(self, token: str) -> None:
        self._expected = base64.b64encode(token.encode())

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        given = dict(details.invocation_metadata).get("authorization", "")
        if hmac.compare_digest(given.encode() if isinstance(given, str) else given,
                               self._expected):
            return continuation(details)
        handler = continuation(details)
        if handler is None:
            return None

        def refuse(request: Any, context: Any) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSED)

        return grpc.unary_unary_rpc_method_handler(refuse)


class PassThrough(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Each unary call, its bytes as they are, to Milvus Lite and back (every call of the
    Milvus service is unary)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._channel = channel

    def service(self, details: Any) -> Any:
        method: str = details.method
        forward = self._channel.unary_unary(method)
        answer: Callable[[bytes], bytes] = _as_a_server_deletes if method == DELETE \
            else _unchanged
        ask: Callable[[bytes], bytes] = _an_index_lite_builds if method == CREATE_INDEX \
            else _unchanged

        def call(request: bytes, context: grpc.ServicerContext) -> bytes:
            metadata = [(key, value) for key, value in context.invocation_metadata()
                        if key not in NOT_FORWARDED and not key.startswith((":", "grpc-"))]
            remaining = context.time_remaining()  # ~9e18 when the client set no deadline
            try:
                return answer(forward(ask(request), metadata=metadata,
                                      timeout=remaining if remaining < 1e6 else None))
            except grpc.RpcError as exc:
                context.abort(exc.code(), exc.details() or "")
                raise  # abort raises; this line is never reached

        return grpc.unary_unary_rpc_method_handler(call)


def _unchanged(response: bytes) -> bytes:
    return response


def _an_index_lite_builds(request: bytes) -> bytes:
    from pymilvus.grpc_gen import milvus_pb2

    asked = milvus_pb2.CreateIndexRequest.FromString(request)
    kinds = [p for p in asked.extra_params if p.key == "index_type"]
    if not kinds:  # pymilvus 2.5's create_collection(dimension=N) names none: a server's AUTOINDEX
        asked.extra_params.add(key="index_type", value="AUTOINDEX")
    elif kinds[0].value.upper() not in LITE_INDEXES:
        kinds[0].value = "AUTOINDEX"
        for pair in asked.extra_params:
            if pair.key == "params":
                pair.value = "{}"  # M, efConstruction, nlist...: the type's own, not AUTOINDEX's
    return bytes(asked.SerializeToString())


def _as_a_server_deletes(response: bytes) -> bytes:
    from pymilvus.grpc_gen import milvus_pb2

    result = milvus_pb2.MutationResult.FromString(response)
    result.ClearField("IDs")
    result.IDs.CopyFrom(schema_pb2.IDs())
    return bytes(result.SerializeToString())


def start_lite(data: Path, socket: Path) -> tuple[subprocess.Popen[bytes], Any]:
    """Milvus Lite on `socket`, holding the lock it waits on (it ends once the lock is
    free: when this process ends, however it ends)."""
    lock = open(data / ".milvus-lite.lock", "a")  # noqa: SIM115 (held for the whole run)
    fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    socket.unlink(missing_ok=True)
    env = {**os.environ, "LD_LIBRARY_PATH": str(LITE)}
    process = subprocess.Popen([str(LITE / "milvus"), str(data / "milvus.db"),
                                f"unix:{socket}", "ERROR", lock.name], env=env, cwd=data,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_S
    while not socket.exists():
        if process.poll() is not None:
            sys.exit(f"milvus: Milvus Lite ended at start (exit {process.returncode}): "
                     f"see its lines above; its data is in {data}")
        if time.monotonic() > deadline:
            process.kill()
            sys.exit(f"milvus: Milvus Lite did not open its socket in {START_S:.0f} s")
        time.sleep(0.02)
    return process, lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    token = os.environ.pop(TOKEN, "")
    if not token:
        sys.exit(f"milvus: no token in {TOKEN}: it would take any client")
    options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    options.socket.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lite, _lock = start_lite(options.data_dir, options.socket)
    limits = [("grpc.max_receive_message_length", MAX_MESSAGE),
              ("grpc.max_send_message_length", MAX_MESSAGE)]
    channel = grpc.insecure_channel(f"unix:{options.socket}", options=limits)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         handlers=[PassThrough(channel)], interceptors=[TokenCheck(token)],
                         options=[*limits, ("grpc.so_reuseport", 0)])
    try:
        bound = server.add_insecure_port(f"{options.host}:{options.port}")
    except RuntimeError:
        bound = 0
    if not bound:
        lite.kill()
        sys.exit(f"milvus: cannot listen on {options.host}:{options.port}: "
                 "address already in use")
    server.start()
    print(f"milvus listening on {options.host}:{options.port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=2))
    try:
        # until the front is stopped (SIGTERM), or Milvus Lite ends (it returns True while
        # it waits on)
        while lite.poll() is None and server.wait_for_termination(timeout=0.5):
            pass
    finally:
        server.stop(grace=None)
        lite.terminate()
        try:
            lite.wait(5)
        except subprocess.TimeoutExpired:
            lite.kill()
        options.socket.unlink(missing_ok=True)
    if lite.returncode not in (0, -signal.SIGTERM, None):
        sys.exit(f"milvus: Milvus Lite ended (exit {lite.returncode})")


if __name__ == "__main__":
    main()
