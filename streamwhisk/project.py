"""A user's project: finds `packages/<pkg>/<action>.py` and `packages/<pkg>/<action>/__main__.py`
and turns each into an `ActionSpec` (code, annotations, expanded `#--param` values, limits).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .annotations import (
    OPENWHISK_LIMITS,
    Annotations,
    limit_fields,
    parse_annotations,
    parse_value,
)
from .config import Config, Scope, is_secret_name, login_file, references, url_credentials
from .errors import (
    ActionNotFound,
    ConfigError,
    ProjectError,
    StreamwhiskError,
)
from .names import split_action_name, validate_name
from .stamps import Stamp, python_files, stamp

DEFAULT_TIMEOUT_MS = 60_000
DEFAULT_MEMORY_MB = 256
DEFAULT_CONCURRENCY = 1
DEFAULT_LOGS_MB = 10
DEFAULT_KIND = "python:default"
MAX_TIMEOUT_MS = 3_600_000


@dataclass(frozen=True)
class Limits:
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    memory_mb: int = DEFAULT_MEMORY_MB
    concurrency: int = DEFAULT_CONCURRENCY
    logs_mb: int = DEFAULT_LOGS_MB

    @classmethod
    def of(cls, timeout_ms: int | None = None, memory_mb: int | None = None,
           concurrency: int | None = None, logs_mb: int | None = None) -> Limits:
        """The limits given, the defaults for the others; a timeout at most OpenWhisk's
        maximum (an hour), for a project's action and a deployed one alike."""
        return cls(timeout_ms=min(timeout_ms or DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS),
                   memory_mb=memory_mb or DEFAULT_MEMORY_MB,
                   concurrency=concurrency or DEFAULT_CONCURRENCY,
                   logs_mb=logs_mb or DEFAULT_LOGS_MB)

    @classmethod
    def from_openwhisk(cls, limits: Mapping[str, int]) -> Limits:
        return cls.of(**limit_fields(limits))

    def as_openwhisk(self) -> dict[str, int]:
        return {theirs: getattr(self, ours) for theirs, ours in OPENWHISK_LIMITS.items()}


@dataclass(frozen=True)
class ActionSpec:
    """Everything needed to run one action, as it is on disk right now."""

    package: str
    name: str
    main_file: Path
    multi_file: bool
    annotations: Annotations
    params: dict[str, Any]
    limits: Limits
    entry: str
    watched: tuple[str, ...]  # the files and folders whose stamps make the fingerprint
    fingerprint: Stamp
    unset: tuple[str, ...] = ()  # variables its params name that no layer sets: ""

    @property
    def qualified(self) -> str:
        return f"{self.package}/{self.name}"

    @property
    def code_dir(self) -> Path:
        return self.main_file.parent

    @property
    def requirements(self) -> Path | None:
        """A folder action's requirements.txt: installed over its runtime, as a deploy
        packages it (OpenServerless reads one only beside a __main__.py)."""
        path = self.code_dir / "requirements.txt"
        if not self.multi_file or (self.code_dir / "virtualenv").is_dir():
            return None  # a virtualenv/ of its own is activated instead, as OpenWhisk does
        return path if path.is_file() else None

    @property
    def provides_api_key(self) -> bool:
        return self.annotations.annotations.get("provide-api-key") is True

    @property
    def secrets(self) -> list[Any]:
        """The `#--param` values that are secret, never shown by us: those of a secret-looking
        key (AUTH, *KEY*, *SECRET*, *TOKEN*, *PASSWORD*...) or expanded from a secret-looking
        variable, and the credentials inside any URL. Hosts, ports, bucket and database
        names stay readable: an error about them must say which one."""
        found: list[Any] = []
        for key, raw in self.annotations.params:
            value = self.params.get(key)
            if is_secret_name(key) or any(is_secret_name(name) for name in references(raw)):
                found.append(value)
            else:
                found.extend(url_credentials(value))
        return found


@dataclass(frozen=True)
class ActionSurvey:
    """What `streamwhisk up` says of an action at start."""

    name: str
    kind: str = ""
    web: bool = False
    unset: tuple[str, ...] = ()  # variables its annotations name that no layer sets
    error: str = ""
    spec: ActionSpec | None = None  # when it loads


class Project:
    """The actions of a project directory, reloaded when their files or `.env` layers change."""

    def __init__(self, root: Path, scope: Scope = "packages", login: Path | None = None,
                 defaults: Mapping[str, str] | None = None,
                 overrides: Mapping[str, str] | None = None) -> None:
        self.root = root.resolve()
        self.scope: Scope = scope
        self._login = login
        self._defaults = dict(defaults or {})
        self._overrides = dict(overrides or {})
        self._config: Config | None = None
        self._config_files = (str(login or login_file()), str(self.root / ".env"),
                              str(self.root / scope / ".env"))
        self._config_stamp: Stamp = ()
        self._specs: dict[tuple[str, str], ActionSpec] = {}

    def set_run_layers(self, defaults: Mapping[str, str], overrides: Mapping[str, str]) -> None:
        """The platform layer and the run's overrides, as a run completes them (its services
        and dev Ollama get their addresses); everything is read again with them."""
        self._defaults, self._overrides = dict(defaults), dict(overrides)
        self._config = None
        self._specs.clear()

    @property
    def packages(self) -> Path:
        return self.root / "packages"

    @property
    def config(self) -> Config:
        """The layered configuration, read again when one of its files changed."""
        self._refresh_config()
        assert self._config is not None
        return self._config

    def _refresh_config(self) -> Stamp:
        current = stamp(self._config_files)
        if self._config is None or current != self._config_stamp:
            self._config = Config.load(self.root, self.scope, login=self._login,
                                       defaults=self._defaults, overrides=self._overrides)
            self._config_stamp = current
        return current

    def action_names(self) -> list[str]:
        found: list[str] = []
        if not self.packages.is_dir():
            return found
        for package in sorted(self.packages.iterdir()):
            if not package.is_dir() or package.name.startswith((".", "_")):
                continue
            for entry in sorted(package.iterdir()):
                if entry.name.startswith((".", "_")):
                    continue
                if entry.suffix == ".py" and entry.is_file():
                    found.append(f"{package.name}/{entry.stem}")
                elif (entry / "__main__.py").is_file():
                    found.append(f"{package.name}/{entry.name}")
        return found

    def folders_without_main(self) -> list[str]:
        """The folders under a package that are no action: they lack a __main__.py (so
        OpenServerless deploys nothing of them either)."""
        if not self.packages.is_dir():
            return []
        return [f"{package.name}/{entry.name}"
                for package in sorted(self.packages.iterdir())
                if package.is_dir() and not package.name.startswith((".", "_"))
                for entry in sorted(package.iterdir())
                if entry.is_dir() and not entry.name.startswith((".", "_"))
                and not (entry / "__main__.py").is_file()]

    def variables(self) -> dict[str, list[str]]:
        """Each variable the actions' annotations name, with the actions that name it."""
        used: dict[str, list[str]] = {}
        for name in self.action_names():
            package, action = split_action_name(name)
            single = self.packages / package / f"{action}.py"
            main = single if single.is_file() else self.packages / package / action / "__main__.py"
            try:
                notes = parse_annotations(main.read_text(encoding="utf-8"), main)
            except (OSError, UnicodeDecodeError, StreamwhiskError):
                continue
            for _, raw in notes.params:
                for variable in references(raw):
                    used.setdefault(variable, []).append(name)
        return used

    def survey(self) -> list[ActionSurvey]:
        """Every action, loaded now, with what is wrong with it: the variables it names that
        no layer sets (all of them, not only the first), a bad annotation. Syntax is the
        runtime's to check: only the kind's interpreter knows what its Python accepts."""
        found = []
        for name in self.action_names():
            try:
                spec = self.load(*split_action_name(name))
            except StreamwhiskError as exc:  # a ${VAR:?} unset among them
                found.append(ActionSurvey(name, error=str(exc)))
                continue
            found.append(ActionSurvey(name, spec.annotations.kind or DEFAULT_KIND,
                                      spec.annotations.web, spec.unset, spec=spec))
        return found

    def load(self, package: str, name: str) -> ActionSpec:
        validate_name(package)
        validate_name(name)
        cached = self._specs.get((package, name))
        if cached is not None:
            config_stamp = self._refresh_config()
            if stamp(cached.watched) + config_stamp == cached.fingerprint:
                return cached  # the common case: a few stat calls, no parsing
        single = self.packages / package / f"{name}.py"
        multi = self.packages / package / name / "__main__.py"
        # os.path.isfile: a name too long for a file is no file (Path.is_file would raise)
        if os.path.isfile(single) and os.path.isfile(multi):
            raise ProjectError(f"both {single} and {multi.parent}/ exist: keep one of them")
        if not os.path.isfile(single) and not os.path.isfile(multi):
            wanted = f"{package}/{name}"
            close = difflib.get_close_matches(wanted, self.action_names(), n=3, cutoff=0.6)
            raise ActionNotFound(wanted, self.root, close)
        main_file = multi if os.path.isfile(multi) else single
        code = [main_file] if main_file is single else python_files(main_file.parent)
        # the package folder's own stamp changes when an action appears or goes beside it
        watched = (str(self.packages / package), *map(str, code))
        if main_file is multi:
            watched += (str(multi.parent),)
        config = self.config
        fingerprint = stamp(watched) + self._config_stamp
        spec = self._build(package, name, main_file, config, watched, fingerprint)
        self._specs[(package, name)] = spec
        return spec

    def _build(
        self,
        package: str,
        name: str,
        main_file: Path,
        config: Config,
        watched: tuple[str, ...],
        fingerprint: Stamp,
    ) -> ActionSpec:
        try:
            source = main_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectError(f"cannot read {main_file}: {exc}") from exc
        where = main_file.relative_to(self.root)
        notes = parse_annotations(source, where)
        if notes.kind and not notes.kind.startswith("python"):
            raise ConfigError(
                f"{where}: kind {notes.kind!r} cannot run here; streamwhisk runs python actions"
            )
        params = {key: parse_value(config.expand(raw, where)) for key, raw in notes.params}
        unset = tuple(sorted({name for _, raw in notes.params for name in config.unset(raw)}))
        limits = Limits.of(**notes.limit_fields())
        return ActionSpec(
            package=package,
            name=name,
            main_file=main_file,
            multi_file=main_file.name == "__main__.py",
            annotations=notes,
            params=params,
            limits=limits,
            entry=notes.main or "main",
            watched=watched,
            fingerprint=fingerprint,
            unset=unset,
        )
