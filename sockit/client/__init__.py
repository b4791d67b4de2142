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

from sockit.client.api import default_client, delete, get, head, options, patch, post, put, request
from sockit.client.auth import Auth, BasicAuth, BearerAuth, DigestAuth, auth_from_userinfo
from sockit.client.client import HTTPClient
from sockit.client.conveniences import DownloadResult
from sockit.client.cookies import CookieJar, CookieJarStats
from sockit.client.pool import PoolStats
from sockit.client.redirects import InsecureRedirect, TooManyRedirects
from sockit.client.response import ContentDecodeError, HTTPStatusError, Response
from sockit.client.timeouts import Timeouts
from sockit.client.websocket import WebSocket, websocket_connect

__all__ = [
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "ContentDecodeError",
    "CookieJar",
    "CookieJarStats",
    "DigestAuth",
    "DownloadResult",
    "HTTPClient",
    "HTTPStatusError",
    "InsecureRedirect",
    "PoolStats",
    "Response",
    "Timeouts",
    "TooManyRedirects",
    "WebSocket",
    "auth_from_userinfo",
    "default_client",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "websocket_connect",
]
