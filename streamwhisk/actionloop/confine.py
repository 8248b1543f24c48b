"""The cheap protections Linux gives a process without root, between an action and the rest.

A process of the same user can read another's memory (`/proc/PID/mem`) and environment
(`/proc/PID/environ`) unless that one is not *dumpable*. The server and every worker make
themselves not dumpable, so an action cannot read the server's secrets or another action's
memory. A process with CAP_SYS_PTRACE (root) reads them anyway: a worker running as root
gives that capability up, from its bounding set too, so programs it starts cannot regain it.
`STREAMWHISK_DEBUGGABLE=1` keeps processes dumpable, to attach a debugger or a profiler.

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
_CAP_SYS_PTRACE = 19
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


def confine_worker() -> None:
    """In a worker, before any action code: not dumpable, and no CAP_SYS_PTRACE."""
    not_dumpable()
    if debuggable() or os.geteuid() != 0:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_CAPBSET_DROP, _CAP_SYS_PTRACE, 0, 0, 0)
        header, data = _Header(_CAPABILITY_VERSION_3, 0), (_Data * 2)()
        if libc.capget(ctypes.byref(header), data) == 0:
            keep = ~(1 << _CAP_SYS_PTRACE) & 0xFFFFFFFF
            data[0].effective &= keep
            data[0].permitted &= keep
            data[0].inheritable &= keep
            libc.capset(ctypes.byref(header), data)
