"""The cheap protections Linux gives a process without root, between an action and the rest.

A process of the same user can read another's memory (`/proc/PID/mem`), environment
(`/proc/PID/environ`) and maps unless that one is not *dumpable*. The server and every worker
make themselves not dumpable, so an action cannot read the server's secrets or another
action's memory. Root reads them anyway through a capability: CAP_SYS_PTRACE, and (as tried
on a real kernel) CAP_SYS_ADMIN or CAP_PERFMON alone. A worker running as root gives all three
up, from its bounding set too, so programs it starts cannot regain them.
`STREAMWHISK_DEBUGGABLE=1` keeps processes dumpable, to attach a debugger or a profiler.

The services (Redis, Postgres, ...) are programs the server starts: they are dumpable, and of
the same user. So the fork server moves itself, and so every worker, into a user namespace of
its own, mapped to the same user: an action keeps its uid, its files and its network, and has
no capability at all over processes outside that namespace, so it cannot read a service's
`/proc/PID/environ` or `mem` (as root neither: root's capabilities do not reach up, out of a
namespace, and the namespaces of other programs are not below this one).

What stays reachable, since only a container or another user can take it away: the user's
files (the project and its `.env` files included) and the network. Standard library only: it
runs in the worker, under the action's interpreter.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

DEBUGGABLE = "STREAMWHISK_DEBUGGABLE"
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_CLONE_NEWUSER = 0x10000000
# the capabilities that open another process's /proc files: SYS_PTRACE, SYS_ADMIN, PERFMON
DROPPED = (19, 21, 38)
_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def debuggable() -> bool:
    return os.environ.get(DEBUGGABLE) == "1"


def not_dumpable() -> None:
    """No process of this user may read this one's memory or environment."""
    if debuggable():
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def own_user_namespace() -> bool:
    """Move this (single-threaded) process into a new user namespace where its user and
    group are itself; False where the kernel refuses (the process is then as it was)."""
    if debuggable():
        return False
    uid, gid = os.geteuid(), os.getegid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWUSER) != 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with contextlib.suppress(OSError), open(f"/proc/self/{name}", "w") as file:
            file.write(text)
    return True


def confine_worker() -> None:
    """In a worker, before any action code: not dumpable, and none of the capabilities that
    read another process's memory or environment."""
    not_dumpable()
    if debuggable():
        return
    # a user other than root had no capability before its namespace gave it all: none again
    dropped = DROPPED if os.geteuid() == 0 else range(64)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in dropped:
            libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
        header, data = _Header(_CAPABILITY_VERSION_3, 0), (_Data * 2)()
        if libc.capget(ctypes.byref(header), data) == 0:
            for capability in dropped:  # 64 capability bits, in two 32-bit words
                word, keep = data[capability // 32], ~(1 << capability % 32) & 0xFFFFFFFF
                word.effective &= keep
                word.permitted &= keep
                word.inheritable &= keep
            libc.capset(ctypes.byref(header), data)
