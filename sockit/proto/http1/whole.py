"""A whole response in one step: head, Content-Length body and end (the server's fast path).

:meth:`Connection.send_response` covers the common answer — a final status,
fields, and a body already in memory — without the event-by-event machinery
(``Response``, ``Data``, ``EndOfMessage``, a :class:`Headers` index and a body
writer). The result is the same bytes and the same state changes that the three
``send`` calls would make with a Content-Length body; the checks are the same
too, done in one pass over the field names.
"""

from __future__ import annotations

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.http1.body import content_length
from sockit.proto.http1.writer import check_fields, says_close

__all__ = ["plan_whole_response"]

_VALUE_OK = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_STATUS_LINES = [b"HTTP/1.1 %d " % status for status in range(600)]
_join_field = b": ".join
_NO_BODY = (204, 304)


def _values(fields: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in fields if key.lower() == name]


def plan_whole_response(
    status: int,
    fields: list[tuple[bytes, bytes]],
    body: bytes,
    reason: bytes,
    *,
    method: bytes | None,
    peer_version: bytes | None,
    keep_alive: bool,
    close: bool,
    date: bytes | None,
) -> tuple[bytes, bool]:
    """``(wire bytes, keep_alive)`` for a complete response to a request we read.

    ``fields`` are checked like any head's (tokens, no CR/LF/CTL in values).
    The body's framing is the machine's: a Content-Length the caller gave must
    match ``len(body)``, and is added when missing; Transfer-Encoding is
    refused (stream with ``send`` for chunked bodies). ``close`` asks for the
    connection's last answer (``Connection: close`` is added unless present);
    ``date`` is added as ``Date`` unless the fields have one. A HEAD request
    gets the head only (its Content-Length may describe the GET's body);
    204 and 304 take no body and no added Content-Length.
    """
    if type(status) is not int or not 200 <= status <= 599:
        raise LocalProtocolError("a whole response needs a final status from 200 to 599")
    if type(reason) is not bytes or reason.translate(None, _VALUE_OK):
        raise LocalProtocolError(f"invalid reason phrase {reason!r}")
    if type(body) is not bytes:
        raise LocalProtocolError("a whole response's body must be bytes")
    if method == b"CONNECT" and status < 300:
        raise LocalProtocolError("a 2xx answer to CONNECT switches protocols: use send()")
    if fields:
        try:
            check_fields(fields)
        except (TypeError, ValueError):
            raise LocalProtocolError("fields must be (bytes, bytes) pairs") from None
        names = [name.lower() for name, _ in fields]
    else:
        fields = []
        names = []
    if b"transfer-encoding" in names:
        raise LocalProtocolError("a whole response has a Content-Length body, not chunked")
    has_body = status not in _NO_BODY
    if b"content-length" in names:
        try:
            declared = content_length(_values(fields, b"content-length"))
        except RemoteProtocolError:
            raise LocalProtocolError("invalid Content-Length") from None
        if has_body and declared != len(body) and method != b"HEAD":
            raise LocalProtocolError(
                f"Content-Length {declared} does not match a body of {len(body)} bytes"
            )
        extra = b""
    else:
        extra = b"Content-Length: %d\r\n" % len(body) if has_body else b""
    if not has_body and body:
        raise LocalProtocolError(f"a {status} response has no body")
    closes = False
    if b"connection" in names:
        closes = says_close(_values(fields, b"connection"))
    keep = keep_alive and peer_version == b"1.1" and not closes and not close
    if not keep and not closes:
        extra += b"Connection: close\r\n"
    if date is not None and b"date" not in names:
        extra += b"Date: " + date + b"\r\n"
    head = b"\r\n".join(
        [_STATUS_LINES[status] + reason, *map(_join_field, fields), extra + b"\r\n"]
    )
    if method == b"HEAD" or not body:
        return head, keep
    return head + body, keep
