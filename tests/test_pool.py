"""Warm workers: reuse, concurrency, growth to a maximum, a bounded queue, reload on edit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from streamwhisk.testing import RunningServer, serve, wait_until


def _parallel(url: str, paths: list[str]) -> list[httpx.Response]:
    def get(path: str) -> httpx.Response:
        return httpx.get(url + path, timeout=30)

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(get, paths))


def test_a_warm_worker_is_reused_across_activations(client: httpx.Client) -> None:
    pids = {client.get("/api/my/t/echo").json()["pid"] for _ in range(5)}
    assert len(pids) == 1


def test_concurrency_lets_one_worker_run_several_activations_at_once(
    server: RunningServer,
) -> None:
    httpx.get(server.url + "/api/my/t/together?seconds=0", timeout=30)  # warm one worker
    bodies = [r.json() for r in _parallel(server.url, ["/api/my/t/together?seconds=1"] * 4)]
    assert len({b["pid"] for b in bodies}) == 1
    # an idle thread would be reused: four threads means four activations at once
    assert len({b["thread"] for b in bodies}) == 4


def test_a_burst_that_fits_starting_workers_waits_for_them_instead_of_503(
    small_server: RunningServer,
) -> None:
    # two workers of concurrency 4 take 8 at once, though the queue holds only 1
    responses = _parallel(small_server.url, ["/api/my/t/burst?seconds=1"] * 8)
    assert [r.status_code for r in responses] == [200] * 8
    assert len({r.json()["pid"] for r in responses}) == 2


def test_pool_grows_to_its_maximum_under_load(small_server: RunningServer) -> None:
    responses = _parallel(small_server.url, ["/api/my/t/slow?seconds=1"] * 2)
    assert [r.status_code for r in responses] == [200, 200]
    assert len({r.json()["pid"] for r in responses}) == 2


def test_requests_beyond_the_queue_get_503_with_retry_after(
    small_server: RunningServer,
) -> None:
    responses = _parallel(small_server.url, ["/api/my/t/slow?seconds=1.5"] * 5)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 503, 503]  # two running, one queued, two refused
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.headers["retry-after"] == "1"
    assert "retry" in refused.json()["error"]


def test_an_edited_action_is_picked_up_without_restarting(small_server: RunningServer) -> None:
    project = Path(small_server.log_path).parent
    action = project / "packages" / "t" / "edited.py"
    # same size, same second: neither mtime nor a .pyc may hide the edit
    for body in ("first", "again", "third"):
        action.write_text(f"#--web true\ndef main(args):\n    return {{'body': '{body}'}}\n")
        assert httpx.get(small_server.url + "/api/my/t/edited").text == body


def test_an_edited_sibling_module_of_a_multi_file_action_is_picked_up(
    small_server: RunningServer,
) -> None:
    helper = Path(small_server.log_path).parent / "packages" / "t" / "multi" / "helper.py"
    original = helper.read_text()
    try:
        helper.write_text(original.replace('"!"', '"?"'))
        assert httpx.get(small_server.url + "/api/my/t/multi").json() == {"output": "HELLO?"}
    finally:
        helper.write_text(original)


def test_an_edited_env_file_changes_the_params(small_server: RunningServer) -> None:
    project = Path(small_server.log_path).parent
    env = project / ".env"
    original = env.read_text()
    try:
        env.write_text(original.replace("GREETING=hello", "GREETING=changed"))
        body = httpx.get(small_server.url + "/api/my/t/multi").json()
        assert body == {"output": "CHANGED!"}
    finally:
        env.write_text(original)


def test_multi_file_action_imports_its_sibling_modules(client: httpx.Client) -> None:
    assert client.get("/api/my/t/multi").json() == {"output": "HELLO!"}


def test_idle_workers_are_live_processes_of_the_server(small_server: RunningServer) -> None:
    httpx.get(small_server.url + "/api/my/t/echo", timeout=30)
    workers = small_server.workers()
    assert workers
    assert all(Path(f"/proc/{pid}").exists() for pid in workers)



def test_a_second_long_activation_gets_a_worker_of_its_own_soon(
        runtime_project: Path, tmp_path: Path) -> None:
    """A pool that has only seen short activations still grows for long ones: what the
    running activation has taken so far soon makes a new worker worth its start (a chat's
    second user does not wait for the first one's whole reply)."""
    with serve(runtime_project, "--max-workers", "2", log_path=tmp_path / "log") as two:
        for _ in range(20):  # the pool learns that t/slow is short
            httpx.get(two.url + "/api/my/t/slow?seconds=0", timeout=30)
        started = time.monotonic()
        responses = _parallel(two.url, ["/api/my/t/slow?seconds=2"] * 2)
        assert len({r.json()["pid"] for r in responses}) == 2
        assert time.monotonic() - started < 3.5  # side by side, not one after the other


def test_requests_waiting_for_a_worker_run_in_the_order_they_came(
        runtime_project: Path, tmp_path: Path) -> None:
    """One worker, held by a first request; five more arrive one by one and wait in line.
    When the worker is free they run first come, first served."""
    log, gate = tmp_path / "ran", tmp_path / "gate"
    with serve(runtime_project, "--max-workers", "1", log_path=tmp_path / "server.log") as one:
        def run(n: int, **extra: str) -> int:
            params = {"n": str(n), "log": str(log), **extra}
            return httpx.get(f"{one.url}/api/my/t/inline", params=params,
                             timeout=60).status_code

        with ThreadPoolExecutor(6) as threads:
            holder = threads.submit(run, 0, gate=str(gate))
            assert wait_until(lambda: log.exists() and log.read_text() == "0\n", timeout=30)
            waiting = []
            for n in range(1, 6):
                waiting.append(threads.submit(run, n))
                time.sleep(0.3)  # each one in line before the next is sent
            gate.touch()
            assert [f.result() for f in [holder, *waiting]] == [200] * 6
    assert log.read_text().split() == ["0", "1", "2", "3", "4", "5"]
