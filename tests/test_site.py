"""The project's web/ site at `/`, as the cluster's static server serves it."""

from __future__ import annotations

from pathlib import Path

import httpx

from streamwhisk.testing import serve

APP = "<!doctype html><title>Our app</title><script src='app.js'></script>"


def site_project(root: Path, index: bool) -> Path:
    (root / "packages" / "p").mkdir(parents=True)
    (root / "packages" / "p" / "a.py").write_text("#--web true\ndef main(args):\n    return {}\n")
    (root / "web").mkdir()
    (root / "web" / "app.js").write_text("console.log('app')\n")
    (root / "web" / ".env").write_text("SECRET=1\n")
    if index:
        (root / "web" / "index.html").write_text(APP)
    return root


def test_a_client_side_route_gets_the_sites_index_as_the_clusters_spa_rule(
        tmp_path: Path) -> None:
    project = site_project(tmp_path / "spa", index=True)
    with serve(project, log_path=tmp_path / "log") as up:
        for route in ("/display", "/chat/room/1"):
            answer = httpx.get(up.url + route, timeout=30)
            assert (answer.status_code, answer.text) == (200, APP), route
        assert httpx.get(up.url + "/app.js", timeout=30).text == "console.log('app')\n"
        for missing in ("/missing.js", "/img/logo.png", "/.env", "/.env/x"):
            assert httpx.get(up.url + missing, timeout=30).status_code == 404, missing


def test_a_site_without_an_index_shows_the_chat_page_at_root(tmp_path: Path) -> None:
    project = site_project(tmp_path / "noindex", index=False)
    with serve(project, log_path=tmp_path / "log") as up:
        root = httpx.get(up.url + "/", timeout=30)
        assert root.status_code == 200 and "<title>streamwhisk" in root.text
        assert "Content-Security-Policy" in root.headers
        assert httpx.get(up.url + "/app.js", timeout=30).status_code == 200
        assert httpx.get(up.url + "/display", timeout=30).status_code == 404
        (project / "web" / "index.html").write_text(APP)  # picked up at the next load
        assert httpx.get(up.url + "/", timeout=30).text == APP
