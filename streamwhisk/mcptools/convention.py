"""OpenServerless's MCP convention, read from an action's annotations: what the action is to
an MCP client (a tool, a resource, a prompt), its description, and its parameters.

    #-a mcp:type tool                       tool | resource | prompt
    #-a mcp:desc "Search stories from Hacker News."
    #-a mcp:resource "greet://{input}"      a resource's URI template
    #-a query:str "search terms to find in stories"
    #-a num_results:int "number of results to return (default=10)"

Every other `NAME:TYPE` annotation is a parameter: TYPE one of str, int, float, bool, list,
dict; `(default=X)` in its description makes it optional with that default.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigError

Kind = Literal["tool", "resource", "prompt"]
KINDS: tuple[Kind, ...] = ("tool", "resource", "prompt")
JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
              "list": "array", "dict": "object"}
_PARAMETER = re.compile(r"^([A-Za-z_]\w*):(str|int|float|bool|list|dict)$")
_DEFAULT = re.compile(r"\(default\s*=\s*(.*?)\)\s*$")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # str, int, float, bool, list, dict
    description: str
    required: bool
    default: Any = None

    def schema(self) -> dict[str, Any]:
        described: dict[str, Any] = {"type": JSON_TYPES[self.type],
                                     "description": self.description}
        if not self.required:
            described["default"] = self.default
        return described


@dataclass(frozen=True)
class McpEntry:
    """One action as an MCP tool, resource or prompt."""

    kind: Kind
    action: str  # package/action
    name: str  # the action's name: what the client calls
    description: str
    parameters: tuple[Parameter, ...]
    uri_template: str = ""  # a resource's

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of a tool's arguments."""
        return {"type": "object",
                "properties": {p.name: p.schema() for p in self.parameters},
                "required": [p.name for p in self.parameters if p.required]}

    def arguments(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """What the action is invoked with: the arguments given, each default for one not
        given; ConfigError naming a required one that is missing."""
        given = dict(given or {})
        for parameter in self.parameters:
            if parameter.name not in given:
                if parameter.required:
                    raise ConfigError(f"{self.name}: the argument {parameter.name!r} is "
                                      f"required ({parameter.description})")
                given[parameter.name] = parameter.default
        return given


def entry_of(action: str, annotations: dict[str, Any]) -> McpEntry | None:
    """The action as MCP sees it, or None when it carries no `mcp:type`."""
    kind = annotations.get("mcp:type")
    if kind is None:
        return None
    if kind not in KINDS:
        raise ConfigError(f"{action}: mcp:type is {kind!r}; it is one of tool, resource, "
                          "prompt")
    parameters = tuple(_parameter(key, value) for key, value in annotations.items()
                       if _PARAMETER.match(str(key)))
    name = action.rsplit("/", 1)[-1]
    template = str(annotations.get("mcp:resource") or "")
    if kind == "resource" and not template:
        first = parameters[0].name if parameters else "input"
        template = f"{name}://{{{first}}}"
    return McpEntry(kind, action, name, str(annotations.get("mcp:desc") or ""), parameters,
                    template)


def _parameter(key: str, description: Any) -> Parameter:
    match = _PARAMETER.match(key)
    assert match is not None
    name, kind = match.groups()
    text = str(description)
    found = _DEFAULT.search(text)
    if found is None:
        return Parameter(name, kind, text, required=True)
    return Parameter(name, kind, text, required=False, default=_value(found.group(1), kind))


def _value(text: str, kind: str) -> Any:
    """A default as its type reads it: `10` for int, `False` for bool, `'Hello'` for str.

    >>> _value("10", "int"), _value("False", "bool"), _value("'Hello'", "str")
    (10, False, 'Hello')
    """
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    converters: dict[str, Any] = {"int": int, "float": float, "str": str}
    if kind == "bool" and isinstance(value, str):
        return value.lower() in ("true", "yes", "1")
    if kind in converters:
        try:
            return converters[kind](value)
        except (TypeError, ValueError):
            return value
    return value
