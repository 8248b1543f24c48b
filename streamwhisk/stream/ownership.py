"""Which connection to a relay port belongs to the activation that was given the port.

Any local process can connect to 127.0.0.1. The activation's worker announces, before it
connects, the local port its connection will come from (the action loop's StreamFrom). The
relay keeps the connection whose source port was announced and resets the others:

    verdict(port)  True   announced: the activation's own
                   False  another port was announced: a stranger
                   None   nothing announced yet: wait for it (the announcement and the
                          connection travel on different channels and may arrive in any order)
    once the activation has ended, every announcement is in, so an unsure one is a stranger.

`FirstComer` is the rule where no announcement can come (a cluster's actions): the first
connection is the owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Ownership(Protocol):
    def verdict(self, port: int) -> bool | None: ...

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each announcement."""


class Announced:
    """The source ports an activation's worker announced."""

    def __init__(self) -> None:
        self.ports: set[int] = set()
        self._listeners: list[Callable[[], None]] = []

    def announce(self, port: int) -> None:
        self.ports.add(port)
        for listener in self._listeners:
            listener()

    def verdict(self, port: int) -> bool | None:
        if port in self.ports:
            return True
        return False if self.ports else None

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)


class FirstComer:
    """No announcements: the first connection is the owner's."""

    def verdict(self, port: int) -> bool | None:
        return True

    def on_change(self, callback: Callable[[], None]) -> None:
        pass
