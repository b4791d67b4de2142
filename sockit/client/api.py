"""One-line requests: :func:`request`, :func:`get`, :func:`post` and the other verbs.

They share one module-level :class:`~sockit.client.client.HTTPClient`,
created on first use (under a lock, so threads racing to the first request
still share one) and closed at interpreter exit. Its pool keeps connections
alive between calls exactly as an explicit client would. For other limits
or default headers, make your own :class:`HTTPClient`.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING

from sockit.client.body import BodyInput
from sockit.client.client import HTTPClient
from sockit.client.conveniences import Options, RequestOptions
from sockit.client.response import Response
from sockit.proto.http import URL

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "default_client",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
]

_lock = threading.Lock()
_client: HTTPClient | None = None


def default_client() -> HTTPClient:
    """The shared client behind the one-liners (created on first use)."""
    global _client
    client = _client
    if client is None or client.closed:
        with _lock:
            client = _client
            if client is None or client.closed:
                client = _client = HTTPClient()
    return client


@atexit.register
def _close_default() -> None:
    with _lock:
        if _client is not None:
            _client.close()


def request(method: str, url: str | URL, **options: Unpack[RequestOptions]) -> Response:
    """Send one request with the shared client (see :meth:`HTTPClient.request`)."""
    return default_client().request(method, url, **options)


def get(url: str | URL, **options: Unpack[RequestOptions]) -> Response:
    """``GET url`` with the shared client."""
    return default_client().get(url, **options)


def head(url: str | URL, **options: Unpack[RequestOptions]) -> Response:
    """``HEAD url`` with the shared client."""
    return default_client().head(url, **options)


def options(url: str | URL, **options: Unpack[RequestOptions]) -> Response:
    """``OPTIONS url`` with the shared client."""
    return default_client().options(url, **options)


def delete(url: str | URL, **options: Unpack[RequestOptions]) -> Response:
    """``DELETE url`` with the shared client."""
    return default_client().delete(url, **options)


def post(url: str | URL, body: BodyInput = None, **options: Unpack[Options]) -> Response:
    """``POST url`` with ``body`` (or ``json=``, ``data=``, ``files=``) using the shared client."""
    return default_client().post(url, body, **options)


def put(url: str | URL, body: BodyInput = None, **options: Unpack[Options]) -> Response:
    """``PUT url`` with the shared client."""
    return default_client().put(url, body, **options)


def patch(url: str | URL, body: BodyInput = None, **options: Unpack[Options]) -> Response:
    """``PATCH url`` with the shared client."""
    return default_client().patch(url, body, **options)
