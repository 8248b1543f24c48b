"""Which `up` serves a project: `up` notes its run's report while it runs, and `chat`,
`loader`, `invoke` and `action` find it there, whatever port it took."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .assembly import RunReport
from .paths import project_run_file, write_whole


def note(report: RunReport) -> None:
    path = project_run_file(Path(report.project))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_whole(path, report.to_json())


def forget(report: RunReport) -> None:
    """This run's note only: a second `up` of the project may have written its own."""
    path = project_run_file(Path(report.project))
    with contextlib.suppress(OSError):
        noted = _read(path)
        if noted is not None and noted.pid == report.pid:
            path.unlink()


def running(project: Path) -> RunReport | None:
    """The report of the project's running `up`, if one runs."""
    report = _read(project_run_file(project))
    if report is None or not report.url or not _alive(report.pid):
        return None
    return report


def _read(path: Path) -> RunReport | None:
    try:
        return RunReport.from_json(path.read_text())
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
