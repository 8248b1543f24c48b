"""Deploy and undeploy: the project's packages, then its actions, one line per artifact and a
summary at the end; a deploy of the whole project uploads its web/ site too (website.py).
An action that cannot go (a syntax error, a `${VAR:?}` variable unset, a name OpenWhisk
refuses, a requirements.txt that does not install, the cluster's refusal) is reported and the
others still go; the exit status says whether all did. A plain `$VAR` that no layer sets is
deployed as an empty string, as `ops ide deploy` does, with a warning naming it.

Where to: `APIHOST` and `AUTH` from the deployment layers (login config < `.env` <
`packages/.env` < environment), `--apihost` over them. The parameters of actions are expanded
from the same layers, over the platform's own values (`OPSDEV_HOST` = the API host,
`OPSDEV_USERNAME` = the namespace the cluster names for these credentials).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import ClusterError, StreamwhiskError
from ..names import split_action_name
from ..openwhisk.client import Client, Collection, api_base
from ..project import DEFAULT_KIND, ActionSpec, Project
from ..runtime.kinds import interpreters, wanted_version
from ..runtime.syntax import action_syntax_problems
from ..site import SITE_FOLDER, site_folder
from .archive import zip_action
from .artifacts import (
    ActionArtifact,
    Failure,
    PackageArtifact,
    Selection,
    action_artifact,
    select_actions,
)
from .records import DeployRecord
from .website import SiteUploader, StaticBucket, site_files

Echo = Callable[[str], None]
MASK = "********"


@dataclass(frozen=True)
class Target:
    apihost: str
    auth: str

    @classmethod
    def of(cls, project: Path, apihost: str | None) -> Target:
        overrides = {"APIHOST": apihost} if apihost else None
        config = Config.load(project, "packages", overrides=overrides)
        host, auth = config.get("APIHOST"), config.get("AUTH")
        if not host:
            raise ClusterError("no API host: pass --apihost URL, or run `streamwhisk login`")
        if not auth:
            raise ClusterError("no AUTH to deploy with: run `streamwhisk login`, or set AUTH in "
                               ".env, packages/.env or the environment")
        return cls(api_base(host), auth)


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Deployer:
    def __init__(self, project: Path, target: Target, echo: Echo, dry_run: bool = False,
                 plan: Echo | None = None) -> None:
        """`echo` says what happens, and progress; a dry run's plan (what would happen, the
        summary) goes to `plan` instead, when given: the plan is the command's output."""
        self.root = project.resolve()
        self.target = target
        self.progress = echo
        self.echo = plan if dry_run and plan is not None else echo
        self.dry_run = dry_run
        self.record = DeployRecord.load(target.apihost, self.root)
        self._client: Client | None = None

    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.target.apihost, self.target.auth)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def deploy(self, names: Sequence[str] = ()) -> Outcome:
        outcome = Outcome()
        namespace = self._namespace()
        project = Project(self.root, "packages", defaults={
            "OPSDEV_HOST": self.target.apihost, "OPSDEV_USERNAME": namespace})
        selected, missing = select_actions(project, Selection.parse(names))
        outcome.failed += missing
        artifacts = self._artifacts(project, selected, outcome)
        verb = "plan for" if self.dry_run else "deploying to"
        self.echo(f"{verb} {self.target.apihost} (namespace {namespace}): "
                  f"{len(artifacts)} action(s)")
        for package in sorted({a.spec.package for a in artifacts}):
            self._send(PackageArtifact(package), outcome)
        for artifact in artifacts:
            self._send(artifact, outcome)
        if not names and site_folder(self.root) is not None:  # the whole project: its site too
            self._upload_site(outcome)
        self._summary(outcome)
        return outcome

    def deploy_site(self) -> Outcome:
        """web/ alone, again (devel, after an edit)."""
        outcome = Outcome()
        self._upload_site(outcome)
        self._summary(outcome)
        return outcome

    def undeploy(self, names: Sequence[str] = ()) -> Outcome:
        outcome = Outcome()
        selection = Selection.parse(names)
        actions = [a for a in self.record.actions if a in selection]
        # a package goes when the whole of it is asked for: all, or PKG by name
        packages = [p for p in self.record.packages if not names or p in selection.packages]
        site = [] if names else list(self.record.site)
        if not actions and not packages and not site:
            self.echo(f"nothing that deploy created from {self.root} is recorded for "
                      f"{self.target.apihost}")
            return outcome
        for name in actions:
            self._delete("actions", name, outcome)
        for name in packages:
            self._delete("packages", name, outcome)
        if site:
            self._remove_site(site, outcome)
        self.echo(f"undeployed from {self.target.apihost}: {len(outcome.updated)} removed"
                  + (f", {len(outcome.failed)} failed" if outcome.failed else ""))
        return outcome

    def _namespace(self) -> str:
        if self.dry_run:  # sends nothing: the namespace of the last deploy, if any
            return self.record.namespace or "_"
        namespace = self.client().namespace()
        if self.record.namespace != namespace:
            self.record.namespace = namespace
            self.record.save()
        return namespace

    def _artifacts(self, project: Project, names: list[str],
                   outcome: Outcome) -> list[ActionArtifact]:
        specs = []
        for name in names:
            try:
                spec = project.load(*split_action_name(name))
            except StreamwhiskError as exc:
                self._fail(outcome, name, str(exc))
                continue
            specs.append(spec)
            if spec.unset:
                self.echo(f"warning: {name}: {', '.join('$' + v for v in spec.unset)} unset "
                          "in every layer: deployed as an empty string")
        broken = _syntax_problems(specs, self.root)
        artifacts = []
        for spec in specs:
            if spec.qualified in broken:
                self._fail(outcome, spec.qualified, broken[spec.qualified])
                continue
            try:
                artifacts.append(action_artifact(spec, lambda s: zip_action(s, self.progress)))
            except StreamwhiskError as exc:
                self._fail(outcome, spec.qualified, str(exc))
        return artifacts

    def _send(self, artifact: PackageArtifact | ActionArtifact, outcome: Outcome) -> None:
        collection: Collection = "packages" if isinstance(artifact, PackageArtifact) else "actions"
        label = f"{collection[:-1]} {artifact.qualified}"
        if self.dry_run:
            verb = "update" if self.record.knows(collection, artifact.qualified) else "create"
            self.echo(f"  would {verb} {label}{_details(artifact)}")
            (outcome.updated if verb == "update" else outcome.created).append(label)
            return
        try:
            existed = self.client().get(collection, artifact.qualified) is not None
            self.client().put(collection, artifact.qualified, artifact.body())
        except ClusterError as exc:
            self._fail(outcome, artifact.qualified, str(exc))
            return
        if existed:
            outcome.updated.append(label)
        else:
            outcome.created.append(label)
            self.record.created(collection, artifact.qualified)
        self.echo(f"  {'updated' if existed else 'created'} {label}{_details(artifact)}")

    def _delete(self, collection: Collection, name: str, outcome: Outcome) -> None:
        label = f"{collection[:-1]} {name}"
        if self.dry_run:
            self.echo(f"  would delete {label}")
            outcome.updated.append(label)
            return
        try:
            gone = self.client().delete(collection, name)
        except ClusterError as exc:
            self._fail(outcome, name, str(exc))
            return
        self.record.removed(collection, name)
        outcome.updated.append(label)
        self.echo(f"  deleted {label}" if gone else f"  {label} was already gone")

    def _upload_site(self, outcome: Outcome) -> None:
        public, private = site_files(self.root)
        files = {file.key: file for file in public}
        if private:
            self.echo(f"  site: skipped {len(private)} private file(s) of {SITE_FOLDER}/ "
                      f"(dotfiles, dot-folders): {', '.join(private[:5])}"
                      f"{', ...' if len(private) > 5 else ''}")
        self._site_step(outcome, list(files), "upload",
                        lambda uploader, key: uploader.upload(files[key]), self.record.created)

    def _remove_site(self, keys: list[str], outcome: Outcome) -> None:
        self._site_step(outcome, keys, "remove", lambda uploader, key: uploader.remove(key),
                        self.record.removed)

    def _site_step(self, outcome: Outcome, keys: list[str], verb: str,
                   operation: Callable[[SiteUploader, str], None],
                   note: Callable[[str, str], None]) -> None:
        """Each key of web/ uploaded or removed; one that fails is reported, the others still
        go; what is done is noted in the record as it is done."""
        try:
            bucket = StaticBucket.of(self.root)
            uploader = None if self.dry_run else SiteUploader(bucket)
        except ClusterError as exc:
            self._fail(outcome, f"{SITE_FOLDER}/", str(exc))
            return
        self.echo(f"  site: {verb} {len(keys)} file(s) of {SITE_FOLDER}/, static bucket "
                  f"{bucket.name} at {bucket.endpoint}")
        for key in keys:
            label = f"{SITE_FOLDER}/{key}"
            if uploader is not None:
                try:
                    operation(uploader, key)
                except ClusterError as exc:
                    self._fail(outcome, label, str(exc))
                    continue
                note("site", key)
            outcome.updated.append(label)
            self.echo(f"  would {verb} {label}" if uploader is None else
                      f"  {'uploaded' if verb == 'upload' else 'removed'} {label}")

    def _fail(self, outcome: Outcome, artifact: str, reason: str) -> None:
        outcome.failed.append(Failure(artifact, reason))
        self.echo(f"  failed {artifact}: {reason}")

    def _summary(self, outcome: Outcome) -> None:
        would = "would be " if self.dry_run else ""
        self.echo(f"{len(outcome.created)} {would}created, {len(outcome.updated)} {would}updated"
                  + (f", {len(outcome.failed)} failed: "
                     + ", ".join(f.artifact for f in outcome.failed) if outcome.failed else "")
                  + (" (dry run: nothing was sent)" if self.dry_run else ""))


def _details(artifact: PackageArtifact | ActionArtifact) -> str:
    if isinstance(artifact, PackageArtifact):
        return ""
    body = artifact.body()
    parts = [body["exec"]["kind"], f"{artifact.size / 1024:.1f} KB"
             + (" zip" if artifact.binary else "")]
    if artifact.spec.annotations.web:
        parts.append("web")
    if artifact.spec.params:  # the values may be secrets: names only
        parts.append(", ".join(f"{k}={MASK}" for k in artifact.spec.params))
    return f" ({'; '.join(parts)})"


def _syntax_problems(specs: list[ActionSpec], root: Path) -> dict[str, str]:
    """Syntax checked by the interpreter of each action's own kind, where this machine has
    it (another Python's grammar proves nothing; an interpreter that does not start checks
    nothing: the cluster will say)."""
    found = interpreters()
    python_of: dict[str, str] = {}
    for spec in specs:
        with contextlib.suppress(StreamwhiskError):  # a kind this machine cannot check
            python = found.get(wanted_version(spec.annotations.kind or DEFAULT_KIND))
            if python is not None:
                python_of[spec.qualified] = python
    return action_syntax_problems(specs, python_of, root, unchecked_too=False)
