"""One client of OpenWhisk's REST API, sync (`Client`) and async (`AsyncClient`) over one base,
as httpx and ollama-python shape theirs: deploy, undeploy, devel and `action` talk to a
cluster or to the running `up` with it, `chat` and `loader` to the running `up`, the remote
streamer invokes a cluster's web actions with the async one.

Requests authenticate with `AUTH` (`uuid:key`) as HTTP basic credentials, in the namespace `_`
(the credentials' own). What the other side answers is translated in one place (`_answer`):
every failure is a `ClusterError` (a `ServerUnreachable` when the other side is a local `up`)
that says which artifact it concerns, what was answered and what to do; AUTH never appears
in one. An action's own error (OpenWhisk's 502 for a blocking result, a web action's 400) is
the action's answer, returned as its result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from ..basicauth import credentials
from ..errors import ClusterError, ServerUnreachable

Collection = Literal["packages", "actions"]
TIMEOUT_S = 120.0  # a zip of tens of MB on a slow link


@dataclass(frozen=True)
class Peer:
    """Who answers, in the words its errors use."""

    error: type[ClusterError]
    unreachable: str  # what is said when nothing answers: {artifact}, {apihost}, {exc}
    refused: str  # what to do when the key is refused


CLUSTER = Peer(ClusterError, "{artifact}: cannot reach {apihost}: {exc}. Check --apihost (or "
               "APIHOST) and that the cluster is up",
               "the cluster does not accept this AUTH; run `streamwhisk login` again")
LOCAL_UP = Peer(ServerUnreachable, "{artifact}: no streamwhisk up answers at {apihost} ({exc}): "
                "start `streamwhisk up` in the project, or pass --url",
                "pass --auth UUID:KEY (up says which key protects its REST API)")


def api_base(apihost: str) -> str:
    """`https://host` from `host`, `http(s)://host[:port]` as given; no trailing slash.

    >>> api_base("openserverless.example/")
    'https://openserverless.example'
    >>> api_base("http://127.0.0.1:8080")
    'http://127.0.0.1:8080'
    """
    apihost = apihost.strip().rstrip("/")
    if not apihost:
        raise ClusterError("no API host: pass --apihost URL, or run `streamwhisk login`")
    if "://" not in apihost:
        apihost = "https://" + apihost
    return apihost


@dataclass(frozen=True)
class Call:
    """One request, and the artifact its errors name."""

    method: str
    path: str  # under the API host
    artifact: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    action_answers: bool = False  # an action's own error is its answer, not a failure
    headers: dict[str, str] = field(default_factory=dict)


class BaseClient:
    """What both clients share: the address, the key, the calls and the answers' meaning."""

    def __init__(self, apihost: str, auth: str = "", *, peer: Peer = CLUSTER,
                 require_key: bool = True) -> None:
        self.apihost = api_base(apihost)
        self.peer = peer
        pair = credentials(auth) if auth else None
        if require_key and (pair is None or not all(pair)):
            raise ClusterError("AUTH must be UUID:KEY, as `streamwhisk login` stores it (set it "
                               "in the login config, .env or the environment)")
        self._auth = pair

    def _get(self, collection: Collection, name: str) -> Call:
        return Call("GET", f"/api/v1/namespaces/_/{collection}/{name}", name)

    def _put(self, collection: Collection, name: str, body: dict[str, Any],
             overwrite: bool) -> Call:
        return Call("PUT", f"/api/v1/namespaces/_/{collection}/{name}", name,
                    {"overwrite": str(overwrite).lower()}, body)

    def _invoke(self, name: str, args: dict[str, Any], blocking: bool, result: bool,
                headers: dict[str, str] | None = None) -> Call:
        return Call("POST", f"/api/v1/namespaces/_/actions/{name}", name,
                    {"blocking": str(blocking).lower(),
                     "result": str(result and blocking).lower()}, args, action_answers=True,
                    headers=headers or {})

    def _web(self, path: str, args: dict[str, Any]) -> Call:
        """A web action's JSON answer: `ns/pkg/action.json`."""
        return Call("POST", f"/api/v1/web/{path}", path, {}, args, action_answers=True)

    def _answer(self, response: httpx.Response, call: Call) -> Any:
        """The answer's JSON, or the failure in our words."""
        if response.is_success:
            return response.json() if response.content else None
        body = _json_or_none(response)
        if call.action_answers and response.status_code in (400, 502) and isinstance(
                body, dict) and "error" in body:
            return body  # the action's own error, as OpenWhisk gives it
        advice = {401: f": {self.peer.refused}",
                  403: ": these credentials may not change it"}.get(response.status_code, "")
        raise self.peer.error(f"{call.artifact}: {self.apihost} answered "
                              f"{response.status_code}: {_message(response, body)}{advice}",
                              response.status_code, reason=_message(response, body))

    def _unreachable(self, exc: httpx.HTTPError, call: Call) -> ClusterError:
        return self.peer.error(self.peer.unreachable.format(
            artifact=call.artifact, apihost=self.apihost, exc=f"{type(exc).__name__}: {exc}"))


class Client(BaseClient):
    """The blocking client: `with Client(apihost, auth) as client: client.list("actions")`."""

    def __init__(self, apihost: str, auth: str = "", *, peer: Peer = CLUSTER,
                 require_key: bool = True, timeout_s: float | None = TIMEOUT_S) -> None:
        super().__init__(apihost, auth, peer=peer, require_key=require_key)
        self._http = httpx.Client(base_url=self.apihost, auth=self._auth,
                                  timeout=httpx.Timeout(timeout_s, connect=10.0),
                                  headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def namespace(self) -> str:
        """The credentials' own namespace, as the cluster names it."""
        names = self._send(Call("GET", "/api/v1/namespaces", "the namespace list"))
        if not isinstance(names, list) or not names:
            raise ClusterError(f"{self.apihost} lists no namespace for these credentials")
        return str(names[0])

    def get(self, collection: Collection, name: str) -> dict[str, Any] | None:
        found = self._send(self._get(collection, name), missing=None)
        return found if isinstance(found, dict) else None

    def put(self, collection: Collection, name: str, body: dict[str, Any],
            overwrite: bool = True) -> dict[str, Any]:
        """Create it, or with `overwrite` create or replace it (409 when it exists and not)."""
        answer = self._send(self._put(collection, name, body, overwrite))
        return answer if isinstance(answer, dict) else {}

    def list(self, collection: Collection) -> list[dict[str, Any]]:
        found = self._send(Call("GET", f"/api/v1/namespaces/_/{collection}", collection,
                                {"limit": 200}))
        return found if isinstance(found, list) else []

    def delete(self, collection: Collection, name: str) -> bool:
        """True when it was there and is gone; False when there was nothing to delete."""
        call = Call("DELETE", f"/api/v1/namespaces/_/{collection}/{name}", name)
        return self._send(call, missing=False) is not False

    def invoke(self, name: str, args: dict[str, Any], blocking: bool = True,
               result: bool = True, headers: dict[str, str] | None = None) -> Any:
        """The result (blocking, result); the activation (blocking); else its id."""
        return self._send(self._invoke(name, args, blocking, result, headers))

    def stream(self, action: str, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The messages of one streamed reply from the streamer (`/web/_/pkg/action`), as
        the page reads them (NDJSON), each as it arrives."""
        call = Call("POST", f"/web/_/{action}", action, json=body)
        try:
            with self._http.stream(call.method, call.path, json=body,
                                   headers={"accept": "application/x-ndjson",
                                            **(headers or {})}) as answer:
                if answer.status_code != 200:
                    answer.read()
                    self._answer(answer, call)
                for line in answer.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as exc:
            raise self._unreachable(exc, call) from None

    def _send(self, call: Call, missing: Any = ...) -> Any:
        """The call's answer; `missing` is the answer for a 404, when one is given."""
        try:
            response = self._http.request(call.method, call.path, params=call.params,
                                          json=call.json, headers=call.headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc, call) from None
        if response.status_code == 404 and missing is not ...:
            return missing
        return self._answer(response, call)


class AsyncClient(BaseClient):
    """The same calls, awaited: `async with AsyncClient(apihost, auth) as client`."""

    def __init__(self, apihost: str, auth: str = "", *, peer: Peer = CLUSTER,
                 require_key: bool = True, timeout_s: float | None = TIMEOUT_S) -> None:
        super().__init__(apihost, auth, peer=peer, require_key=require_key)
        self._http = httpx.AsyncClient(base_url=self.apihost, auth=self._auth,
                                       timeout=httpx.Timeout(timeout_s, connect=10.0),
                                       headers={"Accept": "application/json"})

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def invoke(self, name: str, args: dict[str, Any], blocking: bool = True,
                     result: bool = True) -> Any:
        return await self._send(self._invoke(name, args, blocking, result))

    async def web(self, path: str, args: dict[str, Any]) -> Any:
        """A web action's answer (`ns/pkg/action.json`): its result, or its own error."""
        return await self._send(self._web(path, args))

    async def _send(self, call: Call) -> Any:
        try:
            response = await self._http.request(call.method, call.path, params=call.params,
                                                json=call.json, headers=call.headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc, call) from None
        return self._answer(response, call)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _message(response: httpx.Response, body: Any) -> str:
    """What the other side said: OpenWhisk's `{"error", "code"}`, else its text."""
    if isinstance(body, dict) and "error" in body:
        code = f" (code {body['code']})" if body.get("code") else ""
        return f"{body['error']}{code}"
    if body is not None:
        return str(body)[:300]
    return response.text.strip()[:300] or response.reason_phrase
