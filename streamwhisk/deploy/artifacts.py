"""What a project deploys: its packages and actions as OpenWhisk's REST API takes them.

Each `#--` line maps as `wsk action update` reads the same flag: `--web` to the web-export,
final and raw-http annotations, `--web-secure` to require-whisk-auth, `--param` to parameters
(expanded from the deployment layers), `--annotation` to annotations, `--timeout`, `--memory`,
`--logsize`, `--concurrency` to limits, `--kind`, `--main` and `--docker` to `exec`. A
single-file action goes as its code; a folder as a zip (see `archive.py`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..names import check_entity_name, split_action_name
from ..project import DEFAULT_KIND, ActionSpec, Project

# OpenWhisk refuses an action whose code is larger than this (its default `actionSize`)
MAX_ACTION_BYTES = 48 * 1024 * 1024


@dataclass(frozen=True)
class PackageArtifact:
    name: str

    @property
    def qualified(self) -> str:
        return self.name

    def body(self) -> dict[str, Any]:
        return {"name": self.name, "publish": False, "annotations": [], "parameters": []}


@dataclass(frozen=True)
class ActionArtifact:
    spec: ActionSpec
    code: str = ""  # the source, or the zip in base64
    binary: bool = False

    @property
    def qualified(self) -> str:
        return self.spec.qualified

    @property
    def size(self) -> int:
        return len(self.code)

    def body(self) -> dict[str, Any]:
        """The ActionPut body of OpenWhisk's API."""
        notes = self.spec.annotations
        exec_: dict[str, Any] = {"kind": notes.kind or DEFAULT_KIND, "code": self.code,
                                 "binary": self.binary}
        if notes.docker:
            exec_["kind"] = "blackbox"
            exec_["image"] = notes.docker
        if notes.main:
            exec_["main"] = notes.main
        limits = notes.limits_set()
        return {
            "name": self.spec.name,
            "publish": False,
            "exec": exec_,
            "annotations": [{"key": k, "value": v} for k, v in notes.annotations.items()],
            "parameters": [{"key": k, "value": v} for k, v in self.spec.params.items()],
            "limits": limits,
        }


@dataclass
class Selection:
    """What to deploy: everything, or the packages and actions named."""

    packages: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, names: Iterable[str]) -> Selection:
        selection = cls()
        for name in names:
            if "/" in name.strip("/"):
                selection.actions.add("/".join(split_action_name(name)))
            else:
                selection.packages.add(check_entity_name(name.strip("/"), "package"))
        return selection

    def __contains__(self, action: str) -> bool:
        if not self.packages and not self.actions:
            return True
        return action in self.actions or action.split("/")[0] in self.packages


@dataclass
class Failure:
    artifact: str
    reason: str


def select_actions(project: Project, selection: Selection) -> tuple[list[str], list[Failure]]:
    """The project's actions in the selection, and the names asked for that do not exist."""
    names = [n for n in project.action_names() if n in selection]
    present = set(names)
    missing = [Failure(a, f"no such action in {project.packages}")
               for a in sorted(selection.actions - present)]
    missing += [Failure(p, f"no such package in {project.packages}")
                for p in sorted(selection.packages - {n.split("/")[0] for n in names})]
    return names, missing


def action_artifact(spec: ActionSpec, archive: Callable[[ActionSpec], bytes]) -> ActionArtifact:
    """The action as it will be sent; ConfigError when OpenWhisk would refuse it."""
    check_entity_name(spec.package, "package")
    check_entity_name(spec.name, "action")
    if spec.multi_file:
        code, binary = base64.b64encode(archive(spec)).decode(), True
    else:
        code, binary = _read(spec.main_file), False
    if len(code) > MAX_ACTION_BYTES:
        raise ConfigError(
            f"{spec.qualified} is {len(code) / 1024 / 1024:.1f} MB as sent, over OpenWhisk's "
            f"{MAX_ACTION_BYTES // 1024 // 1024} MB limit for an action: trim its folder or "
            "its requirements.txt")
    return ActionArtifact(spec, code, binary)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
