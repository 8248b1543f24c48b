"""OpenWhisk web-action semantics over real HTTP against `streamwhisk up`."""

from __future__ import annotations

import base64
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from streamwhisk.testing import RunningServer


def test_query_and_json_body_merge_into_args_with_ow_fields(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/web/guest/t/echo/extra/path?name=query&keep=1",
        json={"name": "body", "n": 2},
    )
    assert response.status_code == 200
    args = response.json()["args"]
    assert args["name"] == "body"  # body wins over query, as in OpenWhisk
    assert args["keep"] == "1" and args["n"] == 2
    assert args["__ow_method"] == "post"
    assert args["__ow_path"] == "/extra/path"
    assert args["__ow_headers"]["content-type"] == "application/json"
    assert args["GREETING"] == "hello"


def test_form_data_merges_into_args(client: httpx.Client) -> None:
    response = client.post("/api/my/t/echo", data={"name": "form"})
    assert response.json()["args"]["name"] == "form"


def test_non_json_body_arrives_as_ow_body(client: httpx.Client) -> None:
    response = client.post("/api/my/t/echo", content=b"plain words",
                           headers={"content-type": "text/plain"})
    assert response.json()["args"]["__ow_body"] == "plain words"


def test_malformed_json_body_is_a_400(client: httpx.Client) -> None:
    response = client.post("/api/my/t/echo", content=b"{nope",
                           headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "malformed" in response.json()["error"]


def test_ow_variables_reach_the_action_environment(client: httpx.Client) -> None:
    env = client.get("/api/my/t/echo").json()["env"]
    assert env["__OW_ACTION_NAME"] == "/guest/t/echo"
    assert len(env["__OW_ACTIVATION_ID"]) == 32
    assert env["__OW_NAMESPACE"] == "guest"
    assert int(env["__OW_DEADLINE"]) > 0
    assert env["__OW_API_HOST"].startswith("http://127.0.0.1:")


def test_json_extension_returns_the_whole_result(client: httpx.Client) -> None:
    response = client.get("/api/v1/web/_/t/echo.json?name=x")
    assert response.headers["content-type"] == "application/json"
    assert response.json()["body"]["args"]["name"] == "x"


def test_extensions_project_a_path_from_the_result(client: httpx.Client) -> None:
    result = {"text": "plain", "html": "<b>hi</b>", "nested": {"value": 7}}
    text = client.post("/api/my/t/shape.text", json={"result": result})
    assert (text.text, text.headers["content-type"]) == ("plain", "text/plain; charset=utf-8")
    html = client.post("/api/my/t/shape.html", json={"result": result})
    assert html.text == "<b>hi</b>" and html.headers["content-type"].startswith("text/html")
    projected = client.post("/api/my/t/shape.text/nested/value", json={"result": result})
    assert projected.text == "7"
    missing = client.post("/api/my/t/shape.json/absent", json={"result": result})
    assert missing.status_code == 404


def test_status_headers_and_body_shape_the_http_response(client: httpx.Client) -> None:
    shape = {"statusCode": 201, "headers": {"X-Custom": "yes"}, "body": {"made": True}}
    response = client.post("/api/my/t/shape", json={"result": shape})
    assert response.status_code == 201
    assert response.headers["x-custom"] == "yes"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"made": True}


def test_string_body_defaults_to_html(client: httpx.Client) -> None:
    response = client.post("/api/my/t/shape", json={"result": {"body": "<p>x</p>"}})
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<p>x</p>"


def test_no_body_is_204(client: httpx.Client) -> None:
    assert client.post("/api/my/t/shape", json={"result": {}}).status_code == 204


def test_binary_content_type_body_is_base64_decoded(client: httpx.Client) -> None:
    png = bytes(range(256))
    shape = {"headers": {"Content-Type": "image/png"}, "body": base64.b64encode(png).decode()}
    response = client.post("/api/my/t/shape", json={"result": shape})
    assert response.content == png


def test_application_error_is_a_400_with_the_error(client: httpx.Client) -> None:
    response = client.post("/api/my/t/shape", json={"result": {"error": "bad input"}})
    assert (response.status_code, response.json()) == (400, {"error": "bad input"})


def test_http_shaped_application_error_sets_its_own_status(client: httpx.Client) -> None:
    error = {"error": {"statusCode": 418, "body": "teapot"}}
    response = client.post("/api/my/t/shape", json={"result": error})
    assert (response.status_code, response.text) == (418, "teapot")


@pytest.mark.parametrize("path", [
    "/api/my/t/nope", "/api/v1/web/guest/t/nope", "/api/v1/web/other/t/echo",
    "/api/my/t/private", "/api/my/nopkg/echo",
])
def test_missing_or_non_web_actions_are_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "The requested resource does not exist."


def test_param_values_are_final_and_cannot_be_overridden(client: httpx.Client) -> None:
    for attempt in (
        client.get("/api/my/t/echo?GREETING=evil"),
        client.post("/api/my/t/echo", json={"GREETING": "evil"}),
        client.post("/api/my/t/echo", json={"__ow_method": "forged"}),
    ):
        assert attempt.status_code == 400
        assert "not allowed" in attempt.json()["error"]


def test_body_over_the_limit_is_refused_with_413(client: httpx.Client) -> None:
    response = client.post("/api/my/t/echo", content=b"x" * (1024 * 1024 + 1),
                           headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert client.get("/api/my/t/echo").status_code == 200


def _raw_get(server: RunningServer, target: str) -> tuple[int, bytes]:
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


@pytest.mark.parametrize("target", [
    "/api/my/%2e%2e/t/echo", "/api/my/t/%2e%2e", "/api/v1/web/guest/..%2f..%2fetc/passwd",
    "/api/my/t/..%2F..%2Fsecret",
])
def test_names_that_leave_packages_are_refused(server: RunningServer, target: str) -> None:
    status, data = _raw_get(server, target)
    assert status in (400, 404), data
    assert b"root:" not in data
