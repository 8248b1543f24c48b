"""`deploy` uploads the project's web/ to the static bucket as `ops ide deploy` does, and
`undeploy` removes what it uploaded: against a real `streamwhisk up` (the OpenWhisk API) and
its real S3 store (SeaweedFS), read back with the MinIO client."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from minio import Minio

from streamwhisk.testing import RunningServer, serve, wait_until

AUTH = "5b1c0de2-site-tests:k3y-for-the-site-tests-0077"
STORE = ("S3_HOST", "S3_PORT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET_STATIC",
         "S3_API_URL")


def streamwhisk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streamwhisk", *args], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, dict]]:
    """A `streamwhisk up` with its S3 store, and the store's values (S3_*)."""
    root = tmp_path_factory.mktemp("cluster")
    (root / "packages" / "x").mkdir(parents=True)
    (root / "packages" / "x" / "store.py").write_text(
        "#--param S3_HOST $S3_HOST\ndef main(args):\n    return {}\n")
    env = {"AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(root / "data"),
           "STREAMWHISK_LOGIN_FILE": str(root / "no-login.env"),
           **{name: None for name in STORE}}
    with serve(root, "--services", "s3", "--dev-ollama", "never", log_path=root / "log",
               env=env) as running:
        assert wait_until(lambda: "service s3 ready" in running.log(), timeout=60)
        shown = streamwhisk("services", "--show-secrets", "--project", str(root),
                            env={**os.environ, **{k: v for k, v in env.items() if v}})
        values = dict(line.strip().split("=", 1) for line in shown.stdout.splitlines()
                      if line.startswith("  S3_"))
        yield running, values


def bucket(values: dict[str, str]) -> tuple[Minio, str]:
    client = Minio(f"{values['S3_HOST']}:{values['S3_PORT']}", values["S3_ACCESS_KEY"],
                   values["S3_SECRET_KEY"], secure=False, region="us-east-1")
    return client, values["S3_BUCKET_STATIC"]


def project_with_site(root: Path, values: dict[str, str] | None) -> Path:
    (root / "packages" / "hello").mkdir(parents=True)
    (root / "packages" / "hello" / "hi.py").write_text(
        "#--web true\ndef main(args):\n    return {'body': 'hi'}\n")
    (root / "web" / "css").mkdir(parents=True)
    (root / "web" / "index.html").write_text("<h1>mine</h1>")
    (root / "web" / "css" / "site.css").write_text("h1 { color: red }")
    (root / "web" / "empty.txt").write_text("")  # `ops util upload` skips empty files
    (root / "web" / ".env").write_text("SITE_TOKEN=do-not-publish-me\n")  # private
    (root / "web" / ".git").mkdir()
    (root / "web" / ".git" / "config").write_text("[remote] url = secret-place\n")
    if values is not None:
        (root / ".env").write_text("".join(f"{k}={values[k]}\n" for k in (
            "S3_API_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET_STATIC")))
    return root


def user_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "AUTH": AUTH, "STREAMWHISK_DATA_DIR": str(tmp_path / "deployer"),
           "STREAMWHISK_LOGIN_FILE": str(tmp_path / "login.env")}
    for name in STORE:
        env.pop(name, None)
    return env


def test_deploy_uploads_web_and_undeploy_removes_only_what_it_uploaded(
        cluster: tuple[RunningServer, dict[str, str]], tmp_path: Path) -> None:
    server, values = cluster
    project = project_with_site(tmp_path / "project", values)
    client, name = bucket(values)
    client.put_object(name, "theirs.txt", io.BytesIO(b"x"), 1)
    env = user_env(tmp_path)

    plan = streamwhisk("deploy", "--dry-run", "--project", str(project), "--apihost",
                       server.url, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "would upload web/index.html" in plan.stdout
    assert "would upload web/css/site.css" in plan.stdout and "empty.txt" not in plan.stdout
    assert "skipped 2 private file(s) of web/ (dotfiles, dot-folders): .env, .git/config" in \
        plan.stdout
    assert "would upload web/.env" not in plan.stdout
    assert values["S3_SECRET_KEY"] not in plan.stdout + plan.stderr
    assert not any(o.object_name == "index.html" for o in client.list_objects(name))

    done = streamwhisk("deploy", "--project", str(project), "--apihost", server.url, env=env)
    assert done.returncode == 0, done.stderr
    assert "uploaded web/index.html" in done.stderr
    stored = {o.object_name for o in client.list_objects(name, recursive=True)}
    assert stored == {"index.html", "css/site.css", "theirs.txt"}
    index = client.get_object(name, "index.html")
    assert index.read() == b"<h1>mine</h1>" and index.headers["content-type"] == "text/html"

    gone = streamwhisk("undeploy", "--project", str(project), "--apihost", server.url, env=env)
    assert gone.returncode == 0, gone.stderr
    assert "removed web/css/site.css" in gone.stderr
    assert {o.object_name for o in client.list_objects(name, recursive=True)} == {"theirs.txt"}


def test_a_site_without_the_stores_values_is_one_failure_naming_them_and_the_actions_go(
        cluster: tuple[RunningServer, dict[str, str]], tmp_path: Path) -> None:
    server, _ = cluster
    project = project_with_site(tmp_path / "project", None)
    done = streamwhisk("deploy", "--project", str(project), "--apihost", server.url,
                       env=user_env(tmp_path))
    assert done.returncode == 1
    assert "created action hello/hi" in done.stderr
    assert "failed web/: web/ cannot be uploaded: S3_API_URL, S3_ACCESS_KEY, S3_SECRET_KEY, " \
           "S3_BUCKET_STATIC unset" in done.stderr


def test_devel_uploads_web_again_when_it_changes(
        cluster: tuple[RunningServer, dict[str, str]], tmp_path: Path) -> None:
    server, values = cluster
    project = project_with_site(tmp_path / "project", values)
    client, name = bucket(values)
    log = tmp_path / "devel.log"
    with log.open("w") as out:
        devel = subprocess.Popen([sys.executable, "-m", "streamwhisk", "devel", "--project",
                                  str(project), "--apihost", server.url], env=user_env(tmp_path),
                                 stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: "devel: watching" in log.read_text(), timeout=60), \
            log.read_text()
        (project / "web" / "index.html").write_text("<h1>edited</h1>")
        assert wait_until(lambda: client.get_object(name, "index.html").read()
                          == b"<h1>edited</h1>", timeout=30), log.read_text()
    finally:
        devel.terminate()
        devel.wait(timeout=30)


def test_dotfiles_of_web_are_never_served(tmp_path: Path) -> None:
    project = project_with_site(tmp_path / "project", None)
    with serve(project, "--services", "none", "--dev-ollama", "never",
               log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data")}) as up:
        assert httpx.get(f"{up.url}/index.html", timeout=30).text == "<h1>mine</h1>"
        assert httpx.get(f"{up.url}/", timeout=30).text == "<h1>mine</h1>"  # web/ itself
        for path in ("/.env", "/.git/config", "/.git/", "/css/../.env", "/%2eenv"):
            answer = httpx.get(f"{up.url}{path}", timeout=30)
            assert answer.status_code == 404, (path, answer.status_code)
            assert "do-not-publish-me" not in answer.text and "secret-place" not in answer.text
