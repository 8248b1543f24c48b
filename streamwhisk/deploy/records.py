"""What `deploy` created on a cluster, so that `undeploy` removes exactly that.

One JSON file per (API host, project) under the data folder (see `paths.py`): the packages and
actions that a deploy created (those it only updated were there before, and stay), and the
keys it uploaded from web/ to the static bucket.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..paths import data_root, write_whole
from ..runtime.environments import digest


@dataclass
class DeployRecord:
    apihost: str
    project: str
    namespace: str = ""
    packages: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    site: list[str] = field(default_factory=list)  # keys uploaded to the static bucket

    @classmethod
    def load(cls, apihost: str, project: Path) -> DeployRecord:
        record = cls(apihost, str(project))
        try:
            saved = json.loads(record.path.read_text())
        except (OSError, ValueError):
            return record
        record.namespace = str(saved.get("namespace", ""))
        record.packages = [str(p) for p in saved.get("packages", [])]
        record.actions = [str(a) for a in saved.get("actions", [])]
        record.site = [str(k) for k in saved.get("site", [])]
        return record

    @property
    def path(self) -> Path:
        return data_root() / "deployments" / f"{digest(self.apihost, self.project)}.json"

    def _names(self, collection: str) -> list[str]:
        return {"packages": self.packages, "actions": self.actions}.get(collection, self.site)

    def created(self, collection: str, name: str) -> None:
        names = self._names(collection)
        if name not in names:
            names.append(name)
            self.save()

    def removed(self, collection: str, name: str) -> None:
        names = self._names(collection)
        if name in names:
            names.remove(name)
            self.save()

    def knows(self, collection: str, name: str) -> bool:
        return name in self._names(collection)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(self.path, json.dumps(asdict(self), indent=2) + "\n")
