"""`#--` annotations read as `wsk action update` reads its flags."""

from __future__ import annotations

import pytest

from streamwhisk.annotations import parse_annotations
from streamwhisk.errors import ConfigError

SOURCE = """\
#--web true
# --param OLLAMA_HOST $OLLAMA_HOST
#--param LIMIT 5
#--kind python:default
#--timeout 300000
#--memory 512
#--concurrency 4
#--main handler
#--annotation index '80:Chat:Stateless'
#-a provide-api-key true
-a ignored because it is not a comment
x = "#--param NOT an annotation"
"""


def test_every_documented_form_is_read() -> None:
    notes = parse_annotations(SOURCE, "a.py")
    assert notes.web and not notes.raw_http
    assert notes.params == (("OLLAMA_HOST", "$OLLAMA_HOST"), ("LIMIT", "5"))
    assert (notes.kind, notes.main) == ("python:default", "handler")
    assert (notes.timeout_ms, notes.memory_mb, notes.concurrency) == (300000, 512, 4)
    assert notes.annotations["index"] == "80:Chat:Stateless"
    assert notes.annotations["provide-api-key"] is True
    assert notes.annotations["final"] is True


def test_web_raw_and_false() -> None:
    assert parse_annotations("#--web raw", "a.py").raw_http
    assert not parse_annotations("#--web false", "a.py").web


@pytest.mark.parametrize(("line", "message"), [
    ("#--timeout soon", "positive whole number"),
    ("#--param ONLY_KEY", "takes 2 value(s)"),
    ("#--web maybe", "--web takes"),
    ("#--annotation k 'unclosed", "cannot read"),
])
def test_malformed_annotations_name_the_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_annotations(f"\n{line}\n", "packages/x/y.py")
    assert "packages/x/y.py:2" in str(raised.value)
    assert message in str(raised.value)
