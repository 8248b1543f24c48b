"""Whether each action's code compiles in its own kind's Python: one compile check per
interpreter (a child process: only that Python knows what its grammar accepts), for `up`'s
and `runtimes`'s report at start and for `deploy`, which sends nothing a cluster would
refuse."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RuntimeUnavailable
from ..project import DEFAULT_KIND
from .kinds import resolve

if TYPE_CHECKING:
    from ..project import ActionSpec


def action_syntax_problems(specs: Iterable[ActionSpec], python_of: Mapping[str, str],
                           root: Path, unchecked_too: bool = True) -> dict[str, str]:
    """Each action (by `pkg/action`) whose main file the interpreter `python_of[pkg/action]`
    rejects (actions with none are not checked), as `file:line: syntax error: ...`, saying so
    when its kind runs here on another Python; with `unchecked_too`, also those whose
    interpreter does not start, with why."""
    checked = {spec.main_file: spec for spec in specs if spec.qualified in python_of}
    rejected, unchecked = syntax_problems(
        {path: python_of[spec.qualified] for path, spec in checked.items()}, root)
    problems = {checked[path].qualified: why for path, why in unchecked.items()
                if unchecked_too}
    for path, reason in rejected.items():
        with contextlib.suppress(RuntimeUnavailable):
            kind = resolve(checked[path].annotations.kind or DEFAULT_KIND)
            reason += f" ({kind.fallback_note()})" if kind.fallback else ""
        problems[checked[path].qualified] = reason
    return problems


_COMPILE = """import json, sys
errors = {}
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as file:
            compile(file.read(), path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        errors[path] = f"{exc.lineno}: syntax error: {exc.msg}"
print(json.dumps(errors))
"""


def syntax_problems(python_of: Mapping[Path, str], root: Path
                    ) -> tuple[dict[Path, str], dict[Path, str]]:
    """One compile check per interpreter, of the files given to it (`python_of[file]`): the
    files it rejects, as `file:line: syntax error: ...` with `file` relative to `root`, and the
    files whose interpreter does not start, with why."""
    by_python: dict[str, list[Path]] = {}
    for path, python in python_of.items():
        by_python.setdefault(python, []).append(path)
    rejected: dict[Path, str] = {}
    unchecked: dict[Path, str] = {}
    for python, files in by_python.items():
        try:
            found = syntax_errors(python, files)
        except RuntimeUnavailable as exc:
            unchecked.update(dict.fromkeys(files, str(exc)))
            continue
        rejected.update({path: f"{path.relative_to(root)}:{reason}"
                         for path, reason in found.items()})
    return rejected, unchecked


def syntax_errors(python: str, files: list[Path]) -> dict[Path, str]:
    """The files that this interpreter cannot compile, with line and reason."""
    if not files:
        return {}
    done = subprocess.run([python, "-I", "-c", _COMPILE, *map(str, files)],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeUnavailable(f"{python} does not start: {done.stderr.strip()[-300:]}")
    return {Path(path): reason for path, reason in json.loads(done.stdout).items()}
