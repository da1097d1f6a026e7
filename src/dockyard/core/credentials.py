"""How this process signs in to the servers it talks to (``dockyard server --auth``).

The remote tracking and registry clients get their :class:`Credentials` from the settings
(DOCKYARD_TRACKING_USERNAME/PASSWORD/TOKEN); the artifact proxy's client, which is made from an artifact
URI alone, finds them here by the server's origin.

>>> remember_credentials("http://tracking:5000/", Credentials(token="dyt_1_x"))
>>> auth_headers_for("http://tracking:5000/api/2.0/mlflow-artifacts/artifacts/0/x")
{'Authorization': 'Bearer dyt_1_x'}
>>> forget_credentials(); auth_headers_for("http://tracking:5000/")
{}
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Credentials:
    """How a client signs in to a server run with auth: a user name and password (Basic), or an API
    token (Bearer), which wins when both are given.

    >>> Credentials("ada", "pw").headers()
    {'Authorization': 'Basic YWRhOnB3'}
    >>> Credentials(token="dyt_1_x").headers()
    {'Authorization': 'Bearer dyt_1_x'}
    """

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}


_lock = threading.Lock()
_by_origin: dict[str, Credentials] = {}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def remember_credentials(url: str, credentials: Credentials) -> None:
    """Use ``credentials`` for every request of this process to the server of ``url``."""
    if credentials.headers():
        with _lock:
            _by_origin[_origin(url)] = credentials


def auth_headers_for(url: str) -> dict[str, str]:
    """The ``Authorization`` header this process sends to the server of ``url`` (none if unknown)."""
    with _lock:
        credentials = _by_origin.get(_origin(url))
    return credentials.headers() if credentials is not None else {}


def forget_credentials() -> None:
    with _lock:
        _by_origin.clear()
