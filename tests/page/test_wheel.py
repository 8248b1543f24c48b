"""Installed like any Python tool: a wheel built from this repository, installed into a fresh
virtualenv, serves a project from outside the repository, and its chat page works in Chromium
with the JavaScript libraries the wheel carries (no node_modules, no npm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from support import COURSE_AUTH

from streamwhisk.testing import RunningServer, serve

from .pages import RecordingPage

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel (its dependencies are this environment's,
    seen through a .pth line: the tests reach no package index)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(work / "dist"), str(REPO)], check=True, timeout=300)
    wheel = next((work / "dist").glob("streamwhisk-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
                   check=True, timeout=300)
    return venv


@pytest.fixture(scope="module")
def served(installed: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningServer]:
    outside = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "packages", outside / "packages")
    with serve(outside, log_path=outside / "server.log", startup_timeout=60,
               program=[str(installed / "bin" / "streamwhisk")]) as running:
        command = Path(f"/proc/{running.pid}/cmdline").read_bytes().split(b"\0")
        assert str(installed / "bin" / "streamwhisk").encode() in command
        yield running


def test_the_installed_wheel_is_the_one_that_runs(installed: Path) -> None:
    where = subprocess.run([str(installed / "bin" / "python"), "-I", "-c",
                            "import streamwhisk; print(streamwhisk.__file__)"],
                           capture_output=True, text=True, check=True, cwd=installed).stdout
    assert where.startswith(str(installed)), where
    package = Path(where).parent
    assert not (package / "web" / "node_modules").exists()
    assert (package / "web" / "vendor" / "marked.esm.js").is_file()


def test_the_installed_wheel_serves_its_page_with_no_node(served: RunningServer,
                                                           chat_page: RecordingPage) -> None:
    for library in ("marked.esm.js", "purify.es.mjs"):
        library_url = f"{served.url}/_streamwhisk/vendor/{library}"
        assert httpx.get(library_url, timeout=30).status_code == 200
    chat_page.page.goto(served.url + "/")
    chat_page.page.get_by_role("button", name="Stateless", exact=True).click()
    chat_page.page.fill("#input", "show me some markdown")
    chat_page.page.press("#input", "Enter")
    expect(chat_page.page.locator(".reply .md table").first).to_be_visible()
    assert chat_page.errors == []


NO_TEST_TOOLS = '''import importlib.abc
import sys


class NoTestTools(importlib.abc.MetaPathFinder):
    """As if pytest and IPython were not installed beside streamwhisk."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pytest", "_pytest", "IPython"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoTestTools())
'''


def test_the_installed_tool_runs_a_projects_tests_without_pytest_of_its_own(
        installed: Path, tmp_path: Path) -> None:
    """`pip install streamwhisk` brings no pytest: `test` and `shell` run theirs in the
    runtime environment they build, never in streamwhisk's own interpreter."""
    site = Path(subprocess.run([str(installed / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_no_test_tools.py").write_text(NO_TEST_TOOLS)
    (site / "no_test_tools.pth").write_text("import _no_test_tools\n")
    try:
        blocked = subprocess.run([str(installed / "bin" / "python"), "-c", "import pytest"],
                                 capture_output=True, text=True)
        assert "No module named 'pytest'" in blocked.stderr
        project = tmp_path / "course"
        shutil.copytree(REPO / "tests" / "fixtures" / "course_project", project)
        home = tmp_path / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home),
               "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
        env.pop("WSK_CONFIG_FILE", None)  # ~/.wskprops of this HOME, as the course reads it
        login = subprocess.run([str(installed / "bin" / "streamwhisk"), "login", "--apihost",
                                "https://openserverless.example", "--auth", COURSE_AUTH],
                               env=env, capture_output=True, text=True, timeout=60)
        assert login.returncode == 0, login.stderr
        tests = subprocess.run([str(installed / "bin" / "streamwhisk"), "test", "--project",
                                str(project), "-p", "no:cacheprovider"], env=env,
                               capture_output=True, text=True, timeout=300)
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert "4 passed" in tests.stdout
        shell = subprocess.run([str(installed / "bin" / "streamwhisk"), "shell", "--project",
                                str(project)], env=env, input="import pytest\nprint('ok')\n",
                               capture_output=True, text=True, timeout=300)
        assert shell.stdout.splitlines() == ["ok"], shell.stderr
    finally:
        (site / "no_test_tools.pth").unlink()
