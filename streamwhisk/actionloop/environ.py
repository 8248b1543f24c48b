"""What `os.environ` shows each activation when a worker runs several at once.

With `limits.concurrency` 1 the `__OW_*` variables are simply written into the real
environment before each activation. With more, one process runs several activations in
threads, so a single environment cannot hold each one's `__OW_ACTIVATION_ID`: this overlay
gives the thread that runs an activation its own `__OW_*` values, while the real
environment (what child processes, and threads the action starts itself, see) holds those of
the activation that started last. That is OpenWhisk's own known limit (apache/openwhisk#4020).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping

PREFIX = "__OW_"


class ActivationEnviron(MutableMapping[str, str]):
    """Stands in for `os.environ`: every key but the `__OW_*` ones goes to the real one."""

    def __init__(self, real: MutableMapping[str, str]) -> None:
        self._real = real
        self._local = threading.local()

    def enter(self, variables: dict[str, str]) -> None:
        """In the activation's own thread, before it runs."""
        self._local.variables = variables
        for key in [k for k in self._real if k.startswith(PREFIX)]:
            del self._real[key]
        self._real.update(variables)

    def leave(self) -> None:
        self._local.variables = None

    def _own(self) -> dict[str, str] | None:
        variables: dict[str, str] | None = getattr(self._local, "variables", None)
        return variables

    def __getitem__(self, key: str) -> str:
        own = self._own()
        if own is not None and key.startswith(PREFIX):
            return own[key]
        return self._real[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value
        own = self._own()
        if own is not None and key.startswith(PREFIX):
            own[key] = value

    def __delitem__(self, key: str) -> None:
        own = self._own()
        if own is not None and key.startswith(PREFIX):
            own.pop(key, None)
        self._real.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        own = self._own()
        if own is None:
            return iter(list(self._real))
        return iter([k for k in self._real if not k.startswith(PREFIX)] + list(own))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self.items())
