"""Layered configuration: login config < .env < packages/.env or tests/.env < environment.

Below them all, the platform's own values, as a cluster's login provides them: `streamwhisk
up` sets OPSDEV_HOST (its URL) and OPSDEV_USERNAME (its namespace) there, and OLLAMA_HOST when
it starts the dev Ollama; so any layer a user writes wins.

`$VAR`, `${VAR}` and `${VAR:-default}` expand from the merged layers; a variable no layer sets is
an error naming the variable and the file, never a silent empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values, set_key

from .errors import ConfigError, UnsetVariableError

Scope = Literal["packages", "tests"]

_SECRET_NAME = re.compile(r"AUTH|KEY|SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE", re.IGNORECASE)
# $VAR, ${VAR}, ${VAR:-default}, ${VAR:?message} (an error when unset or empty), and $$
_REFERENCE = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_]\w*)(?::-(?P<default>[^}]*)|:\?(?P<required>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_]\w*))"
)
MASK = "********"
# Access key IDs: named like keys, but every presigned S3 URL carries one in the clear (the
# secret that signs it stays masked); masking them would break the URLs a page shows.
PUBLIC_KEY_IDS = frozenset({"S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY"})
PLATFORM = "platform"
OVERRIDES = "this run (--dev-ollama always)"
ENVIRONMENT = "environment"


def login_file() -> Path:
    """Where `streamwhisk login` keeps credentials: a user file, never inside a project."""
    explicit = os.environ.get("STREAMWHISK_LOGIN_FILE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "streamwhisk" / "login.env"


def is_secret_name(key: str) -> bool:
    return bool(_SECRET_NAME.search(key)) and key.upper() not in PUBLIC_KEY_IDS


def references(text: str) -> list[str]:
    """The variables `text` names (`$VAR`, `${VAR}`, `${VAR:-default}`)."""
    return [name for match in _REFERENCE.finditer(text)
            if (name := match.group("braced") or match.group("plain"))]


_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/@\s:]*):([^/@\s]+)@")


def url_credentials(value: object) -> list[str]:
    """The secrets inside URLs in `value` (a text, or texts in a list or dict): each
    `user:password` and its password."""
    if isinstance(value, dict):
        return [found for inner in value.values() for found in url_credentials(inner)]
    if isinstance(value, list):
        return [found for inner in value for found in url_credentials(inner)]
    if not isinstance(value, str):
        return []
    return [found for match in _URL_CREDENTIALS.finditer(value)
            for found in (f"{match.group(1)}:{match.group(2)}", match.group(2))]


@dataclass(frozen=True)
class Layer:
    name: str
    values: Mapping[str, str]
    path: Path | None = None


@dataclass(frozen=True)
class Setting:
    key: str
    value: str
    source: str
    overrides: tuple[str, ...] = ()

    def shown(self, show_secrets: bool = False) -> str:
        return self.value if show_secrets or not is_secret_name(self.key) else MASK


@dataclass
class Config:
    """The merged view of the layers, lowest first."""

    layers: list[Layer] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        project: Path,
        scope: Scope = "packages",
        environ: Mapping[str, str] | None = None,
        login: Path | None = None,
        defaults: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Config:
        layers = [
            Layer(PLATFORM, dict(defaults or {})),
            _file_layer("login config", login or login_file()),
            _file_layer(".env", project / ".env"),
            _file_layer(f"{scope}/.env", project / scope / ".env"),
        ]
        layers.append(Layer(ENVIRONMENT, dict(os.environ if environ is None else environ)))
        if overrides:  # what a command line says for this run wins over every layer
            layers.append(Layer(OVERRIDES, dict(overrides)))
        return cls(layers)

    def get(self, key: str, default: str | None = None) -> str | None:
        for layer in reversed(self.layers):
            if key in layer.values:
                return layer.values[key]
        return default

    def files(self) -> list[Path]:
        return [layer.path for layer in self.layers if layer.path is not None]

    def settings(self, include_environment: bool = False,
                 wanted: Iterable[str] = ()) -> dict[str, Setting]:
        """Each key's winning value and where it came from.

        The process environment only shows keys that a file layer also sets, or that are
        `wanted` (the ones actions use), unless asked for all: it holds PATH and friends,
        which are noise in a project's configuration.
        """
        file_keys = {k for layer in self.layers if layer.name != ENVIRONMENT for k in layer.values}
        file_keys |= set(wanted)
        merged: dict[str, Setting] = {}
        for layer in self.layers:
            for key, value in layer.values.items():
                if layer.name == ENVIRONMENT and not include_environment and key not in file_keys:
                    continue
                earlier = merged.get(key)
                overrides = (*earlier.overrides, earlier.source) if earlier else ()
                merged[key] = Setting(key, value, layer.name, overrides)
        return dict(sorted(merged.items()))

    def unset(self, text: str) -> list[str]:
        """The variables `text` names that no layer sets (and that have no default)."""
        return [name for match in _REFERENCE.finditer(text)
                if (name := match.group("braced") or match.group("plain"))
                and match.group("default") is None and self.get(name) is None]

    def expand(self, text: str, where: Path | str) -> str:
        """`text` with its variables' values, as `ops ide deploy` expands them: an unset
        variable is an empty string (`unset` names them, for a warning), a default stands in
        for an unset or empty one, and `${VAR:?message}` makes an unset or empty one an
        error (UnsetVariableError)."""
        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name = match.group("braced") or match.group("plain")
            value = self.get(name)
            default, required = match.group("default"), match.group("required")
            if default is not None and not value:
                return default
            if required is not None and not value:
                raise UnsetVariableError(name, where, required)
            return value or ""

        return _REFERENCE.sub(replace, text)


def _file_layer(name: str, path: Path) -> Layer:
    if not path.is_file():
        return Layer(name, {}, path)
    try:
        raw = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return Layer(name, {k: v or "" for k, v in raw.items()}, path)


def wskprops_file() -> Path:
    """Where `wsk` (and OpenServerless's tooling) reads APIHOST and AUTH."""
    return Path(os.environ.get("WSK_CONFIG_FILE") or Path.home() / ".wskprops")


def write_login(values: Mapping[str, str], path: Path | None = None) -> Path:
    """Store credentials in the login file, readable by the owner only."""
    return _write_private(values, path or login_file(), quote_mode="auto")


def write_wskprops(values: Mapping[str, str], path: Path | None = None) -> Path:
    """Merge these keys into `~/.wskprops`, as `wsk property set` does: the other lines stay,
    values unquoted (wsk reads KEY=VALUE), the file readable by the owner only."""
    return _write_private(values, path or wskprops_file(), quote_mode="never")


def _write_private(values: Mapping[str, str], target: Path, quote_mode: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(target, 0o600)
    for key, value in values.items():
        set_key(target, key, value, quote_mode=quote_mode)
    return target
