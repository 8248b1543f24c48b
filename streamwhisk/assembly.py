"""One run of a project, assembled once: what `up`, `invoke`, `test`, `shell` and `runtimes`
set up before they serve or run anything, and what `chat` & co. read of a running `up`.

A `Run` is built from the project folder and the run's choices (`RunChoices`). It owns the one
`Project` (its platform layer: OPSDEV_* when a server serves it, the services' values, the dev
Ollama's address), the services plan, the dev-Ollama decision and the REST API's key, and
says what it set up in a `RunReport`. It starts nothing it was not asked to and never prints:
the commands print the report.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .basicauth import is_blank
from .config import Scope, Setting, url_credentials
from .hosting.subdomains import OBJECT_STORE
from .paths import run_key_file
from .project import Project
from .redact import MASK
from .services.manager import Services

if TYPE_CHECKING:
    from .hosting.serving import Served

NAMESPACE = "guest"
LOOPBACK_BINDS = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::", "")


@dataclass(frozen=True)
class RunChoices:
    """What the command line chose for this run (the defaults start nothing)."""

    project: Path
    scope: Scope = "packages"
    services: str = "none"  # auto | always | all | none | NAME,...
    dev_ollama: str = "never"  # auto | always | never
    api_key: str = ""
    namespace: str = NAMESPACE


@dataclass(frozen=True)
class RunReport:
    """What a run serves and started, in data: `up` prints it and notes it (`runs.note`) for
    `chat`, `loader`, `action` and `url`. Never the key itself: where it comes from."""

    project: str
    pid: int
    url: str | None = None  # the server's address
    public: str | None = None  # its origin as the platform names it (OPSDEV_HOST)
    services: dict[str, int] = field(default_factory=dict)  # each service's port
    dev_ollama: str | None = None  # the dev Ollama's URL, when this run serves one
    ollama_host: str | None = None  # OLLAMA_HOST as a layer sets it, and from where
    object_store: str | None = None  # where browsers reach S3 (s3.<host>), when it runs
    key_source: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunReport:
        return cls(**json.loads(text))


class Run:
    """One run's project, services, dev Ollama and key. `url` is the server's address when a
    server serves this run (`up`), None when none does here (`invoke`, `test`, `shell`)."""

    def __init__(self, choices: RunChoices, url: str | None = None,
                 bound_to: str = "127.0.0.1") -> None:
        self.choices = choices
        self.url = url
        self.public = public_url(bound_to, url) if url else None
        self.project = Project(choices.project, choices.scope, defaults=self.platform)
        self.services = Services.plan(self.project, choices.services, choices.namespace)
        self.ollama_host: Setting | None = self.project.config.settings(
            include_environment=True).get("OLLAMA_HOST")
        self.dev_ollama_url: str | None = None
        self._key: tuple[str, str] | None = None
        self._layer()

    @property
    def platform(self) -> dict[str, str]:
        return platform_values(self.choices.namespace, self.public)

    @property
    def wants_dev_ollama(self) -> bool:
        """`always`, or `auto` when no layer (nor the environment) sets OLLAMA_HOST."""
        mode = self.choices.dev_ollama
        return mode == "always" or (mode == "auto" and self.ollama_host is None)

    def serve_dev_ollama(self) -> Served:
        """The dev Ollama, to serve beside this process's server on a free loopback port
        (plain and TLS with the local CA); the actions' OLLAMA_HOST points at it."""
        from .devca import dev_ca
        from .hosting.serving import Served, listen, own_host_names, url_of
        from .ollama import DevOllamaSettings, Script, create_dev_ollama_app

        sock = listen("127.0.0.1", 0)
        url = url_of(sock)
        hosts = own_host_names("127.0.0.1", int(url.rsplit(":", 1)[1]))
        served = Served(create_dev_ollama_app(DevOllamaSettings(Script.load(), hosts=hosts)),
                        sock, tls=dev_ca().server_context())
        self.dev_ollama_started(url)
        return served

    def dev_ollama_started(self, url: str) -> None:
        """A dev Ollama serves this run at `url` (here, or as a process of its own)."""
        self.dev_ollama_url = url
        self._layer()

    def winning_values(self) -> dict[str, str]:
        """What this run gives that must win over the layers in a process of its own (the
        tests, the shell): the services' values and the dev Ollama's address."""
        values = self.services.values()
        if self.dev_ollama_url:
            values["OLLAMA_HOST"] = self.dev_ollama_url.removeprefix("http://")
        return values

    def _layer(self) -> None:
        """The project's platform layer and overrides for what the run has now. The services'
        values are platform values unless they win (`--services always`, or named); the dev
        Ollama's address is one where no layer sets OLLAMA_HOST, else (`always`) it wins."""
        services = self.services.values()
        if "S3_HOST" in services and self.public:  # browsers reach it at s3.<host>
            services["S3_API_URL"] = subdomain_url(self.public, OBJECT_STORE)
        dev = ({"OLLAMA_HOST": self.dev_ollama_url.removeprefix("http://")}
               if self.dev_ollama_url else {})
        over_layers = self.ollama_host is not None
        self.project.set_run_layers(
            defaults={**self.platform, **({} if self.services.override else services),
                      **({} if over_layers else dev)},
            overrides={**(services if self.services.override else {}),
                       **(dev if over_layers else {})})

    def api_key(self) -> tuple[str, str]:
        """The REST API's key (and `#--web-secure true` actions') and where it comes from:
        the one chosen, else AUTH from the layers (the login's), else one made for this run
        and kept in a file only its user can read. An empty one (`AUTH=`) is no key."""
        if self._key is None:
            self._key = self._find_key()
        return self._key

    def _find_key(self) -> tuple[str, str]:
        if not is_blank(self.choices.api_key):
            return self.choices.api_key, "the --api-key given"
        login = self.project.config.settings(wanted=["AUTH"]).get("AUTH")
        if login is not None and not is_blank(login.value):
            return login.value, (f"AUTH, from {login.source}; `streamwhisk config dump "
                                 "--show-secrets` prints it")
        key = f"{uuid.uuid4()}:{secrets.token_urlsafe(32)}"
        empty = f" (AUTH in {login.source} is empty: no key)" if login is not None else ""
        where = _keep_run_key(key, self.url) if self.url else "memory only (no server)"
        return key, f"a key made for this run, in {where}{empty}"

    def report(self) -> RunReport:
        services = {name: address.port for name, address in self.services.addresses.items()}
        store = (subdomain_url(self.public, OBJECT_STORE)
                 if "s3" in services and self.public else None)
        configured = (f"{_without_credentials(self.ollama_host.value)} (from "
                      f"{self.ollama_host.source})" if self.ollama_host else None)
        return RunReport(
            project=str(self.project.root), pid=os.getpid(), url=self.url, public=self.public,
            services=services, dev_ollama=self.dev_ollama_url, ollama_host=configured,
            object_store=store, key_source=self._key[1] if self._key else "")


def platform_values(namespace: str, public: str | None) -> dict[str, str]:
    """What the platform tells actions and tests of itself, under its names and Nuvolaris's
    older ones (tests of that era read NUVDEV_HOST and NUVDEV_USERNAME).

    >>> platform_values("guest", None)
    {'OPSDEV_USERNAME': 'guest', 'NUVDEV_USERNAME': 'guest'}
    """
    values = {"OPSDEV_USERNAME": namespace}
    if public is not None:
        values |= {"OPSDEV_HOST": public, "OPSDEV_APIHOST": public}
    return values | {key.replace("OPSDEV_", "NUVDEV_"): value for key, value in values.items()}


def public_url(host: str, url: str) -> str:
    """The server's origin as the platform names it (OPSDEV_HOST, OPSDEV_APIHOST): on this
    machine, `http://localhost:PORT`, whose `stream.` and `s3.` names every browser resolves
    to loopback; bound to another address, that address.

    >>> public_url("0.0.0.0", "http://0.0.0.0:9000")
    'http://localhost:9000'
    >>> public_url("192.168.1.5", "http://192.168.1.5:80")
    'http://192.168.1.5:80'
    """
    if host in LOOPBACK_BINDS:
        return f"http://localhost:{url.rsplit(':', 1)[1]}"
    return url


def subdomain_url(public: str, prefix: str) -> str:
    """The origin of the server's `prefix.` name.

    >>> subdomain_url("http://localhost:8080", "s3")
    'http://s3.localhost:8080'
    """
    scheme, _, netloc = public.partition("://")
    return f"{scheme}://{prefix}.{netloc}"


def _without_credentials(url: str) -> str:
    """`url` with the credentials it holds masked.

    >>> _without_credentials("https://me:s3cret@ollama.example")
    'https://********@ollama.example'
    """
    for credentials in url_credentials(url)[::2]:  # each user:password, whole
        url = url.replace(credentials, MASK)
    return url


def _keep_run_key(key: str, url: str) -> Path:
    """Where this run's REST API key is, for its user only (never printed: logs keep it),
    with the address it belongs to: `chat` and `loader` send it only there."""
    path = run_key_file(url)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_text(f"{key}\n{url}\n")
    return path
