"""The tree keeps its shape: no import circle, hosting/ knows nothing of OpenWhisk, the action
loop and the stream schema import no third-party library, and no piece imports the modules
that compose it (app, and the CLI's commands in cli/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "streamwhisk"
COMPOSERS_ALONE = {"streamwhisk.app", "streamwhisk.__main__"}  # and every module of cli/


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py") if "node_modules" not in p.parts}
COMPOSERS = COMPOSERS_ALONE | {name for name in MODULES if name.startswith("streamwhisk.cli")}


def imports(name: str) -> set[str]:
    """The streamwhisk modules (and other top-level packages) `name` imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] \
                if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES
                          else target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    found.discard(name)
    return found


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {name: {i for i in imports(name) if i in MODULES} for name in MODULES}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name):], name])
        visiting.append(name)
        for other in graph[name]:
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(
    "streamwhisk.hosting")))
def test_hosting_knows_nothing_of_openwhisk_or_the_runtime(name: str) -> None:
    wrong = {i for i in imports(name) if i.startswith(("streamwhisk.openwhisk",
                                                         "streamwhisk.runtime",
                                                         "streamwhisk.stream",
                                                         "streamwhisk.project"))}
    assert wrong == set()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(
    ("streamwhisk.actionloop", "streamwhisk.stream.schema"))))
def test_what_runs_in_a_worker_imports_only_the_standard_library(name: str) -> None:
    import sys

    outside = {i.split(".")[0] for i in imports(name)} - set(sys.stdlib_module_names) - {
        "streamwhisk", "__future__"}
    assert outside == set()


@pytest.mark.parametrize("name", sorted(set(MODULES) - COMPOSERS))
def test_no_piece_imports_what_composes_it(name: str) -> None:
    assert imports(name) & COMPOSERS == set()


def test_the_cli_loads_no_server_until_a_command_runs() -> None:
    """`streamwhisk --help` registers every command without importing what they run: the
    web stack, the HTTP client, the runtime (each command imports those when it runs)."""
    import subprocess
    import sys

    probe = ("import sys, streamwhisk.cli; print(sorted({m.split('.')[0] for m in sys.modules} "
             "& {'starlette', 'uvicorn', 'httpx', 'grpc', 'minio', 'pymilvus'}), "
             "'streamwhisk.runtime' in sys.modules, 'streamwhisk.app' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[] False False"


def test_nothing_in_the_product_imports_the_testing_helpers() -> None:
    """`test` and `shell` start their server with `launch.py`, which learns its address from
    a ready file, not from a log line: the testing package is for users' tests alone."""
    users = sorted(name for name in MODULES if not name.startswith("streamwhisk.testing")
                   and any(i.startswith("streamwhisk.testing") for i in imports(name)))
    assert users == []


def test_every_error_of_ours_lives_in_the_one_tree() -> None:
    tree = ast.parse(MODULES["streamwhisk.errors"].read_text())
    ours = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    outside = sorted(
        f"{name}.{node.name}" for name, path in MODULES.items() if name != "streamwhisk.errors"
        for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ClassDef)
        and any(isinstance(base, ast.Name) and base.id in ours for base in node.bases))
    assert outside == []


def test_the_architecture_page_names_every_module_and_no_other() -> None:
    """docs/architecture.md's module table is the map of the tree: a module it does not name
    is unmapped; a module it names that is gone misleads. A row's folder (`streamwhisk/x/`)
    is where the bare names in its row are; a name with a folder is from `streamwhisk/`."""
    import re

    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    named: set[str] = set()
    for row in re.findall(r"^\| [^|]+ \| (`[^|]+`) \| (.+) \|$", page, re.M):
        where = re.findall(r"`streamwhisk/([\w/]*)`", row[0]) + re.findall(
            r"`streamwhisk/([\w/]+\.py)`", row[0])
        folder = where[0] if where and where[0].endswith("/") else ""
        named |= {w for w in where if w.endswith(".py")}
        for name in re.findall(r"`([\w/]+\.py)`", row[1]):
            if name.startswith("streamwhisk/"):
                named.add(name.removeprefix("streamwhisk/"))
            else:
                named.add(name if "/" in name else folder + name)
    files = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
             if "node_modules" not in path.parts}
    wanted = {name for name in files if not name.endswith(("__init__.py", "__main__.py"))}
    assert sorted(wanted - named) == [], "modules the page does not name"
    assert sorted(named - files) == [], "modules the page names that are not in the tree"
