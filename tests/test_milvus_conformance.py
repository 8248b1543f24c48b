"""Milvus answers as a Milvus server does, to every call the course and the projects make with
the cluster's pymilvus 2.5.3 (the result shapes of Milvus's documentation: `insert` gives
`insert_count` and `ids`, `delete` a `delete_count`, `get_collection_stats` a `row_count`,
`search` a list of hits with `id`, `distance` and `entity` per query, `query` and `get` rows)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import copy_project

from streamwhisk.testing import serve, wait_until


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("conformance")
    project = copy_project("services_project", root)
    env: dict[str, str | None] = {"MILVUS_HOST": None, "STREAMWHISK_DATA_DIR": str(root / "d")}
    with serve(project, "--services", "milvus", log_path=root / "up.log", env=env) as up:
        assert wait_until(lambda: "service milvus ready in" in up.log(), timeout=60), up.log()
        answer = httpx.get(up.url + "/api/my/vector/calls", timeout=120)
        assert answer.status_code == 200, answer.text
        yield answer.json()


def test_a_quick_collection_is_described_as_milvus_makes_it(answers: dict[str, Any]) -> None:
    described = answers["quick_described"]
    assert described["collection_name"] == "quick"
    assert [f["name"] for f in described["fields"]] == ["id", "vector"]
    assert described["enable_dynamic_field"] is True  # "text" went in as a dynamic field


def test_writes_answer_counts_and_ids(answers: dict[str, Any]) -> None:
    # pymilvus keeps a server's `cost` (0 outside Zilliz Cloud); its printing omits a zero
    assert answers["insert"] == {"insert_count": 6, "ids": [0, 1, 2, 3, 4, 5], "cost": 0}
    assert answers["upsert"] == {"upsert_count": 1, "cost": 0}
    assert answers["delete_ids"] == {"delete_count": 2, "cost": 0}  # not the list of keys
    assert answers["delete_filter"] == {"delete_count": 2, "cost": 0}
    assert answers["stats"] == {"row_count": 2}
    assert answers["left"] == [4, 5]


def test_reads_answer_hits_and_rows(answers: dict[str, Any]) -> None:
    hits = answers["search"]
    assert len(hits) == 1 and len(hits[0]) == 2
    assert hits[0][0]["id"] == 1 and set(hits[0][0]) == {"id", "distance", "entity"}
    assert hits[0][0]["entity"] == {"text": "note 1"}
    assert all(hit["id"] < 4 for hit in hits[0])  # the filter
    assert len(answers["query_like"]) == 3
    assert all(set(row) == {"id", "text"} for row in answers["query_like"])
    assert answers["get"] == [{"id": 5, "text": "note five"}]  # as upserted


def test_a_schema_collection_takes_each_index_and_metric(answers: dict[str, Any]) -> None:
    assert answers["indexed"] == {"AUTOINDEX": "IP", "IVF_FLAT": "L2", "HNSW": "COSINE"}
    assert answers["schema_insert"] == {"insert_count": 1, "ids": [7], "cost": 0}
    assert answers["schema_search"][0][0]["entity"] == {"title": "seven"}
    assert answers["listed"] == ["quick", "schema"]
    assert isinstance(answers["wrong_dimension"], int) and answers["wrong_dimension"] != 0
    assert answers["has_after_drop"] is False


def test_the_answers_are_the_same_after_a_restart(tmp_path: Path) -> None:
    """Data kept across restarts, and across `kill -9` of `up` (its keeper stops Milvus)."""
    project = copy_project("services_project", tmp_path)
    env: dict[str, str | None] = {"MILVUS_HOST": None, "STREAMWHISK_DATA_DIR": str(tmp_path / "d")}
    with serve(project, "--services", "milvus", log_path=tmp_path / "1.log", env=env) as up:
        assert wait_until(lambda: "service milvus ready in" in up.log(), timeout=60)
        assert httpx.get(up.url + "/api/my/vector/calls", timeout=120).status_code == 200
        up.process.kill()
        up.process.wait()
    with serve(project, "--services", "milvus", log_path=tmp_path / "2.log", env=env) as again:
        assert wait_until(lambda: "service milvus ready in" in again.log(), timeout=60), \
            again.log()
        kept = httpx.post(again.url + "/api/my/vector/search", json={"search": "x"},
                          timeout=120)
        assert kept.status_code in (200, 502)  # reaches Milvus (the docs collection may be new)
        rows = httpx.get(again.url + "/api/my/vector/calls", timeout=120).json()
        assert rows["stats"] == {"row_count": 2}
