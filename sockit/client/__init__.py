"""sockit.client: the blocking HTTP client (``docs/client.md``) and WebSocket client.

::

    import sockit

    r = sockit.get("http://127.0.0.1:8080/")            # shared default client
    with sockit.HTTPClient() as client:                  # your own pool and limits
        r = client.post("http://127.0.0.1:8080/items", b'{"a": 1}',
                        headers={"Content-Type": "application/json"})
        r.raise_for_status()

Built on :mod:`sockit.net` sockets and the :mod:`sockit.proto.http1` machine;
never imports :mod:`sockit.server`.
"""

from sockit.client.api import default_client, get, post, request
from sockit.client.client import HTTPClient
from sockit.client.pool import PoolStats
from sockit.client.response import ContentDecodeError, HTTPStatusError, Response
from sockit.client.timeouts import Timeouts
from sockit.client.websocket import WebSocket, websocket_connect

__all__ = [
    "ContentDecodeError",
    "HTTPClient",
    "HTTPStatusError",
    "PoolStats",
    "Response",
    "Timeouts",
    "WebSocket",
    "default_client",
    "get",
    "post",
    "request",
    "websocket_connect",
]
