"""`python -m streamwhisk.services.supervise` (its orders as JSON on stdin): one service's
keeper, between the server and the service's program.

- It ends the service when the server ends, however the server ends (its own parent-death
  signal), with the service's own stop signal (Postgres's fast shutdown is SIGINT), and with
  SIGKILL once the grace is over: a service that ignores its signal never keeps listening.
- The service's program dies at once if this keeper is killed (its parent-death signal).
- It holds the data folder's owner lock (an inherited descriptor) for the service's life.
- With `publish`, the service runs in a network namespace of its own, where its inner ports
  (SeaweedFS's master, volume, filer, gRPC...) are reachable by nothing outside, and only its
  one public port is relayed from the server's loopback into it.

Standard library only, and nothing from the server's environment but what the orders give.
It starts with every service, so it imports little (asyncio and urllib only to publish a
port), and runs without `site` (`-S`): its start adds some 20 ms to the service's.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ..lifetime import ask_parent_death, die_with_parent

if TYPE_CHECKING:
    import asyncio

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_SIOCSIFFLAGS = 0x8914
_IFF_UP_LOOPBACK_RUNNING = 0x1 | 0x8 | 0x40
GRACE_S = 2.0  # from the service's stop signal to its SIGKILL
BUFFER = 256 * 1024


def isolate_network() -> bool:
    """A network namespace of this process's own, its loopback up; False where the kernel
    refuses one (the service then runs on the server's loopback, as before)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0:
        if libc.unshare(_CLONE_NEWNET) != 0:
            return False
    else:
        uid, gid = os.geteuid(), os.getegid()
        if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
            return False
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as file:
                file.write(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
        fcntl.ioctl(control, _SIOCSIFFLAGS, struct.pack("16sH", b"lo",
                                                        _IFF_UP_LOOPBACK_RUNNING))
    return True


def _answers(url: str, contains: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return contains.encode() in answer.read()
    except (OSError, ValueError):
        return False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass
    finally:
        writer.close()


def _relay(public: socket.socket, inner: tuple[str, int]) -> None:
    """Forever: each connection to `public` spliced to `inner`."""
    import asyncio

    async def splice(client_reader: asyncio.StreamReader,
                     client_writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await asyncio.open_connection(*inner)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client_writer))

    async def serve() -> None:
        server = await asyncio.start_server(splice, sock=public)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def _stop(process: subprocess.Popen[bytes], signum: int, grace_s: float) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _bind_then_isolate(publish: dict[str, Any]) -> socket.socket:
    """The public port, bound on the server's loopback before this process leaves it for a
    network namespace of its own (a socket stays in the namespace it was made in)."""
    public = socket.socket()
    try:
        public.bind((publish["host"], publish["port"]))
    except OSError:
        sys.exit(f"cannot listen on {publish['host']}:{publish['port']}: "
                 "address already in use")
    if not isolate_network():
        print("streamwhisk: this kernel refuses a network namespace: the service's inner "
              "ports are on the machine's loopback", flush=True)
    return public


def _end_as(process: subprocess.Popen[bytes], leftovers: list[str]) -> None:
    """Exit as the service did: its exit code, or the signal that ended it."""
    for leftover in leftovers:
        with contextlib.suppress(OSError):
            os.unlink(leftover)
    code = process.returncode
    if code < 0:  # ended by a signal: so does this keeper, for the server to see which
        if -code != signal.SIGKILL:
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


def main() -> None:
    orders: dict[str, Any] = json.loads(sys.stdin.read())
    ask_parent_death(int(orders["parent"]), signal.SIGTERM)  # the server, however it ends
    publish = orders.get("publish")
    public = _bind_then_isolate(publish) if publish is not None else None
    stop_signal = int(orders.get("stop_signal", signal.SIGTERM))
    # A flag, not a threading.Event: a handler runs in the main thread between two bytecodes,
    # maybe while that thread holds the Event's lock inside Event.wait, and Event.set would
    # then wait for it forever (a keeper and its service outlived their server so, once)
    asked: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: asked.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: asked.append(signum))

    def stopping() -> bool:
        return bool(asked) or process.poll() is not None

    os.umask(0o077)  # what it makes (SeaweedFS's gRPC sockets in /tmp) is this user's only
    process = subprocess.Popen(orders["command"], env=orders["env"], cwd=orders["cwd"],
                               stdin=subprocess.DEVNULL, pass_fds=tuple(orders.get("keep", ())),
                               preexec_fn=die_with_parent(signal.SIGKILL))
    if public is not None and publish is not None:
        inner = ("127.0.0.1", int(publish["to"]))
        ready = publish.get("ready")
        while not stopping() and ready and not _answers(ready["url"], ready["contains"]):
            time.sleep(0.05)
        public.listen(128)
        threading.Thread(target=_relay, args=(public, inner), daemon=True).start()
    while not stopping():
        time.sleep(0.1)
    _stop(process, stop_signal, GRACE_S)
    _end_as(process, list(orders.get("remove_after", ())))


if __name__ == "__main__":
    main()
