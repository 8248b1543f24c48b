"""The one OpenWhisk client, sync and async, against a real `up`: what it answers, and every
failure translated once into our errors, with what to do and never the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support import run_async

from streamwhisk.errors import ClusterError, ServerUnreachable
from streamwhisk.openwhisk.client import LOCAL_UP, AsyncClient, Client
from streamwhisk.testing import RunningServer, serve

KEY = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:client-test-key-0123456789abcdef"

ACTIONS = {
    "echo.py": "#--web true\ndef main(args):\n    return {'body': args.get('name', 'nobody')}\n",
    "refuses.py": "def main(args):\n    return {'error': 'no ' + args.get('what', 'thing')}\n",
}
CODE = "def main(args):\n    return {'deployed': True, 'n': args.get('n')}\n"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    project = tmp_path_factory.mktemp("client")
    (project / "packages" / "t").mkdir(parents=True)
    for name, code in ACTIONS.items():
        (project / "packages" / "t" / name).write_text(code)
    with serve(project, "--api-key", KEY, log_path=project / "up.log") as running:
        yield running


def test_the_sync_client_deploys_lists_invokes_and_deletes(up: RunningServer) -> None:
    with Client(up.url, KEY) as client:
        assert client.namespace() == "guest"
        client.put("actions", "added", {"exec": {"kind": "python:default", "code": CODE}})
        assert "added" in [action["name"] for action in client.list("actions")]
        assert client.invoke("added", {"n": 3}) == {"deployed": True, "n": 3}
        activation = client.invoke("added", {"n": 4}, result=False)
        assert activation["response"]["result"] == {"deployed": True, "n": 4}
        assert client.delete("actions", "added") is True
        assert client.delete("actions", "added") is False
        assert client.get("actions", "added") is None


def test_an_actions_own_error_is_its_answer_not_a_failure(up: RunningServer) -> None:
    with Client(up.url, KEY) as client:
        assert client.invoke("t/refuses", {"what": "luck"}) == {"error": "no luck"}


def test_a_refused_key_says_what_to_do_and_never_shows_the_key(up: RunningServer) -> None:
    wrong = KEY.replace("client-test", "wrong-tests")
    with Client(up.url, wrong) as client, pytest.raises(ClusterError) as refused:
        client.list("actions")
    assert refused.value.status_code == 401
    assert "answered 401" in str(refused.value) and "streamwhisk login" in str(refused.value)
    assert wrong.split(":")[1] not in str(refused.value)


def test_a_local_up_that_does_not_answer_is_a_server_unreachable(free_port: int) -> None:
    with Client(f"http://127.0.0.1:{free_port}", "", peer=LOCAL_UP,
                require_key=False) as client, pytest.raises(ServerUnreachable) as gone:
        client.invoke("t/echo", {})
    assert f"no streamwhisk up answers at http://127.0.0.1:{free_port}" in str(gone.value)
    assert "start `streamwhisk up`" in str(gone.value)


def test_a_client_without_a_key_is_refused_before_any_request() -> None:
    with pytest.raises(ClusterError, match="AUTH must be UUID:KEY"):
        Client("http://127.0.0.1:9", "")


def test_the_async_client_invokes_and_reads_a_web_actions_answer(up: RunningServer) -> None:
    async def calls() -> tuple[object, object, object]:
        async with AsyncClient(up.url, KEY) as client:
            return (await client.web("guest/t/echo.json", {"name": "ada"}),
                    await client.invoke("t/refuses", {}),
                    await client.invoke("t/echo", {"name": "bob"}))

    web, refused, invoked = run_async(calls())
    assert isinstance(web, dict) and web["body"] == "ada"
    assert refused == {"error": "no thing"}
    assert invoked == {"body": "bob"}


def test_a_web_action_that_is_not_there_is_a_failure_naming_it(up: RunningServer) -> None:
    async def call() -> object:
        async with AsyncClient(up.url, "", require_key=False) as client:
            return await client.web("guest/t/nothere.json", {})

    with pytest.raises(ClusterError) as missing:
        run_async(call())
    assert missing.value.status_code == 404 and "guest/t/nothere.json" in str(missing.value)
