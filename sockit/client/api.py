"""One-line requests: :func:`request`, :func:`get`, :func:`post`.

They share one module-level :class:`~sockit.client.client.HTTPClient`,
created on first use (under a lock, so threads racing to the first request
still share one) and closed at interpreter exit. Its pool keeps connections
alive between calls exactly as an explicit client would. For other limits
or default headers, make your own :class:`HTTPClient`.
"""

from __future__ import annotations

import atexit
import threading

from sockit.client.body import BodyInput
from sockit.client.client import HTTPClient
from sockit.client.response import Response
from sockit.client.timeouts import TimeoutSpec
from sockit.proto.http import URL, HeadersInput

__all__ = ["default_client", "get", "post", "request"]

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


def request(
    method: str,
    url: str | URL,
    *,
    headers: HeadersInput | None = None,
    body: BodyInput = None,
    timeout: TimeoutSpec = None,
    stream: bool = False,
) -> Response:
    """Send one request with the shared client (see :meth:`HTTPClient.request`)."""
    return default_client().request(
        method, url, headers=headers, body=body, timeout=timeout, stream=stream
    )


def get(
    url: str | URL,
    *,
    headers: HeadersInput | None = None,
    timeout: TimeoutSpec = None,
    stream: bool = False,
) -> Response:
    """``GET url`` with the shared client."""
    return default_client().request("GET", url, headers=headers, timeout=timeout, stream=stream)


def post(
    url: str | URL,
    body: BodyInput = None,
    *,
    headers: HeadersInput | None = None,
    timeout: TimeoutSpec = None,
    stream: bool = False,
) -> Response:
    """``POST url`` with ``body`` using the shared client."""
    return default_client().request(
        "POST", url, headers=headers, body=body, timeout=timeout, stream=stream
    )
