"""Milvus, as the course's vector lesson uses it with the cluster's own client."""

from __future__ import annotations

from pathlib import Path

import httpx
from support import copy_project

from streamwhisk.testing import serve, wait_until


def test_milvus_takes_the_clusters_client_and_finds_what_was_added(tmp_path: Path) -> None:
    """The course's vector lesson: a 1024-dimensional collection made by pymilvus 2.5.3,
    filled with the dev Ollama's mxbai-embed-large vectors, searched; kept across restarts."""
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"MILVUS_HOST": None,
                                  "STREAMWHISK_DATA_DIR": str(tmp_path / "data")}
    texts = ["Rome is the capital of Italy", "Sushi comes from Japan",
             "Paris is the capital of France"]
    with serve(project, "--services", "milvus", log_path=tmp_path / "first.log",
               env=env) as first:
        assert wait_until(lambda: "service milvus ready in" in first.log(), timeout=60), \
            first.log()
        added = httpx.post(first.url + "/api/my/vector/search",
                           json={"add": texts, "search": "what is the capital of Italy"},
                           timeout=120)
        assert added.status_code == 200, added.text
        assert added.json()["found"] == "Rome is the capital of Italy"
    with serve(project, "--services", "milvus", log_path=tmp_path / "again.log",
               env=env) as again:
        assert wait_until(lambda: "service milvus ready in" in again.log(), timeout=60)
        kept = httpx.post(again.url + "/api/my/vector/search",
                          json={"search": "Japan food sushi"}, timeout=120).json()
        assert kept["found"] == "Sushi comes from Japan"  # kept across restarts
