"""`streamwhisk new ACTION [PACKAGE]`: a new action in the course's layout, as `ops ai new`
writes it: `packages/PKG/ACTION/__main__.py` (`#--kind python:default`, `#--web true`, a
`main(args)` calling the module) and `ACTION.py`, with a unit test and an `_int` test in
`tests/PKG/` that pass as they are, through `streamwhisk test`. Nothing is overwritten."""

from __future__ import annotations

from pathlib import Path

from ..errors import ProjectError
from ..names import check_entity_name

MAIN = '''#--kind python:default
#--web true
import {action}


def main(args):
    return {{"body": {action}.{action}(args)}}
'''
MODULE = '''def {action}(args):
    """What the action answers: a reply with an `output` (and, later, a `state`, a `form`,
    ...). `args` holds the request's `input`, the `#--param` values and the platform's."""
    return {{"output": "{action}"}}
'''
UNIT_TEST = '''import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "packages/{package}/{action}"))
import {action}  # noqa: E402


def test_{action}():
    res = {action}.{action}({{}})
    assert res["output"] == "{action}"
'''
INT_TEST = '''import os

import requests as req


def test_{action}_int():
    url = os.environ.get("OPSDEV_HOST") + "/api/my/{package}/{action}"
    res = req.get(url, timeout=60).json()
    assert res.get("output") == "{action}"
'''


def scaffold(project: Path, action: str, package: str | None = None) -> list[Path]:
    """Write the four files; ProjectError (and nothing written) when a name does not do or a
    file is there already."""
    package = package or action
    check_entity_name(package, "package")
    check_entity_name(action, "action")
    if not action.isidentifier():
        raise ProjectError(f"{action!r} cannot be a Python module's name (its main file "
                           "imports it): use letters, digits and '_', not starting with a digit")
    folder = project / "packages" / package / action
    files = {folder / "__main__.py": MAIN, folder / f"{action}.py": MODULE,
             project / "tests" / package / f"test_{action}.py": UNIT_TEST,
             project / "tests" / package / f"test_{action}_int.py": INT_TEST}
    there = [str(path.relative_to(project)) for path in files if path.exists()]
    if (project / "packages" / package / f"{action}.py").exists():
        there.append(f"packages/{package}/{action}.py")
    if there:
        raise ProjectError(f"{package}/{action} exists already ({', '.join(there)}): nothing "
                           "was written; choose another name, or remove those files")
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(action=action, package=package))
    return list(files)
