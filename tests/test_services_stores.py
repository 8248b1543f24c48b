"""The S3 store and Postgres: real servers, their data kept across restarts."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from minio import Minio
from support import copy_project

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


def test_presigned_urls_through_the_s3_name_work_for_any_key(tmp_path: Path) -> None:
    """The s3.<host> relay forwards the path byte for byte: a signature covers its exact
    encoding."""
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"REDIS_URL": None, "S3_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, "--services", "s3", log_path=tmp_path / "up.log", env=env) as up:
        assert wait_until(lambda: "service s3 ready in" in up.log(), timeout=60), up.log()
        store = up.log().split("service s3 at ", 1)[1].split(",", 1)[0]
        secret = next((tmp_path / "data" / "services").rglob("s3/.secret")).read_text().strip()
        access = access_key_of(secret)
        direct = Minio(store, access, secret, secure=False, region="us-east-1")
        port = urlsplit(up.url).port
        public = Minio(f"s3.localhost:{port}", access, secret, secure=False, region="us-east-1")
        for key in ("100%41.txt", "a+b.txt", "semi;colon.txt", "with space.txt",
                    "città/naïve.txt", "plain/file.txt"):
            direct.put_object("guest-data", key, io.BytesIO(key.encode()), len(key.encode()))
            url = urlsplit(public.presigned_get_object("guest-data", key))
            answer = httpx.get(f"{up.url}{url.path}?{url.query}", timeout=30,
                               headers={"Host": f"s3.localhost:{port}"})
            assert answer.status_code == 200, (key, answer.text)
            assert answer.content == key.encode()
        bad = raw_request(up.url, f"GET /guest-data/\x01x HTTP/1.1\r\nHost: s3.localhost:{port}"
                                  "\r\nConnection: close\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400"), bad[:200]
        nul = httpx.get(f"{up.url}/guest-data/a%00b", headers={"Host": f"s3.localhost:{port}"},
                        timeout=30)
        assert nul.status_code < 500, nul.text
        assert "Traceback" not in up.log()


def access_key_of(secret: str) -> str:
    from streamwhisk.services.base import Address
    from streamwhisk.services.s3 import access_key

    return access_key(Address("127.0.0.1", 0, Path("."), secret))


def raw_request(url: str, request: str) -> bytes:
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as sock:
        sock.sendall(request.encode("latin-1"))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


MINIO_ACTION = '''#--web true
#--param MINIO_HOST $MINIO_HOST
#--param MINIO_PORT $MINIO_PORT
#--param MINIO_ACCESS_KEY $MINIO_ACCESS_KEY
#--param MINIO_SECRET_KEY $MINIO_SECRET_KEY
#--param MINIO_BUCKET_DATA $MINIO_BUCKET_DATA
#--param MINIO_BUCKET_STATIC $MINIO_BUCKET_STATIC
import boto3


def main(args):
    s3 = boto3.client("s3", endpoint_url=f"http://{args['MINIO_HOST']}:{args['MINIO_PORT']}",
                      aws_access_key_id=args["MINIO_ACCESS_KEY"],
                      aws_secret_access_key=args["MINIO_SECRET_KEY"], region_name="us-east-1")
    s3.put_object(Bucket=args["MINIO_BUCKET_DATA"], Key="doc.txt", Body=b"chunk")
    got = s3.get_object(Bucket=args["MINIO_BUCKET_DATA"], Key="doc.txt")["Body"].read()
    return {"body": {"got": got.decode(), "static": args["MINIO_BUCKET_STATIC"]}}
'''


def test_the_operators_minio_names_start_the_store_and_reach_it(tmp_path: Path) -> None:
    """A RAG demo's storage action reads only MINIO_*: `auto` starts the S3 store for it."""
    project = tmp_path / "rag"
    (project / "packages" / "rag").mkdir(parents=True)
    (project / "packages" / "rag" / "store.py").write_text(MINIO_ACTION)
    env: dict[str, str | None] = {"S3_HOST": None, "MINIO_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    with serve(project, log_path=tmp_path / "log", env=env) as up:
        assert wait_until(lambda: "service s3 ready in" in up.log(), timeout=60), up.log()
        assert "the object store at http://s3.localhost:" in up.log()
        answer = httpx.get(up.url + "/api/my/rag/store", timeout=60)
        assert answer.json() == {"got": "chunk", "static": "guest-web"}, answer.text
