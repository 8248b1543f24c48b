"""The repo is itself an example project: every action in it must load as `make run` serves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamwhisk.project import Project, split_action_name

REPO = Path(__file__).resolve().parent.parent
ACTIONS = Project(REPO).action_names()


def test_the_example_project_has_the_lessons_actions() -> None:
    assert "chat/simple" in ACTIONS


@pytest.mark.parametrize("name", ACTIONS)
def test_every_example_action_loads_with_its_annotations(name: str, tmp_path: Path) -> None:
    project = Project(REPO, login=tmp_path / "no-login.env")
    spec = project.load(*split_action_name(name))
    assert spec.annotations.web, f"{name} is not a web action"
    assert "index" in spec.annotations.annotations or name.startswith("mastrogpt/")
