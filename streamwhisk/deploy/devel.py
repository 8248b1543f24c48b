"""`streamwhisk devel`: deploy once, then redeploy what changes under packages/, and upload
the site again when web/ changes.

watchfiles batches the changes of a moment into one set; deploys run one after another, so an
artifact is never deployed twice at once, and changes made during a deploy form the next batch.
A change to `.env` or `packages/.env` can change any action's parameters: everything is
redeployed. A deploy that fails is reported and the watch goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

from ..errors import StreamwhiskError
from ..project import Project
from ..site import SITE_FOLDER
from .deployer import Deployer

Echo = Callable[[str], None]
WATCH_TICK_MS = 500  # how long the watcher waits before saying "no changes yet"


def touched_actions(root: Path, paths: Iterable[str]) -> set[str] | None:
    """The actions whose files these paths are; None when a configuration layer changed."""
    packages = root / "packages"
    names: set[str] = set()
    for changed in map(Path, paths):
        if changed in (root / ".env", packages / ".env"):
            return None
        try:
            parts = changed.relative_to(packages).parts
        except ValueError:
            continue
        if len(parts) == 2 and parts[1].endswith(".py"):
            names.add(f"{parts[0]}/{parts[1][:-3]}")
        elif len(parts) >= 3:
            names.add(f"{parts[0]}/{parts[1]}")
    return names


def touches_site(root: Path, paths: Iterable[str]) -> bool:
    return any(Path(path).is_relative_to(root / SITE_FOLDER) for path in paths)


def watch_and_deploy(deployer: Deployer, echo: Echo,
                     stop: threading.Event | None = None) -> None:
    root = deployer.root
    # The watch starts before the first deploy, and "watching" is said only once it runs:
    # an edit made right after the message (or during the deploy) is never missed.
    batches = watchfiles.watch(root, stop_event=stop, debounce=300,
                               yield_on_timeout=True, rust_timeout=WATCH_TICK_MS)
    next(batches, None)  # returns once the watcher runs; the full deploy covers what it saw
    _deploy(deployer, echo, ())
    site = f" and {root / SITE_FOLDER}" if (root / SITE_FOLDER).is_dir() else ""
    echo(f"devel: watching {root / 'packages'}{site} (Ctrl-C stops)")
    for changes in batches:
        if changes:
            _handle(deployer, echo, changes)


def _handle(deployer: Deployer, echo: Echo, changes: set[tuple[watchfiles.Change, str]]) -> None:
    root = deployer.root
    paths = [path for _, path in changes]
    if touches_site(root, paths):
        _deploy_site(deployer, echo)
    touched = touched_actions(root, paths)
    if touched is None:
        echo("devel: a .env layer changed: redeploying everything")
        _deploy(deployer, echo, ())
        return
    present = set(Project(root).action_names())
    for gone in sorted(touched - present):
        echo(f"devel: {gone} is gone from packages/; `streamwhisk undeploy {gone}` "
             "removes it from the cluster")
    if touched & present:
        _deploy(deployer, echo, sorted(touched & present))


def _deploy_site(deployer: Deployer, echo: Echo) -> None:
    try:
        deployer.deploy_site()
    except StreamwhiskError as exc:
        echo(f"devel: uploading web/ failed: {exc}")


def _deploy(deployer: Deployer, echo: Echo, names: Iterable[str]) -> None:
    try:
        deployer.deploy(list(names))
    except StreamwhiskError as exc:  # the cluster unreachable, say: the watch goes on
        echo(f"devel: deploy failed: {exc}")
