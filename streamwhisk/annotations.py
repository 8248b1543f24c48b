"""`#--` comment annotations in an action's main file, read as `wsk action update` reads flags.

    #--web true
    #--param OLLAMA_HOST $OLLAMA_HOST
    #--timeout 300000
    #--annotation index '80:Chat:Stateless'
    #-a provide-api-key true
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, cast

from .errors import ConfigError

_LINE = re.compile(r"^\s*#\s?(--?[A-Za-z][\w-]*)(.*)$")
_ALIASES = {
    "-p": "param", "--param": "param",
    "-a": "annotation", "--annotation": "annotation",
    "-t": "timeout", "--timeout": "timeout",
    "-m": "memory", "--memory": "memory",
    "-c": "concurrency", "--concurrency": "concurrency",
    "-l": "logsize", "--logsize": "logsize",
    "--web": "web", "--web-secure": "web-secure",
    "--kind": "kind", "--main": "main", "--docker": "docker",
}
_ARITY = {"param": 2, "annotation": 2}
_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


# OpenWhisk's names for an action's limits (its REST API's `limits`), and ours
OPENWHISK_LIMITS = {"timeout": "timeout_ms", "memory": "memory_mb",
                    "concurrency": "concurrency", "logs": "logs_mb"}


class LimitFields(TypedDict):
    """An action's limits under our names, each None when not given."""

    timeout_ms: int | None
    memory_mb: int | None
    concurrency: int | None
    logs_mb: int | None


def limit_fields(openwhisk: Mapping[str, int]) -> LimitFields:
    """OpenWhisk's `limits` under our names (`Annotations`' and `Limits`' fields).

    >>> limit_fields({"timeout": 5000, "logs": 2})
    {'timeout_ms': 5000, 'memory_mb': None, 'concurrency': None, 'logs_mb': 2}
    """
    return cast(LimitFields, {ours: openwhisk.get(theirs)
                              for theirs, ours in OPENWHISK_LIMITS.items()})


def parse_value(text: str) -> Any:
    """A flag value, as the wsk CLI reads it: JSON when it parses, else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Annotations:
    """What the annotations of one action say, before any `$VAR` is expanded."""

    params: tuple[tuple[str, str], ...] = ()
    annotations: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    main: str | None = None
    timeout_ms: int | None = None
    memory_mb: int | None = None
    concurrency: int | None = None
    logs_mb: int | None = None  # #--logsize
    docker: str | None = None

    def limits_set(self) -> dict[str, int]:
        """The limits these annotations set, under OpenWhisk's names (what a deploy sends:
        the cluster's defaults stand for the others)."""
        return {theirs: value for theirs, ours in OPENWHISK_LIMITS.items()
                if (value := getattr(self, ours))}

    def limit_fields(self) -> LimitFields:
        return cast(LimitFields, {ours: getattr(self, ours) for ours in OPENWHISK_LIMITS.values()})

    @property
    def web(self) -> bool:
        return self.annotations.get("web-export") is True

    @property
    def raw_http(self) -> bool:
        return self.annotations.get("raw-http") is True


def parse_annotations(source: str, where: Path | str) -> Annotations:
    params: list[tuple[str, str]] = []
    annotations: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        match = _LINE.match(line)
        if not match or match.group(1) not in _ALIASES:
            continue
        flag = _ALIASES[match.group(1)]
        here = f"{where}:{number}"
        values = _values(match.group(1), match.group(2), _ARITY.get(flag, 1), line, here)
        if flag == "param":
            params.append((values[0], values[1]))
        elif flag == "annotation":
            annotations[values[0]] = parse_value(values[1])
        elif flag == "web":
            annotations.update(_web_annotations(values[0], here))
        elif flag == "web-secure":
            annotations["require-whisk-auth"] = parse_value(values[0])
        elif flag in ("kind", "main", "docker"):
            scalars[flag] = values[0]
        else:
            scalars[flag] = _positive_int(values[0], match.group(1), here)
    return Annotations(
        params=tuple(params),
        annotations=annotations,
        kind=scalars.get("kind"),
        main=scalars.get("main"),
        timeout_ms=scalars.get("timeout"),
        memory_mb=scalars.get("memory"),
        concurrency=scalars.get("concurrency"),
        logs_mb=scalars.get("logsize"),
        docker=scalars.get("docker"),
    )


def _values(flag: str, text: str, arity: int, line: str, here: str) -> list[str]:
    """A flag's values, as a shell reads them; a trailing comment (`# ...` after them, as in
    `#-a mcp:type tool  # tool | resource | prompt`) is no value."""
    try:
        values = shlex.split(text, comments=False)
    except ValueError as exc:
        raise ConfigError(f"{here}: cannot read {line.strip()!r}: {exc}") from exc
    if len(values) > arity and values[arity].startswith("#"):
        values = values[:arity]
    if len(values) != arity:
        raise ConfigError(f"{here}: {flag} takes {arity} value(s), got {len(values)}: "
                          f"{line.strip()!r}")
    return values


def _web_annotations(value: str, here: str) -> dict[str, Any]:
    lowered = value.lower()
    if lowered in _TRUE:
        return {"web-export": True, "raw-http": False, "final": True}
    if lowered == "raw":
        return {"web-export": True, "raw-http": True, "final": True}
    if lowered in _FALSE:
        return {"web-export": False}
    raise ConfigError(f"{here}: --web takes true, false, yes, no or raw, not {value!r}")


def _positive_int(value: str, flag: str, here: str) -> int:
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{here}: {flag} takes a positive whole number, not {value!r}")
    return int(value)
