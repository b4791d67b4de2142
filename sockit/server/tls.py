"""The server TLS context most HTTPS servers want, in one call.

::

    from sockit.server import HTTPServer, server_tls_context

    ctx = server_tls_context("cert.pem", "key.pem")          # TLS 1.3, ALPN h2 + http/1.1
    with HTTPServer("0.0.0.0", 8443, tls=ctx) as server:
        ...

ALPN offers ``h2`` first when HTTP/2 is on, so HTTP/2 clients (curl,
browsers, ``HTTPClient(http2=...)``) pick it without an upgrade round trip;
``http/1.1`` stays for everyone else. TLS 1.2 is refused unless
``allow_tls12`` (then only ECDHE with AEAD suites, see DEFAULTS).
"""

from __future__ import annotations

import dataclasses
import os

from sockit.limits import TLSDefaults
from sockit.proto.tls import ClientAuth, TLSContext

__all__ = ["server_tls_context"]


def server_tls_context(
    cert: str | os.PathLike[str] | bytes,
    key: str | os.PathLike[str] | bytes | None = None,
    *,
    http2: bool = True,
    allow_tls12: bool = False,
    client_auth: ClientAuth = ClientAuth.NONE,
    client_ca: str | os.PathLike[str] | bytes | None = None,
    defaults: TLSDefaults | None = None,
) -> TLSContext:
    """A server :class:`TLSContext` for HTTPS: ALPN ``h2``/``http/1.1`` (or only the latter).

    ``cert`` may hold the whole chain; ``key`` defaults to the key in ``cert``.
    ``client_auth`` and ``client_ca`` turn on mutual TLS.
    """
    base = TLSDefaults() if defaults is None else defaults
    if allow_tls12 and not base.allow_tls12:
        base = dataclasses.replace(base, allow_tls12=True)
    alpn = ("h2", "http/1.1") if http2 else ("http/1.1",)
    return TLSContext.server(cert, key, alpn=alpn, client_auth=client_auth,
                             client_ca=client_ca, defaults=base)
