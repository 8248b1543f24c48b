"""A course project's own tests run unchanged through `streamwhisk test`, after `streamwhisk
login`; `streamwhisk shell` is the lesson's `ops ai cli`."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from support import COURSE_AUTH, copy_project, run_streamwhisk

streamwhisk = run_streamwhisk


def test_login_writes_wskprops_as_wsk_reads_it(logged_in: dict[str, str]) -> None:
    props = Path(logged_in["HOME"]) / ".wskprops"
    assert props.read_text().splitlines() == [
        "NAMESPACE=learner", "APIHOST=https://openserverless.example", f"AUTH={COURSE_AUTH}"]
    assert stat.S_IMODE(props.stat().st_mode) == 0o600


def test_a_course_projects_tests_run_unchanged(logged_in: dict[str, str],
                                               tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    result = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider",
                         env=logged_in)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    assert shutil.which("ops", path=logged_in["PATH"]) is None  # no ops left behind


def test_a_failing_course_test_fails_the_run(logged_in: dict[str, str], tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    (project / "packages/chat/echo.py").write_text(
        "#--web true\ndef main(args):\n    return {'body': {'output': 'changed'}}\n")
    result = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider",
                         "-k", "not lesson", env=logged_in)
    assert result.returncode == 1
    assert "2 failed, 1 passed" in result.stdout


def user_bundle_env(env: dict[str, str], bundle: str | None) -> dict[str, str]:
    """`env` as on a machine (a CI's, a company's) that names a CA bundle of its own."""
    env = {key: value for key, value in env.items()
           if key not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    if bundle is not None:
        env |= {"SSL_CERT_FILE": bundle, "REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle}
    return env


def system_bundle() -> str:
    import certifi

    debian = Path("/etc/ssl/certs/ca-certificates.crt")
    return str(debian) if debian.is_file() else certifi.where()


@pytest.mark.parametrize("bundle", [None, "system"], ids=["no-bundle", "users-own-bundle"])
def test_the_shell_has_the_tests_configuration_and_trusts_the_dev_ca(
    logged_in: dict[str, str], tmp_path: Path, bundle: str | None
) -> None:
    logged_in = user_bundle_env(logged_in, bundle and system_bundle())
    project = copy_project("course_project", tmp_path)
    typed = ("import os, requests, subprocess\n"
             "print(os.getenv('COURSE_TEST_MODEL'), os.getenv('NUVDEV_USERNAME'))\n"
             "print(requests.get(f\"https://{os.getenv('AUTH')}@{os.getenv('OLLAMA_HOST')}\""
             ", timeout=30).text)\n"
             "for tool in ('ops', 'nuv'):\n"
             "    dump = subprocess.run([tool, '-config', '-dump'], capture_output=True,\n"
             "                          text=True).stdout.splitlines()\n"
             "    print(tool, 'COURSE_TEST_MODEL=phi4:14b' in dump)\n")
    result = streamwhisk("shell", "--project", str(project), env=logged_in, stdin=typed)
    assert result.stdout.splitlines() == ["phi4:14b guest", "Ollama is running", "ops True",
                                          "nuv True"], result.stderr


def test_the_users_bundle_is_kept_beside_the_dev_ca(logged_in: dict[str, str],
                                                     tmp_path: Path) -> None:
    """The lesson's https:// tests pass on a machine with a bundle of its own, and what the
    tests trust is the user's bundle plus the dev CA, never less than the user's."""
    company = tmp_path / "company.pem"
    company.write_text(Path(system_bundle()).read_text())
    env = user_bundle_env(logged_in, str(company))
    project = copy_project("course_project", tmp_path)
    typed = ("import os, pathlib\n"
             "seen = {os.environ[k] for k in ('SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', "
             "'CURL_CA_BUNDLE')}\n"
             "print(len(seen))\n"
             "print(pathlib.Path(seen.pop()).read_text())\n")
    result = streamwhisk("shell", "--project", str(project), env=env, stdin=typed)
    lines = result.stdout.splitlines()
    assert lines[0] == "1", result.stderr
    trusted = "\n".join(lines[1:])
    assert company.read_text().strip() in trusted
    assert "BEGIN CERTIFICATE" in trusted.split(company.read_text().strip())[1]  # the dev CA
    tests = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider", env=env)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_dev_ollama_always_holds_from_the_first_test(logged_in: dict[str, str],
                                                     tmp_path: Path) -> None:
    """A course conftest's session fixture reloads tests/.env (the cluster's Ollama) inside
    the first test's setup: `--dev-ollama always` must still win there, not from the second."""
    project = copy_project("course_project", tmp_path)
    (project / "tests" / ".env").write_text("OLLAMA_HOST=ollama.cluster.example:11434\n")
    (project / "tests" / "conftest.py").write_text(
        "import pytest\nfrom dotenv import load_dotenv\n\n\n"
        "@pytest.fixture(scope='session', autouse=True)\ndef configuration():\n"
        "    load_dotenv('tests/.env', override=True)\n")
    (project / "tests" / "test_first.py").write_text(
        "import os\n\n\ndef test_the_first_test_sees_the_dev_ollama():\n"
        "    host = os.environ['OLLAMA_HOST']\n"
        "    assert host.startswith('127.0.0.1:'), host\n")
    result = streamwhisk("test", "--project", str(project), "--dev-ollama", "always",
                         "--services", "none", "-p", "no:cacheprovider", "tests/test_first.py",
                         env=logged_in)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_nuvolaris_era_tests_find_nuv_and_the_nuvdev_names(logged_in: dict[str, str],
                                                           tmp_path: Path) -> None:
    project = copy_project("course_project", tmp_path)
    (project / "tests" / "conftest.py").write_text(
        "import os, subprocess\n"
        "dump = subprocess.run(['nuv', '-config', '-dump'], capture_output=True, text=True,\n"
        "                      check=True)\n"
        "for line in dump.stdout.splitlines():\n"
        "    key, _, value = line.partition('=')\n"
        "    os.environ[key] = value\n")
    (project / "tests" / "test_nuv.py").write_text(
        "import json, os, urllib.request\n\n\ndef test_echo_at_nuvdev_host():\n"
        "    url = (os.environ['NUVDEV_HOST'] + '/api/v1/web/' + os.environ['NUVDEV_USERNAME']\n"
        "           + '/chat/echo?input=hi')\n"
        "    with urllib.request.urlopen(url) as answer:\n"
        "        assert json.load(answer)['output'] == 'you said: hi'\n")
    result = streamwhisk("test", "--project", str(project), "-p", "no:cacheprovider",
                         "tests/test_nuv.py", env=logged_in)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    log = next(line for line in result.stderr.splitlines() if "kept after the run" in line)
    assert Path(log.rsplit(" in ", 1)[1]).is_file()  # the server's log, still there
