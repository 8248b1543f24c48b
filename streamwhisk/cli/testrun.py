"""What a project's tests and the lesson's `ops ai cli` see: `streamwhisk test` and `shell`.

Course projects' `tests/conftest.py` runs `ops -config -dump` and sets every KEY=VALUE it
prints, then loads `.env` and `tests/.env`; their `*_int.py` tests call the actions at
`OPSDEV_HOST`. `streamwhisk test` gives them all of it for one run: an `ops` that answers
`-config -dump` with the layered configuration the lesson says tests see (login config <
`.env` < `tests/.env`, plus the platform's OPSDEV_HOST and OPSDEV_USERNAME), first on the
PATH of that run only; a `streamwhisk up` of the project on a free port (with the tests'
layers); and the dev CA trusted. pytest runs in the python:default runtime, as the actions
do, with pytest, python-dotenv and the project's `tests/requirements.txt` over it, so tests
that import an action module find the action's libraries.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..assembly import NAMESPACE, Run, RunChoices, platform_values
from ..config import Config, wskprops_file
from ..devca import trust_dev_ca
from ..launch import serve, serve_dev_ollama
from ..lifetime import tied
from ..paths import data_root, project_key
from ..project import DEFAULT_KIND
from ..runtime.environments import TEST_TOOLS, TEST_TOOLS_NAMES, RuntimeEnvironment
from ..runtime.runtimes import Runtimes


def layered(project: Path, platform: Mapping[str, str]) -> dict[str, str]:
    """The configuration tests see, values in clear (it is the user's own process)."""
    config = Config.load(project, "tests", defaults=platform)
    return {key: setting.value for key, setting in config.settings().items()}


def tests_runtime(project: Path) -> RuntimeEnvironment:
    """python:default with the tests' tools over it, built on first use."""
    extra = project / "tests" / "requirements.txt"
    requirements = TEST_TOOLS + (extra.read_text(encoding="utf-8") if extra.is_file() else "")
    what = TEST_TOOLS_NAMES + (" and tests/requirements.txt" if extra.is_file() else "")
    def say(line: str) -> None:
        print(line, file=sys.stderr)

    runtimes = Runtimes(progress=say, warn=say)
    return runtimes.build(DEFAULT_KIND, requirements, project, what)


def run_environment(values: Mapping[str, str], ops_folder: Path | None,
                    runtime: RuntimeEnvironment) -> dict[str, str]:
    env = {**os.environ, **values}
    trust_dev_ca(env)
    folders = [str(ops_folder)] if ops_folder is not None else []
    env["PATH"] = os.pathsep.join([*folders, str(runtime.root / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(runtime.root)
    env["PYTHONPATH"] = str(runtime.layer or "")
    return env


def write_ops(folder: Path, values: Mapping[str, str]) -> None:
    """An `ops`, and Nuvolaris's `nuv`, for one run: `-config -dump` prints the values;
    anything else says what it is."""
    dump = "".join(f"{key}={value}\n" for key, value in values.items())
    (folder / "config.dump").write_text(dump)
    for name in ("ops", "nuv"):
        script = folder / name
        script.write_text(
            "#!/bin/sh\n"
            f'if [ "$1" = "-config" ] && [ "$2" = "-dump" ]; then exec cat '
            f"{shlex.quote(str(folder / 'config.dump'))}; fi\n"
            f'echo "streamwhisk: this {name} answers only -config -dump (streamwhisk has the '
            'rest: streamwhisk --help)" >&2\nexit 2\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# A pytest plugin for one run: values that win over every layer (`--services always`,
# `--dev-ollama always`) win over what a course conftest loads from tests/.env too: before
# each module is imported, after each fixture is set up (a session fixture that reloads
# tests/.env runs inside the first test's setup) and before each test runs.
ALWAYS_PLUGIN = """import json, os
import pytest

_ALWAYS = json.load(open(os.environ.pop("STREAMWHISK_ALWAYS")))

def _always():
    os.environ.update(_ALWAYS)

def pytest_collectstart(collector):
    _always()

@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    yield
    _always()

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    _always()
"""


@dataclass(frozen=True)
class TestOptions:
    services: str = "auto"
    dev_ollama: str = "auto"


def run_tests(project: Path, pytest_args: Sequence[str],
              options: TestOptions | None = None) -> int:
    """pytest in the project, with its actions served and the services and dev Ollama it
    asks for; pytest's exit code."""
    options = options or TestOptions()
    project = project.resolve()
    runtime = tests_runtime(project)
    if not wskprops_file().is_file():
        print(f"note: there is no {wskprops_file()}; OpenServerless tests refuse to run "
              "without it: `streamwhisk login` writes it", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="streamwhisk-test-")))
        logs = test_logs(project)
        always = _start_extras(stack, _tests_run(project, options), logs)
        # the run above decided the dev Ollama: the server is told its address, or none
        server = stack.enter_context(serve(
            project, "--scope", "tests", "--namespace", NAMESPACE, "--log-level", "warning",
            "--services", "none", "--dev-ollama", "never", log_path=logs / "server.log",
            env=dict(always)))
        print(f"streamwhisk test: actions served at {server.url} (OPSDEV_HOST); its log "
              f"(kept after the run) in {logs / 'server.log'}", file=sys.stderr)
        platform = platform_values(NAMESPACE, server.url)
        write_ops(scratch, {**layered(project, platform), **always})
        env = run_environment({**platform, **always}, scratch, runtime)
        plugin = []
        if always:
            (scratch / "streamwhisk_always.py").write_text(ALWAYS_PLUGIN)
            (scratch / "always.json").write_text(json.dumps(always))
            env["STREAMWHISK_ALWAYS"] = str(scratch / "always.json")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(scratch),
                                                              env.get("PYTHONPATH")]))
            plugin = ["-p", "streamwhisk_always"]
        return subprocess.call(tied([runtime.python, "-m", "pytest", *plugin, *pytest_args]),
                               cwd=project, env=env)


def test_logs(project: Path) -> Path:
    """Where a project's test runs keep their servers' logs: the last run's, after it ends."""
    folder = data_root() / "test-logs" / project_key(project)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _tests_run(project: Path, options: TestOptions) -> Run:
    """The run tests (and the shell) see: the tests' scope and services' data of their own."""
    return Run(RunChoices(project, "tests", options.services, options.dev_ollama))


def _start_extras(stack: contextlib.ExitStack, run: Run, logs: Path) -> dict[str, str]:
    """Start the run's services and the dev Ollama it wants (as a process of its own),
    stopped with the stack; the values that must win over every layer (with `auto` no layer
    sets them, with `always` they win: either way, the run's values)."""
    services = run.services
    stack.callback(services.stop)
    for line in services.describe():
        print(f"streamwhisk test: {line}", file=sys.stderr)
    services.start_in_background()
    services.ready()
    for name, why in services.failed.items():
        print(f"streamwhisk test: service {name} did not start: {why}", file=sys.stderr)
    if run.wants_dev_ollama:
        dev = stack.enter_context(serve_dev_ollama("--auth", "", log_path=logs / "ollama.log"))
        run.dev_ollama_started(dev.url)
        print(f"streamwhisk test: dev Ollama at {dev.url} (OLLAMA_HOST)", file=sys.stderr)
    return run.winning_values()


def run_shell(project: Path, options: TestOptions | None = None) -> int:
    """An interactive Python with the tests' configuration in `os.environ`, and the services
    and dev Ollama `options` ask for (as `run_tests` starts them)."""
    options = options or TestOptions()
    project = project.resolve()
    runtime = tests_runtime(project)
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="streamwhisk-shell-")))
        always = _start_extras(stack, _tests_run(project, options), test_logs(project))
        values = {**layered(project, platform_values(NAMESPACE, None)), **always}
        write_ops(scratch, values)
        print(f"streamwhisk shell: {len(values)} settings from the login config, .env and "
              "tests/.env are in os.environ (and in `ops -config -dump`)", file=sys.stderr)
        # IPython at a terminal; plain Python when fed a script, whose output is its own
        repl = ["-m", "IPython", "--no-banner"] if sys.stdin.isatty() else ["-i", "-q"]
        return subprocess.call(tied([runtime.python, *repl]), cwd=project,
                               env=run_environment(values, scratch, runtime))
