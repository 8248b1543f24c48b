"""What was deployed into `streamwhisk up` through its REST API, kept on disk, run as actions.

    <data>/deployed/<namespace>/<package>/package.json          its parameters and annotations
    <data>/deployed/<namespace>/<package>/<action>/action.json  exec (no code), annotations,
                                                                parameters, limits
    <data>/deployed/<namespace>/<package>/<action>/code/        action.py, or the zip unpacked

It lives under the server's data folder (see `paths.py`), outside every project, so it is
still there after a restart. A deployed action is served in place of a project action of the
same name; deleting it shows the project's again. Writes go to a new folder that replaces the
old one with a rename, so a request never sees half an action.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..annotations import OPENWHISK_LIMITS, Annotations, limit_fields
from ..errors import (
    ActionNotFound,
    DeployConflict,
    DeployRefused,
    NotDeployed,
    RuntimeUnavailable,
)
from ..names import DEFAULT_PACKAGE
from ..paths import data_root, write_whole
from ..project import DEFAULT_KIND, ActionSpec, Limits
from ..runtime.kinds import wanted_version
from ..stamps import stamp
from . import NOT_FOUND
from .unzip import is_zip, unpack

# a folder name is at most 255 bytes; OpenWhisk's names, 256 characters: longer ones are kept
# under a shortened name with their digest, and their own name inside
FOLDER_NAME_BYTES = 200

NOT_EMPTY = "Package not empty (contains {count} entities). Delete its actions first."


class DeployedStore:
    def __init__(self, namespace: str, root: Path | None = None) -> None:
        self.folder = (root or data_root() / "deployed") / namespace
        self._root = str(self.folder)
        self._specs: dict[str, ActionSpec] = {}

    # packages

    def packages(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(_named(p, "package.json") for p in self.folder.iterdir()
                      if (p / "package.json").is_file())

    def package(self, name: str) -> dict[str, Any] | None:
        return _read_json(self.folder / folder_name(name) / "package.json")

    def put_package(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("binding"):
            raise DeployRefused("Package bindings are not supported by streamwhisk up.")
        kept = {"name": name, "parameters": _key_values(body.get("parameters")),
                "annotations": _key_values(body.get("annotations"))}
        (self.folder / folder_name(name)).mkdir(parents=True, exist_ok=True)
        _write_json(self.folder / folder_name(name) / "package.json", kept)
        return kept

    def delete_package(self, name: str) -> bool:
        folder = self.folder / folder_name(name)
        if not (folder / "package.json").is_file():
            return False
        inside = self.actions(name)
        if inside:
            raise DeployConflict(NOT_EMPTY.format(count=len(inside)))
        shutil.rmtree(folder)
        return True

    # actions

    def actions(self, package: str | None = None) -> list[str]:
        found = []
        for name in [package] if package else [*self.packages(), DEFAULT_PACKAGE]:
            folder = self.folder / folder_name(name)
            if folder.is_dir():
                found += sorted(f"{name}/{_named(a, 'action.json')}" for a in folder.iterdir()
                                if not a.name.startswith(".") and (a / "action.json").is_file())
        return found

    def has(self, package: str, name: str) -> bool:
        """One stat: asked on every invocation."""
        return os.path.isfile(f"{self._root}/{folder_name(package)}/{folder_name(name)}/"
                              "action.json")

    def action(self, qualified: str) -> dict[str, Any] | None:
        return _read_json(self._action_folder(qualified) / "action.json")

    def _action_folder(self, qualified: str) -> Path:
        package, name = qualified.split("/")
        return self.folder / folder_name(package) / folder_name(name)

    def put_action(self, qualified: str, body: dict[str, Any]) -> dict[str, Any]:
        package, name = qualified.split("/")
        if package != DEFAULT_PACKAGE and self.package(package) is None:
            raise NotDeployed(NOT_FOUND)
        exec_ = body.get("exec")
        existing = self.action(qualified)
        if exec_ is None and existing is not None:  # an update of its other fields
            return self._update_fields(qualified, existing, body)
        if not isinstance(exec_, dict) or not isinstance(exec_.get("code"), str):
            raise DeployRefused("exec.code is required: streamwhisk up runs code actions.")
        kind = str(exec_.get("kind") or DEFAULT_KIND)
        if exec_.get("image") or kind == "blackbox":
            raise DeployRefused("Docker (blackbox) actions cannot run in streamwhisk up.")
        try:
            wanted_version(kind)
        except RuntimeUnavailable as exc:
            raise DeployRefused(str(exc)) from exc
        binary = is_zip(exec_["code"]) if exec_.get("binary") is None else bool(exec_["binary"])
        # the code's digest makes an edit of the code alone change action.json, and so the
        # action's fingerprint: its warm workers are retired
        kept = {"name": name,
                "exec": {"kind": kind, "binary": binary,
                         "digest": hashlib.sha256(exec_["code"].encode()).hexdigest(),
                         **({"main": str(exec_["main"])} if exec_.get("main") else {})},
                "annotations": _key_values(body.get("annotations")),
                "parameters": _key_values(body.get("parameters")),
                "limits": _limits(body.get("limits"))}
        parent = self.folder / folder_name(package)
        parent.mkdir(parents=True, exist_ok=True)  # the default package has no package.json
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=parent))
        retired = parent / f".retired-{staging.name}"
        try:
            code = staging / "code"
            code.mkdir()
            if binary:
                unpack(exec_["code"], code)
            else:
                (code / "action.py").write_text(exec_["code"], encoding="utf-8")
            _write_json(staging / "action.json", kept)
            target = self._action_folder(qualified)
            if target.exists():
                os.replace(target, retired)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(retired, ignore_errors=True)
        return kept

    def _update_fields(self, qualified: str, existing: dict[str, Any],
                       body: dict[str, Any]) -> dict[str, Any]:
        """As OpenWhisk's PUT with no `exec`: the code stays, the fields given change."""
        kept = dict(existing)
        for field in ("annotations", "parameters"):
            if body.get(field) is not None:
                kept[field] = _key_values(body.get(field))
        if body.get("limits") is not None:
            kept["limits"] = _limits(body.get("limits"))
        _write_json(self._action_folder(qualified) / "action.json", kept)
        return kept

    def delete_action(self, qualified: str) -> bool:
        folder = self._action_folder(qualified)
        if not (folder / "action.json").is_file():
            return False
        shutil.rmtree(folder)
        return True

    def load(self, package: str, name: str) -> ActionSpec:
        """The deployed action as the runtime runs it; ActionNotFound when none is."""
        folder = self._action_folder(f"{package}/{name}")
        watched = (str(folder / "action.json"),
                   str(self.folder / folder_name(package) / "package.json"))
        cached = self._specs.get(f"{package}/{name}")
        if cached is not None and stamp(watched) == cached.fingerprint:
            return cached
        kept, parent = _read_json(Path(watched[0])), _read_json(Path(watched[1]))
        if parent is None and package == DEFAULT_PACKAGE:
            parent = {"parameters": {}}
        if kept is None or parent is None:
            raise ActionNotFound(f"{package}/{name}", self.folder)
        zip_main = folder / "code" / "__main__.py"
        multi = bool(kept["exec"]["binary"])
        limits = kept["limits"]
        spec = ActionSpec(
            package=package, name=name,
            main_file=zip_main if multi else folder / "code" / "action.py",
            multi_file=multi,
            annotations=Annotations(
                annotations=dict(kept["annotations"]), kind=kept["exec"]["kind"],
                main=kept["exec"].get("main"), **limit_fields(limits)),
            params={**parent["parameters"], **kept["parameters"]},
            limits=Limits.from_openwhisk(limits),
            entry=kept["exec"].get("main") or "main",
            watched=watched,
            fingerprint=stamp(watched),
        )
        self._specs[spec.qualified] = spec
        return spec


def _key_values(items: Any) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list) or not all(isinstance(i, dict) and "key" in i for i in items):
        raise DeployRefused("parameters and annotations are lists of {key, value}.")
    return {str(item["key"]): item.get("value") for item in items}


def _limits(limits: Any) -> dict[str, int]:
    if limits is None:
        return {}
    if not isinstance(limits, dict):
        raise DeployRefused("limits must be an object.")
    kept = {}
    for key in OPENWHISK_LIMITS:
        value = limits.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise DeployRefused(f"limits.{key} must be a positive integer.")
        kept[key] = value
    return kept


def folder_name(name: str) -> str:
    """The folder that holds a package or action: its name, or for a long one a shortened
    name and its digest (the whole name is kept in its JSON file)."""
    if len(name.encode()) <= FOLDER_NAME_BYTES:
        return name
    return f"{name[:120]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _named(folder: Path, record: str) -> str:
    kept = _read_json(folder / record) or {}
    return str(kept.get("name") or folder.name)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _write_json(path: Path, value: dict[str, Any]) -> None:
    write_whole(path, json.dumps(value, indent=2) + "\n")
