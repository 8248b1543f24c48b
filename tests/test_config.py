"""The configuration layers, their order, `$VAR` expansion and secret masking."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from streamwhisk.config import Config, write_login
from streamwhisk.errors import UnsetVariableError


@pytest.fixture
def layered(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "project"
    (project / "packages").mkdir(parents=True)
    (project / "tests").mkdir()
    login = tmp_path / "home" / "login.env"
    write_login({"AUTH": "uid:login-secret", "SHARED": "login", "APIHOST": "https://x"}, login)
    (project / ".env").write_text("SHARED=dotenv\nONLY_DOTENV=1\nOLLAMA_HOST=dot\n")
    (project / "packages" / ".env").write_text("SHARED=packages\nOLLAMA_HOST=prod.example\n")
    (project / "tests" / ".env").write_text("OLLAMA_HOST=test.example\n")
    return project, login


def test_layers_override_in_the_documented_order(layered: tuple[Path, Path]) -> None:
    project, login = layered
    config = Config.load(project, "packages", environ={"ONLY_DOTENV": "env"}, login=login)
    assert config.get("SHARED") == "packages"
    assert config.get("ONLY_DOTENV") == "env"
    assert config.get("AUTH") == "uid:login-secret"
    settings = config.settings()
    assert settings["SHARED"].overrides == ("login config", ".env")
    assert settings["ONLY_DOTENV"].source == "environment"


def test_tests_see_tests_env_and_actions_see_packages_env(layered: tuple[Path, Path]) -> None:
    project, login = layered
    assert Config.load(project, "tests", {}, login).get("OLLAMA_HOST") == "test.example"
    assert Config.load(project, "packages", {}, login).get("OLLAMA_HOST") == "prod.example"


@pytest.mark.parametrize(("text", "expanded"), [
    ("$OLLAMA_HOST", "prod.example"),
    ("${OLLAMA_HOST}:11434", "prod.example:11434"),
    ("${MISSING:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),
    ("cost $$5", "cost $5"),
])
def test_variables_expand_from_the_layers(
    layered: tuple[Path, Path], text: str, expanded: str
) -> None:
    project, login = layered
    config = Config.load(project, "packages", {"EMPTY": ""}, login)
    assert config.expand(text, "x.py") == expanded


def test_an_unset_variable_is_an_empty_string_as_ops_expands_it(
    layered: tuple[Path, Path],
) -> None:
    project, login = layered
    config = Config.load(project, "packages", {}, login)
    assert config.expand("key=$NOPE;${NOPE}.", "packages/chat/a.py") == "key=;."
    assert config.unset("$NOPE ${NOPE:-x} $SHARED") == ["NOPE"]


def test_a_required_variable_unset_or_empty_is_an_error_naming_it_and_the_file(
    layered: tuple[Path, Path],
) -> None:
    project, login = layered
    config = Config.load(project, "packages", {"EMPTY": ""}, login)
    for text in ("${NOPE:?}", "${EMPTY:?the key}"):
        with pytest.raises(UnsetVariableError) as raised:
            config.expand(text, "packages/chat/a.py")
        assert "packages/chat/a.py requires $" in str(raised.value)
    assert "(the key)" in str(raised.value)


def test_login_file_is_private_to_its_owner(layered: tuple[Path, Path]) -> None:
    _, login = layered
    assert stat.S_IMODE(login.stat().st_mode) == 0o600


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # OLLAMA_HOST is exported for the session's dev Ollama; these tests read it from files
    inherited = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], capture_output=True,
                          text=True, env={**inherited, **(env or {})}, timeout=60)


def test_config_dump_masks_secrets_and_shows_sources(layered: tuple[Path, Path]) -> None:
    project, login = layered
    env = {"STREAMWHISK_LOGIN_FILE": str(login), "SHARED": "from-shell"}
    dump = _cli("config", "dump", "--sources", "--project", str(project), env=env)
    assert dump.returncode == 0, dump.stderr
    lines = dict(line.split("=", 1) for line in dump.stdout.splitlines())
    assert lines["AUTH"] == "********\t# login config"
    assert lines["SHARED"] == "from-shell\t# login config < .env < packages/.env < environment"
    assert "login-secret" not in dump.stdout + dump.stderr
    shown = _cli("config", "dump", "--show-secrets", "--project", str(project), env=env)
    assert "AUTH=uid:login-secret" in shown.stdout.splitlines()
    tests_scope = _cli("config", "dump", "--scope", "tests", "--project", str(project), env=env)
    assert "OLLAMA_HOST=test.example" in tests_scope.stdout.splitlines()


def test_login_command_writes_the_user_file(tmp_path: Path) -> None:
    login = tmp_path / "cfg" / "login.env"
    result = _cli("login", "--apihost", "https://api.example", "--auth", "u:k",
                  env={"STREAMWHISK_LOGIN_FILE": str(login)})
    assert result.returncode == 0, result.stderr
    assert Config.load(tmp_path, login=login).get("AUTH") == "u:k"
    assert "u:k" not in result.stdout + result.stderr
