"""OpenWhisk's published REST API schema (its apiv1swagger.json), as JSON-schema validators.

The file is OpenWhisk's, not ours, and is not copied into this repository: the tests read it
from OPENWHISK_API_SCHEMA, or from the folder `openwhisk/` beside the repository's parent
(where the build machine keeps it). Two changes make it strict enough to stand for a cluster:
`exec.kind` is not held to that release's list (a cluster accepts its own runtimes' kinds),
and an object may not carry a property the schema does not define.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

CANDIDATES = (Path(os.environ.get("OPENWHISK_API_SCHEMA", "/nonexistent")),
              Path(__file__).resolve().parents[2] / "shared" / "openwhisk" / "apiv1swagger.json")


@cache
def definitions() -> dict[str, Any]:
    for candidate in CANDIDATES:
        if candidate.is_file():
            swagger = json.loads(candidate.read_text())
            break
    else:
        pytest.skip("OpenWhisk's apiv1swagger.json is not on this machine (set "
                    "OPENWHISK_API_SCHEMA to its path)")
    found = copy.deepcopy(swagger["definitions"])
    found["ActionExec"]["properties"]["kind"].pop("enum")
    for definition in found.values():
        if "properties" in definition:
            definition["additionalProperties"] = False
    return dict(found)


def validate(value: Any, definition: str) -> None:
    """Raise jsonschema.ValidationError when `value` is not a valid `definition`."""
    schema = {"$ref": f"#/definitions/{definition}", "definitions": definitions()}
    jsonschema.Draft4Validator(schema).validate(value)
