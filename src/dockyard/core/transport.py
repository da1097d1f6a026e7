"""The HTTP transport of the remote clients: one per server, shared by the tracking and registry clients.

It sends one MLflow REST call, retries what is safe to retry, and decodes error envelopes back into
Dockyard's exception classes, so callers write ``except RunNotFound`` whether the store is local or
remote.

Retries, with exponential backoff: a request that never reached the server (connection refused, DNS,
connect timeout) and a 503 (the server's store was unavailable and did nothing) are retried for every
call; a timeout or a dropped connection after the request was sent is retried only for idempotent
calls (reads, searches, updates, deletes), never for ones that would write twice (creating a run or an
experiment, logging metric points).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from dockyard.core.credentials import Credentials, forget_credentials, remember_credentials
from dockyard.core.errors import InvalidParameter, StoreUnavailable, error_from_dict

API = "/api/2.0/mlflow"
EXTENSIONS = "/api/2.0/dockyard"
USER_AGENT = "dockyard-client"


class HttpTransport:
    """Calls against a server at ``base_url``; ``http`` may be any httpx2-compatible client (the tests
    pass Starlette's TestClient, which runs the app in process)."""

    def __init__(
        self,
        base_url: str,
        *,
        http: Any = None,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 120.0,
        credentials: Credentials | None = None,
    ) -> None:
        import httpx2  # the remote clients' one third-party dependency, loaded when one is made

        self.base_url = base_url.rstrip("/")
        self.http = http if http is not None else httpx2.Client(timeout=timeout, headers={"User-Agent": USER_AGENT})
        self.retries = retries
        self.backoff = backoff
        self.auth_headers = (credentials or Credentials()).headers()
        self._not_sent = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
        self._maybe_sent = (httpx2.ReadTimeout, httpx2.WriteTimeout, httpx2.RemoteProtocolError, httpx2.ReadError)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, idempotent: bool) -> dict[str, Any]:
        """One API call with retries; returns the decoded JSON object or raises a Dockyard error."""
        url = self.base_url + path
        kwargs: dict[str, Any] = {"headers": self.auth_headers} if self.auth_headers else {}
        if body is not None:
            if method == "GET":
                kwargs["params"] = {k: v for k, v in body.items() if v is not None}
            else:
                kwargs["json"] = body
        attempt = 0
        while True:
            try:
                response = self.http.request(method, url, **kwargs)
            except self._not_sent as exc:
                error: Exception = StoreUnavailable(f"cannot reach the tracking server at {self.base_url}: {exc}")
            except self._maybe_sent as exc:
                if not idempotent:
                    raise StoreUnavailable(
                        f"the tracking server at {self.base_url} did not answer ({type(exc).__name__}); "
                        "the call was not retried because it may have been applied"
                    ) from exc
                error = StoreUnavailable(f"the tracking server at {self.base_url} did not answer: {exc}")
            else:
                if response.status_code == 503 and attempt < self.retries:
                    error = StoreUnavailable("the tracking server is temporarily unavailable")
                else:
                    return self._decode(response)
            attempt += 1
            if attempt > self.retries:
                raise error
            time.sleep(self.backoff * 2 ** (attempt - 1))

    def _decode(self, response: Any) -> dict[str, Any]:
        try:
            payload = response.json() if response.content else {}
        except ValueError:
            payload = None
        if response.status_code == 200:
            if not isinstance(payload, dict):
                raise StoreUnavailable(f"the tracking server answered 200 without a JSON object ({response.url})")
            return payload
        if isinstance(payload, dict) and "error_code" in payload:
            raise error_from_dict(payload, response.status_code)
        if response.status_code == 404:
            raise InvalidParameter(f"the server at {self.base_url} has no endpoint {response.url.path}")
        raise StoreUnavailable(f"the tracking server answered HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self.http.close()


_lock = threading.Lock()
_shared: dict[tuple[str, Credentials], HttpTransport] = {}


def shared_transport(base_url: str, credentials: Credentials | None = None) -> HttpTransport:
    """The process's one transport (one connection pool) for ``base_url`` and these credentials, made on
    first use. The credentials are remembered for the server, so its artifact proxy gets them too."""
    key = base_url.rstrip("/")
    credentials = credentials or Credentials()
    with _lock:
        remember_credentials(key, credentials)
        transport = _shared.get((key, credentials))
        if transport is None:
            transport = _shared[(key, credentials)] = HttpTransport(key, credentials=credentials)
        return transport


def close_shared_transports() -> None:
    """Close every shared transport's connection pool (tests; processes switching servers)."""
    with _lock:
        transports = list(_shared.values())
        _shared.clear()
    forget_credentials()
    for transport in transports:
        transport.close()
