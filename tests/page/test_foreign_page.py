"""A page of another origin, in a real Chromium, against the services of a running `up`: it
reads nothing from the store, and what it can send without reading (an image, a no-cors
fetch: the old way to empty a bucket through SeaweedFS's master) changes nothing."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from streamwhisk.testing import RunningServer, serve, wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def foreign_origin() -> Iterator[str]:
    """A page server on another port: another origin, as any web page is."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>a page of someone else</body></html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def store_up(tmp_path: Path) -> Iterator[RunningServer]:
    import shutil

    project = tmp_path / "services_project"
    shutil.copytree(FIXTURES / "services_project", project)
    with serve(project, "--services", "s3", log_path=tmp_path / "up.log",
               env={"STREAMWHISK_DATA_DIR": str(tmp_path / "data"), "S3_HOST": None}) as up:
        assert wait_until(lambda: "service s3 ready in" in up.log(), timeout=90), up.log()
        yield up


def test_a_foreign_page_reads_writes_and_deletes_nothing_in_the_store(
        browser: Browser, store_up: RunningServer, foreign_origin: str) -> None:
    stored = httpx.get(f"{store_up.url}/api/my/files/store",
                       params={"put": "private.txt", "text": "mine"}, timeout=60)
    assert stored.status_code == 200, stored.text
    store = "http://" + store_up.log().split("service s3 at ", 1)[1].split(",", 1)[0]
    folder = Path(store_up.log().split("service s3 at ", 1)[1].split(", data in ", 1)[1]
                  .split(": starting", 1)[0])
    master = json.loads((folder / ".inner-ports.json").read_text())["master"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(foreign_origin + "/")
    read = page.evaluate("""async (urls) => {
        const seen = [];
        for (const url of urls) {
            try { const r = await fetch(url); seen.push('read ' + r.status); }
            catch (e) { seen.push('blocked'); }
        }
        return seen;
    }""", [f"{store}/guest-data/private.txt", f"{store}/guest-data",
           f"{store_up.url}/api/my/files/store?get=private.txt"])
    assert read == ["blocked", "blocked", "blocked"], read
    # each request is awaited to its end (an image's load or error), so what is checked
    # next comes after every one of them was answered, or refused
    page.evaluate("""async (urls) => {
        for (const url of urls) {
            await new Promise((done) => {
                const image = new Image();
                image.onload = image.onerror = done;
                image.src = url;
            });
            try { await fetch(url, {mode: 'no-cors', method: 'POST'}); } catch (e) {}
            try { await fetch(url, {mode: 'no-cors'}); } catch (e) {}
        }
    }""", [f"http://127.0.0.1:{master}/col/delete?collection=guest-data",
           f"{store}/guest-data/private.txt?delete", f"{store}/guest-data?delete"])
    context.close()
    kept = httpx.get(f"{store_up.url}/api/my/files/store", params={"get": "private.txt"},
                     timeout=60).json()
    assert kept["got"] == "mine" and "private.txt" in kept["listed"]
