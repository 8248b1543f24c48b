"""The S3 store and Postgres: real servers, their data kept across restarts."""

from __future__ import annotations

from pathlib import Path

import httpx
from conftest import copy_project

from streamwhisk.testing import serve, wait_until


def test_the_s3_store_is_a_real_s3_with_the_data_bucket_and_keeps_its_files(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None, "S3_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "s3", log_path=tmp_path / "first.log", env=env) as first:
        assert wait_until(lambda: "service s3 ready in" in first.log(), timeout=60), first.log()
        put = httpx.get(first.url + "/api/my/files/store",
                        params={"put": "notes/hello.txt", "text": "hi", "get": "notes/hello.txt"},
                        timeout=60)
        assert put.status_code == 200, put.text
        body = put.json()
        assert body["bucket"] == "guest-data"
        assert body["listed"] == ["notes/hello.txt"] and body["got"] == "hi"
        assert httpx.get(body["url"], timeout=30).text == "hi"  # a presigned URL works
        secret = next((tmp_path / "data" / "services").rglob("s3/.secret")).read_text().strip()
        assert secret not in first.log()
    with serve(project, "--services", "s3", log_path=tmp_path / "again.log", env=env) as again:
        assert wait_until(lambda: "service s3 ready in" in again.log(), timeout=60), again.log()
        kept = httpx.get(again.url + "/api/my/files/store", params={"get": "notes/hello.txt"},
                         timeout=60).json()
        assert kept["got"] == "hi"  # kept across restarts


def test_postgres_serves_the_namespaces_database_and_keeps_its_rows(tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"POSTGRES_URL": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "postgres", log_path=tmp_path / "first.log",
               env=env) as first:
        assert wait_until(lambda: "service postgres ready in" in first.log(), timeout=60), \
            first.log()
        added = httpx.get(first.url + "/api/my/db/notes", params={"add": "first note"},
                          timeout=60)
        assert added.status_code == 200, added.text
        assert added.json() == {"notes": ["first note"], "database": "guest"}
        secret = next((tmp_path / "data" / "services").rglob("postgres/.secret")).read_text()
        assert secret.strip() not in first.log()
    with serve(project, "--services", "postgres", log_path=tmp_path / "again.log",
               env=env) as again:
        assert wait_until(lambda: "service postgres ready in" in again.log(), timeout=60)
        kept = httpx.get(again.url + "/api/my/db/notes", timeout=60).json()
        assert kept["notes"] == ["first note"]  # kept across restarts


def test_a_damaged_data_folder_is_one_line_naming_the_reset_and_the_rest_serves(
        tmp_path: Path) -> None:
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"POSTGRES_URL": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "postgres", log_path=tmp_path / "first.log",
               env=env) as first:
        assert wait_until(lambda: "service postgres ready in" in first.log(), timeout=60)
    control = next((tmp_path / "data").rglob("pgdata/global/pg_control"))
    control.write_bytes(b"damaged")
    with serve(project, "--services", "postgres", log_path=tmp_path / "again.log",
               env=env) as again:
        assert wait_until(lambda: "service postgres did not start" in again.log(), timeout=60)
        assert "`streamwhisk services reset postgres` empties it" in again.log()
        assert httpx.get(again.url + "/api/my/cache/plain", timeout=30).text == \
            "needs no service"
