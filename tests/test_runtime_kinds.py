"""Kinds and runtime environments: each action runs on the CPython its #--kind names, in an
environment of its own, with its folder's requirements.txt installed from a package index.

The index is a real PEP 503 "simple" index on 127.0.0.1 serving a wheel built here; the
runtimes are built for real (with an empty default library list, so no test needs PyPI) in a
cache of the module's own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from package_index import PackageIndex
from support import copy_project

from streamwhisk.errors import RuntimeUnavailable
from streamwhisk.runtime.environments import cluster_kinds, libraries_file, lock_file
from streamwhisk.runtime.kinds import Kind, interpreters
from streamwhisk.runtime.runtimes import Runtimes
from streamwhisk.testing import RunningServer, serve

PACKAGE = Path(__file__).resolve().parents[1] / "streamwhisk"


def light_runtime_env(cache: Path, index_url: str) -> dict[str, str | None]:
    empty = cache / "no-default-libraries.txt"
    cache.mkdir(parents=True, exist_ok=True)
    empty.write_text("# the tests install nothing by default\n")
    # a pip index setting is what a user has: the installer (uv) takes it as its own
    return {"STREAMWHISK_CACHE_DIR": str(cache), "STREAMWHISK_RUNTIME_LIBRARIES": str(empty),
            "PIP_INDEX_URL": index_url, "UV_HTTP_RETRIES": "0",
            "UV_CACHE_DIR": str(cache / "uv")}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtimes")


@pytest.fixture(scope="module")
def kinds_server(tmp_path_factory: pytest.TempPathFactory, cache: Path,
                 package_index: PackageIndex) -> Iterator[RunningServer]:
    project = copy_project("kinds_project", tmp_path_factory.mktemp("kinds"))
    with serve(project, log_path=project / "server.log", startup_timeout=120,
               env=light_runtime_env(cache, package_index.url)) as running:
        yield running


def answer(server: RunningServer, action: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/my/k/{action}", timeout=60)


@pytest.mark.parametrize(("action", "version"), [("default", (3, 12)), ("py310", (3, 10)),
                                                  ("py313", (3, 13))])
def test_each_kind_runs_on_its_own_python_in_an_environment_without_streamwhisk(
        kinds_server: RunningServer, cache: Path, action: str, version: tuple[int, int]) -> None:
    if version not in interpreters():
        pytest.skip(f"this machine has no Python {version}")
    body = answer(kinds_server, action).json()
    assert body["version"] == list(version)
    assert body["virtual_env"].startswith(str(cache / "runtimes"))
    assert body["python"].startswith(body["virtual_env"])
    assert body["streamwhisk_on_path"] is False


def test_a_kind_with_no_interpreter_is_reported_at_start_and_on_call(
        kinds_server: RunningServer) -> None:
    assert re.search(r"k/future +cannot run: kind python:3.99 needs Python 3.99, and this "
                     r"machine has Python [\d., ]+: install it", kinds_server.log())
    response = answer(kinds_server, "future")
    assert response.status_code == 502
    assert "pyenv install 3.99" in response.json()["error"]
    assert answer(kinds_server, "default").status_code == 200  # the rest is served


def test_a_requirements_txt_is_installed_over_the_runtime_once(
        kinds_server: RunningServer, package_index: PackageIndex, cache: Path,
        tmp_path: Path) -> None:
    assert answer(kinds_server, "withreq").text == "hello, world, from the greeting wheel"
    log = kinds_server.log()
    assert "installing k/withreq's requirements.txt into the python:default" in log
    assert "Installed 1 package" in log
    assert "ready: k/withreq's requirements.txt over python:default" in log
    # a second server finds it in the cache, and asks the index nothing
    package_index.requested.clear()
    project = copy_project("kinds_project", tmp_path)
    with serve(project, log_path=tmp_path / "again.log", startup_timeout=120,
               env=light_runtime_env(cache, package_index.url)) as again:
        assert answer(again, "withreq").status_code == 200
        assert "k/withreq's requirements.txt" not in again.log()
    assert not [path for path in package_index.requested if "greeting/" in path]


def test_a_requirements_txt_that_does_not_install_is_a_clear_error_and_the_rest_serves(
        kinds_server: RunningServer) -> None:
    response = answer(kinds_server, "typo")
    assert response.status_code == 502
    error = response.json()["error"]
    assert "cannot install k/typo's requirements.txt into the python:default" in error
    assert "greetnig" in error, error
    assert "failed: k/typo's requirements.txt over python:default" in kinds_server.log()
    assert answer(kinds_server, "withreq").status_code == 200


def test_an_offline_install_says_the_index_cannot_be_reached(
        tmp_path: Path, free_port: int) -> None:
    project = copy_project("kinds_project", tmp_path)
    env = light_runtime_env(tmp_path / "cache", f"http://127.0.0.1:{free_port}/simple/")
    with serve(project, log_path=tmp_path / "server.log", startup_timeout=120,
               env=env) as offline:
        response = answer(offline, "withreq")
        assert response.status_code == 502
        error = response.json()["error"]
        assert "cannot install k/withreq's requirements.txt" in error
        assert "(the package index could not be reached: " in error, error
        assert answer(offline, "default").status_code == 200


def test_python_default_falls_back_with_a_warning_and_newer_syntax_says_what_to_install(
        tmp_path: Path, package_index: PackageIndex) -> None:
    found = interpreters()
    if (3, 11) not in found:
        pytest.skip("this machine has no Python 3.11")
    only = tmp_path / "bin"  # a machine with Python 3.11 and nothing newer
    only.mkdir()
    (only / "python3.11").symlink_to(found[(3, 11)])
    (tmp_path / "pyenv").mkdir()
    project = copy_project("kinds_project", tmp_path)
    env = {**light_runtime_env(tmp_path / "cache", package_index.url),
           "PATH": str(only), "PYENV_ROOT": str(tmp_path / "pyenv")}
    with serve(project, log_path=tmp_path / "server.log", startup_timeout=120,
               env=env) as old:
        assert answer(old, "default").json()["version"] == [3, 11]
        log = old.log()
        assert log.count("warning: python:default runs on Python 3.11 here") == 1
        assert re.search(r"k/newsyntax +cannot run: packages/k/newsyntax.py:3: syntax error", log)
        error = answer(old, "newsyntax").json()["error"]
        assert "SyntaxError" in error
        assert "install Python 3.12 (for example `pyenv install 3.12`)" in error


def test_the_default_runtime_holds_the_cluster_runtimes_libraries_at_its_versions(
        course_server: RunningServer) -> None:
    # importing every library takes seconds alone, and past a minute in a loaded full run
    body = httpx.get(course_server.url + "/api/my/hello/libraries", timeout=300).json()
    assert body.get("missing") == [], body
    assert body["version"] == [3, 12]
    cluster = dict(line.split("==") for line in (PACKAGE / "runtime" / "cluster" /
                   "python-3.12.txt").read_text().splitlines() if "==" in line)
    for name, version in body["versions"].items():
        assert version == cluster[name], (name, version, cluster[name])


def test_what_the_runtime_list_holds_and_this_machine_cannot_install_is_named(
        tmp_path: Path, package_index: PackageIndex) -> None:
    """The whole list does not install: the lines that do are installed, each that does not
    is named at build time, and the actions that do not need it run."""
    project = copy_project("kinds_project", tmp_path)
    libraries = tmp_path / "cluster-like.txt"
    libraries.write_text("greeting==1.0\nnot-on-this-index==9.9\n")
    env = {**light_runtime_env(tmp_path / "cache", package_index.url),
           "STREAMWHISK_RUNTIME_LIBRARIES": str(libraries)}
    with serve(project, log_path=tmp_path / "server.log", startup_timeout=120,
               env=env) as server:
        assert answer(server, "default").status_code == 200
        log = server.log()
    assert "not installed on this machine: not-on-this-index==9.9 (" in log, log
    assert "not installed on this machine: greeting" not in log
    built = next((tmp_path / "cache" / "runtimes").glob("python3.*/.streamwhisk-missing.json"))
    assert list(json.loads(built.read_text())) == ["not-on-this-index==9.9"]


@pytest.mark.parametrize(("wanted", "listed"), [((3, 12), "3.12"), ((3, 11), "3.11"),
                                                ((3, 13), "3.13"), ((3, 10), "3.11"),
                                                ((3, 14), "3.13")])
def test_each_kind_takes_the_clusters_list_for_its_python_or_the_nearest(
        wanted: tuple[int, int], listed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMWHISK_RUNTIME_LIBRARIES", raising=False)
    kind = Kind(f"python:3.{wanted[1]}", wanted, sys.executable, wanted)
    chosen = libraries_file(kind)
    assert chosen.name == f"python-{listed}.txt"
    assert "apache/openserverless-runtimes" in chosen.read_text().splitlines()[0]


IMPORT_EVERY_LIBRARY = r'''
import importlib, importlib.metadata as metadata, json, re, sys

def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()

listed = [re.split(r"[<>=!~;\[ ]", line.strip())[0] for line in open(sys.argv[1])
          if line.strip() and not line.startswith("#")]
modules = {}
for top, distributions in metadata.packages_distributions().items():
    for distribution in distributions:
        modules.setdefault(normal(distribution), set()).add(top)
failed = []
for name in listed:
    tops = sorted(m for m in modules.get(normal(name), ()) if m.isidentifier()
                  and not m.startswith("_") and m not in ("tests", "test", "docs", "examples"))
    if not tops:
        failed.append(f"{name}: installs no module")
    for top in tops:
        try:
            importlib.import_module(top)
        except Exception as exc:
            failed.append(f"{name}: import {top}: {type(exc).__name__}: {exc}")
print(json.dumps(failed))
'''


# What the cluster's own pins cannot import, there as here: matching it is the rule.
BROKEN_ON_THE_CLUSTER = {
    # kafka-python 2.0.2's vendored six fails on Python 3.12+ (fixed in 2.0.3, not pinned)
    ("python:3.12", "kafka_python"), ("python:3.13", "kafka_python"),
    # scrapy 2.5.0 imports the cgi module, which Python 3.13 removed
    ("python:3.13", "scrapy"),
}


@pytest.mark.parametrize("kind", cluster_kinds())
def test_every_library_of_each_kinds_list_imports(kind: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The cluster pins only its top-level libraries: the lock pins the rest, so that they
    fit (pyarrow 26 beside the list's numpy 1.26 broke `import pyarrow`, and so milvus-lite)."""
    monkeypatch.delenv("STREAMWHISK_RUNTIME_LIBRARIES", raising=False)
    try:
        environment = Runtimes().build(kind)  # `make setup` built it (runtimes --all-kinds)
    except RuntimeUnavailable as exc:
        pytest.skip(f"this machine has no Python for {kind}: {exc}")
    assert lock_file(environment.kind) is not None
    done = subprocess.run([environment.python, "-c", IMPORT_EVERY_LIBRARY,
                           str(libraries_file(environment.kind))], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    failed = json.loads(done.stdout.splitlines()[-1])
    assert [f for f in failed if (kind, f.split(":")[0]) not in BROKEN_ON_THE_CLUSTER] == []


LESSON_SIX = """
from pymilvus import MilvusClient
client = MilvusClient("lesson.db")
client.create_collection("notes", dimension=4)
client.insert("notes", [{"id": 1, "vector": [0.1, 0.2, 0.3, 0.4]}])
print(client.search("notes", [[0.1, 0.2, 0.3, 0.4]], limit=1)[0][0]["id"])
"""


def test_lesson_six_milvus_lite_on_a_file_works_in_an_action(tmp_path: Path) -> None:
    """`MilvusClient("file.db")` starts Milvus Lite's own server inside the worker."""
    project = tmp_path / "lesson6"
    (project / "packages" / "vdb").mkdir(parents=True)
    body = "\n".join("    " + line for line in LESSON_SIX.strip().splitlines())
    (project / "packages" / "vdb" / "lite.py").write_text(
        "#--web true\nimport contextlib, io, os, tempfile\n\n\ndef main(args):\n"
        "    os.chdir(tempfile.mkdtemp())\n    out = io.StringIO()\n"
        "    with contextlib.redirect_stdout(out):\n"
        + "\n".join("    " + line for line in body.splitlines()) +
        "\n    return {'body': out.getvalue().strip()}\n")
    scratch = tmp_path / "tmp"  # Milvus Lite leaves its socket file in the temporary folder
    scratch.mkdir()
    with serve(project, log_path=tmp_path / "log", env={"TMPDIR": str(scratch)}) as up:
        answer = httpx.get(up.url + "/api/my/vdb/lite", timeout=300)
        assert (answer.status_code, answer.text) == (200, "1"), up.log()[-3000:]
