"""The action-loop messages, one JSON object per line, as typed definitions both sides import.

    server -> worker, on stdin
      Init        {"init": {main_file, multi_file, entry, memory_mb, concurrency}}   once
      Run         {"activation_id", "value", "action_name", "namespace", "api_host",
                   "api_key", "deadline"}                                      per activation
    worker -> server, on the result fd (never stdout: an action's print cannot corrupt it)
      Ready       {"ok": true}  or  {"error": "..."}                the answer to Init
      StreamFrom  {"activation_id", "stream_from": port}            before the activation
                  connects to its STREAM_HOST:STREAM_PORT: the local port it connects from
      Done        {"activation_id", "result": {...}}  or  {"activation_id", "error": "..."},
                  with "ending": true when the worker exits right after (out of memory)
    stdout and stderr are the action's logs, nothing else.

A line on the result fd that is none of these (or that holds NaN or Infinity, which JSON does
not have) is a protocol violation: the server treats it as a crash of the worker's
activations, at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class ProtocolViolation(ValueError):
    """A line on the result fd that is not a well-formed action-loop message."""


@dataclass(frozen=True)
class Init:
    main_file: str
    multi_file: bool
    entry: str
    memory_mb: int
    concurrency: int

    def encode(self) -> bytes:
        return _line({"init": self.__dict__})

    @classmethod
    def decode(cls, line: str | bytes) -> Init:
        return cls(**json.loads(line)["init"])


@dataclass(frozen=True)
class Run:
    activation_id: str
    value: dict[str, Any]
    action_name: str
    namespace: str
    api_host: str
    api_key: str
    deadline: int  # epoch milliseconds, as __OW_DEADLINE

    def encode(self) -> bytes:
        return _line(self.__dict__)

    @classmethod
    def decode(cls, line: str | bytes) -> Run:
        return cls(**json.loads(line))

    def environment(self) -> dict[str, str]:
        """The `__OW_*` variables this activation sees."""
        variables = {"__OW_ACTION_NAME": self.action_name, "__OW_ACTIVATION_ID":
                     self.activation_id, "__OW_DEADLINE": str(self.deadline),
                     "__OW_NAMESPACE": self.namespace, "__OW_API_HOST": self.api_host}
        if self.api_key:
            variables["__OW_API_KEY"] = self.api_key
        return variables


@dataclass(frozen=True)
class Ready:
    error: str | None = None

    def encode(self) -> bytes:
        return _line({"error": self.error} if self.error else {"ok": True})


@dataclass(frozen=True)
class StreamFrom:
    activation_id: str
    port: int

    def encode(self) -> bytes:
        return _line({"activation_id": self.activation_id, "stream_from": self.port})


@dataclass(frozen=True)
class Done:
    activation_id: str
    result: dict[str, Any] | None = None
    error: str | None = None
    ending: bool = False  # the worker exits right after: it must be given nothing more

    def encode(self) -> bytes:
        ending = {"ending": True} if self.ending else {}
        if self.error is not None:
            return _line({"activation_id": self.activation_id, "error": self.error, **ending})
        return _line({"activation_id": self.activation_id, "result": self.result, **ending})

    @staticmethod
    def encode_result(activation_id: str, encoded_result: str) -> bytes:
        """The same line as `Done(activation_id, result).encode()`, from a result already
        encoded as JSON (the worker encodes it once, to check its size)."""
        return (f'{{"activation_id": {json.dumps(activation_id)}, "result": {encoded_result}}}\n'
                .encode())


Reply = Ready | StreamFrom | Done


def decode_reply(line: bytes) -> Reply:
    """Parse one line from the result fd; anything malformed raises ProtocolViolation."""
    try:
        value = json.loads(line, parse_constant=_not_json)
    except ValueError as exc:
        raise ProtocolViolation(f"not JSON: {line[:60]!r}") from exc
    if not isinstance(value, dict):
        raise ProtocolViolation(f"not an object: {line[:60]!r}")
    activation_id = value.get("activation_id")
    if activation_id is None:
        if value.get("ok") is True:
            return Ready()
        if isinstance(value.get("error"), str):
            return Ready(error=value["error"])
    elif isinstance(activation_id, str):
        port = value.get("stream_from")
        if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
            return StreamFrom(activation_id, port)
        ending = value.get("ending") is True
        if isinstance(value.get("result"), dict):
            return Done(activation_id, result=value["result"], ending=ending)
        if isinstance(value.get("error"), str):
            return Done(activation_id, error=value["error"], ending=ending)
    raise ProtocolViolation(f"not an action-loop message: {line[:60]!r}")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False).encode() + b"\n"
