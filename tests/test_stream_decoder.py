"""The relay's framing: JSON objects glued, newline-separated or split anywhere."""

from __future__ import annotations

import json

import pytest

from streamwhisk.stream import MessageDecoder

MESSAGES = [{"output": "Rome "}, {"output": "è 😀 {\"x\"} \\"}, {"thinking": "hmm"},
            {"state": {"model": "llama3.1:8b"}}, {"output": "\n"}]


def encoded(separator: bytes) -> bytes:
    return separator.join(json.dumps(m, ensure_ascii=False).encode() for m in MESSAGES)


def decode_in_pieces(data: bytes, cuts: list[int], limit: int = 1024 * 1024) -> list[dict]:
    decoder = MessageDecoder(limit)
    out, start = [], 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[start:cut])
        start = cut
    return out + decoder.close()


@pytest.mark.parametrize("separator", [b"", b"\n", b"\r\n", b"  \n\t"])
def test_glued_or_separated_objects_come_out_whole(separator: bytes) -> None:
    assert decode_in_pieces(encoded(separator), []) == MESSAGES


@pytest.mark.parametrize("separator", [b"", b"\n"])
def test_every_split_point_including_inside_utf8_characters_rejoins(separator: bytes) -> None:
    data = encoded(separator)
    assert any(byte >= 0x80 for byte in data)
    for cut in range(1, len(data)):
        assert decode_in_pieces(data, [cut]) == MESSAGES, cut


def test_byte_by_byte_delivery_rejoins() -> None:
    data = encoded(b"")
    assert decode_in_pieces(data, list(range(1, len(data)))) == MESSAGES


def test_garbage_is_an_error_message_and_the_next_object_still_arrives() -> None:
    out = decode_in_pieces(b'hello{"output": "a"}[1, 2]\n{"output": "b"}', [3])
    assert [m.get("output") for m in out] == [None, "a", None, "b"]
    assert "not a JSON object: 'hel'" in out[0]["error"]  # one error for the whole run


def test_invalid_json_inside_braces_is_an_error_and_decoding_goes_on() -> None:
    out = decode_in_pieces(b'{"output": nope}{"output": "ok"}', [5])
    assert "invalid JSON" in out[0]["error"] and out[1] == {"output": "ok"}


@pytest.mark.parametrize("cuts", [[], [50], list(range(10, 400, 10))])
def test_a_message_over_the_limit_is_dropped_with_an_error_and_the_next_arrives(
    cuts: list[int],
) -> None:
    data = b'{"output": "' + b"x" * 300 + b'\\" still inside"}{"output": "next"}'
    out = decode_in_pieces(data, cuts, limit=100)
    assert "over 100 bytes" in out[0]["error"]
    assert out[1:] == [{"output": "next"}]


def test_a_stream_that_ends_inside_a_message_says_so() -> None:
    out = decode_in_pieces(b'{"output": "a"}{"output": "cut', [])
    assert out[0] == {"output": "a"} and "ended inside a message" in out[1]["error"]


def test_an_action_cannot_fake_the_end_of_the_stream() -> None:
    out = decode_in_pieces(b'{"done": true, "result": {}}', [])
    assert "reserved key 'done'" in out[0]["error"]
