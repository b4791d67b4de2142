"""The h2c upgrade (RFC 7540 §3.2): the ``HTTP2-Settings`` header and stream 1.

A client asking for ``Upgrade: h2c`` sends its SETTINGS payload base64url
encoded in ``HTTP2-Settings``; the server that answers 101 applies it as the
client's first SETTINGS and serves the HTTP/1.1 request as stream 1. The
connection glue is :meth:`Connection.upgraded
<sockit.proto.http2.connection.Connection.upgraded>`.
"""

from __future__ import annotations

import base64
import binascii
import struct

from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1.events import Request as HTTP1Request
from sockit.proto.http2.config import H2Config, advertised_settings
from sockit.proto.http2.errors import H2ConnectionError
from sockit.proto.http2.events import Request

__all__ = ["decode_settings_header", "settings_header", "upgraded_request"]

_SETTING = struct.Struct(">HL")
#: Fields of the HTTP/1.1 request that do not carry over to HTTP/2.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
        b"http2-settings",
        b"host",
        b"te",
    }
)


def settings_header(config: H2Config | None = None) -> bytes:
    """The ``HTTP2-Settings`` value a client sends with ``Upgrade: h2c``.

    The client's SETTINGS payload, base64url without padding.
    """
    values = advertised_settings(Role.CLIENT, H2Config() if config is None else config)
    payload = b"".join(_SETTING.pack(code, value) for code, value in values.items())
    return base64.urlsafe_b64encode(payload).rstrip(b"=")


def decode_settings_header(value: bytes | str) -> tuple[tuple[int, int], ...]:
    """The (code, value) pairs of an ``HTTP2-Settings`` header.

    Raises :class:`H2ConnectionError` when it is not strict base64url (padding
    optional) of a whole number of 6-octet settings.
    """
    raw = value.encode("latin-1") if isinstance(value, str) else value
    raw = raw.strip()
    try:
        payload = base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise H2ConnectionError("HTTP2-Settings is not base64url") from None
    if len(payload) % 6:
        raise H2ConnectionError("HTTP2-Settings is not a whole number of settings")
    return tuple(_SETTING.iter_unpack(payload))


def upgraded_request(request: HTTP1Request) -> Request:
    """Stream 1's Request for the HTTP/1.1 request that asked for h2c.

    Scheme ``http``, ``Host`` as ``:authority``, hop-by-hop fields removed,
    names lowercased; the content (if any) was read by HTTP/1.1, so the
    stream has ended.
    """
    headers = Headers()
    authority = b""
    for name, value in request.headers.raw_items():
        lower = name.lower()
        if lower == b"host":
            authority = value
        if lower not in _HOP_BY_HOP:
            headers.add(lower, value)
    return Request(
        1,
        request.method,
        request.target,
        b"http",
        authority,
        headers,
        True,
        None,
        headers.get_raw(b"priority"),
    )
