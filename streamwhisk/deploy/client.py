"""The part of OpenWhisk's REST API that deploy, undeploy and devel use, over httpx.

Requests authenticate with `AUTH` (`uuid:key`) as HTTP basic credentials, in the namespace `_`
(the credentials' own). Every failure is a ClusterError that says which artifact it concerns,
what the cluster answered and what to do; AUTH never appears in one.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from ..basicauth import credentials
from ..errors import ClusterError

Collection = Literal["packages", "actions"]
TIMEOUT_S = 120.0  # a zip of tens of MB on a slow link


def api_base(apihost: str) -> str:
    """`https://host` from `host`, `http(s)://host[:port]` as given; no trailing slash."""
    apihost = apihost.strip().rstrip("/")
    if not apihost:
        raise ClusterError("no API host: pass --apihost URL, or run `streamwhisk login`")
    if "://" not in apihost:
        apihost = "https://" + apihost
    return apihost


class OpenWhiskClient:
    def __init__(self, apihost: str, auth: str, timeout_s: float = TIMEOUT_S) -> None:
        self.apihost = api_base(apihost)
        pair = credentials(auth)
        if pair is None or not all(pair):
            raise ClusterError("AUTH must be UUID:KEY, as `streamwhisk login` stores it (set it "
                               "in the login config, .env or the environment)")
        self._http = httpx.Client(base_url=f"{self.apihost}/api/v1/", auth=pair,
                                  timeout=timeout_s, headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenWhiskClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def namespace(self) -> str:
        """The credentials' own namespace, as the cluster names it."""
        names = self._request("GET", "namespaces", "the namespace list")
        if not isinstance(names, list) or not names:
            raise ClusterError(f"{self.apihost} lists no namespace for these credentials")
        return str(names[0])

    def get(self, collection: Collection, name: str) -> dict[str, Any] | None:
        try:
            found = self._request("GET", f"namespaces/_/{collection}/{name}", name)
        except ClusterError as exc:
            if exc.status_code == 404:
                return None
            raise
        return found if isinstance(found, dict) else None

    def put(self, collection: Collection, name: str, body: dict[str, Any],
            overwrite: bool = True) -> dict[str, Any]:
        """Create it, or with `overwrite` create or replace it (409 when it exists and not)."""
        answer = self._request("PUT", f"namespaces/_/{collection}/{name}", name,
                               params={"overwrite": str(overwrite).lower()}, json=body)
        return answer if isinstance(answer, dict) else {}

    def list(self, collection: Collection) -> list[dict[str, Any]]:
        found = self._request("GET", f"namespaces/_/{collection}", collection,
                              params={"limit": 200})
        return found if isinstance(found, list) else []

    def delete(self, collection: Collection, name: str) -> bool:
        """True when it was there and is gone; False when there was nothing to delete."""
        try:
            self._request("DELETE", f"namespaces/_/{collection}/{name}", name)
        except ClusterError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True

    def invoke(self, name: str, args: dict[str, Any], blocking: bool = True,
               result: bool = True) -> Any:
        """The result (blocking, result); the activation (blocking); else its id."""
        return self._request("POST", f"namespaces/_/actions/{name}", name,
                             params={"blocking": str(blocking).lower(),
                                     "result": str(result and blocking).lower()}, json=args)

    def _request(self, method: str, path: str, artifact: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ClusterError(f"{artifact}: cannot reach {self.apihost}: "
                               f"{type(exc).__name__}: {exc}. Check --apihost (or APIHOST) "
                               "and that the cluster is up") from None
        if response.is_success:
            return response.json() if response.content else None
        raise ClusterError(f"{artifact}: {self.apihost} answered {response.status_code}: "
                           f"{_message(response)}{_advice(response.status_code)}",
                           response.status_code)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict) and "error" in body:
        code = f" (code {body['code']})" if body.get("code") else ""
        return f"{body['error']}{code}"
    return str(body)[:300]


def _advice(status: int) -> str:
    if status == 401:
        return ": the cluster does not accept this AUTH; run `streamwhisk login` again"
    if status == 403:
        return ": these credentials may not change it"
    return ""
