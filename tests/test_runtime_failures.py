"""Every way an action can fail gets a clear OpenWhisk-style error, and the next call works."""

from __future__ import annotations

import contextlib
import time

import httpx
import pytest

from streamwhisk.testing import RunningServer, wait_until

SECRET = "tok-very-secret-123"


def test_raising_action_is_a_502_with_the_error_and_the_worker_survives(
    client: httpx.Client,
) -> None:
    response = client.get("/api/my/t/boom")
    assert response.status_code == 502
    error = response.json()["error"]
    assert error.startswith("An error has occurred: ValueError: upstream refused token")
    assert len(response.json()["code"]) == 32  # the activation id, as OpenWhisk reports it
    assert client.get("/api/my/t/boom").status_code == 502


def test_secrets_never_reach_errors_or_logs(client: httpx.Client, server: RunningServer) -> None:
    response = client.get("/api/my/t/boom")
    assert SECRET not in response.text
    assert "********" in response.json()["error"]
    # the worker's stdout is logged as it comes
    assert wait_until(lambda: "using token ********" in server.log()
                      and "Traceback" in server.log())
    log = server.log()
    assert "using token ********" in log
    assert "Traceback" in log
    assert SECRET not in log


def test_process_exit_is_a_502_and_a_fresh_worker_takes_over(client: httpx.Client) -> None:
    before = client.get("/api/my/t/exits").json()["pid"]
    crashed = client.get("/api/my/t/exits?exit=1")
    assert crashed.status_code == 502
    assert "exited unexpectedly" in crashed.json()["error"]
    after = client.get("/api/my/t/exits")
    assert after.status_code == 200
    assert after.json()["pid"] != before


def test_non_dict_result_is_a_502(client: httpx.Client) -> None:
    response = client.get("/api/my/t/nondict")
    assert response.status_code == 502
    assert response.json()["error"] == (
        "The action did not return a dictionary (it returned str)."
    )


def test_hung_action_times_out_with_its_limit_and_the_next_call_works(
    client: httpx.Client,
) -> None:
    started = time.monotonic()
    response = client.get("/api/my/t/hang?hang=1")
    assert response.status_code == 502
    assert response.json()["error"] == (
        "The action exceeded its time limits of 1000 milliseconds."
    )
    assert time.monotonic() - started < 10
    assert client.get("/api/my/t/hang").status_code == 200


@pytest.mark.parametrize("action", ["memhog", "memcreep"])
def test_memory_limit_stops_an_action_whose_resident_memory_passes_it(
        client: httpx.Client, action: str) -> None:
    """At once (one 512 MB block, returned at once) or over time (16 MB a step, never
    returning by itself), as a container's memory limit would."""
    response = client.get(f"/api/my/t/{action}")
    assert response.status_code == 502
    assert response.json()["error"] == (
        "The action ran out of memory: its resident memory passed its limit of 128 MB "
        "(#--memory).")
    assert client.get("/api/my/t/echo").status_code == 200


def test_code_that_fails_to_load_is_reported(client: httpx.Client) -> None:
    response = client.get("/api/my/t/broken")
    assert response.status_code == 502
    assert "failed to load: SyntaxError" in response.json()["error"]


def test_an_unset_variable_in_a_param_is_an_empty_string_with_a_warning_in_the_log(
    client: httpx.Client, server: RunningServer,
) -> None:
    """As `ops ide deploy` expands it; the activation's log line names the variable."""
    response = client.get("/api/my/t/unset")
    assert response.status_code == 200, response.text
    assert response.json() == {"API_KEY": ""}
    assert wait_until(lambda: "t/unset" in server.log() and
                      "$NOT_SET_ANYWHERE unset in every layer: passed as an empty string"
                      in server.log())


def test_a_required_variable_unset_is_an_error_naming_it_and_the_file(
    client: httpx.Client,
) -> None:
    response = client.get("/api/my/t/required")
    assert response.status_code == 500
    error = response.json()["error"]
    assert "packages/t/required.py requires $NOT_SET_ANYWHERE (the upstream key)" in error


@pytest.mark.parametrize("garbage", [
    b"\x00\xff\xfe garbage\r\n\r\n", b"GET /api/my/t/echo HTTP/1.1\r\nHost: x\r\n"
    b"Content-Length: 99999999999999999999\r\n\r\n", b"POST / HTTP/9.9\r\n\r\n",
])
def test_garbage_on_the_socket_does_not_stop_the_server(
    server: RunningServer, client: httpx.Client, garbage: bytes
) -> None:
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(garbage)
        sock.settimeout(2)
        with contextlib.suppress(TimeoutError):
            sock.recv(1024)
    assert client.get("/api/my/t/echo").status_code == 200


@pytest.mark.parametrize(("action", "library"), [
    ("t/loadslib", "streamwhisk_no_such_library_at_load"),
    ("t/needslib", "streamwhisk_no_such_library_late"),
])
def test_a_missing_library_is_named_with_how_to_add_it(client: httpx.Client, action: str,
                                                        library: str) -> None:
    response = client.get(f"/api/my/{action}")
    assert response.status_code == 502
    error = response.json()["error"]
    assert f"has no `{library}`: if it is a library, add a line `{library}` to a " \
           "requirements.txt in the action's folder" in error
