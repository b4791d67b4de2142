"""Helpers for building responses on the HTTP/1.1 machine (internal to the server).

Headers from the application become raw ``(bytes, bytes)`` pairs wrapped
with :meth:`Headers.from_raw`: the machine's writer checks every field once
(a C-level translate) when it serializes the head, so they are not
validated twice on the way.
"""

from __future__ import annotations

from typing import Final

from sockit.errors import LocalProtocolError
from sockit.observe import get_logger
from sockit.proto.http import Headers, HeadersInput, reason_phrase
from sockit.proto.http1 import EndOfMessage

__all__ = ["discard_body", "error_fields", "header_pairs", "reason_bytes"]

log = get_logger("server")

_REASONS: dict[int, bytes] = {}
_END: Final = EndOfMessage()


def reason_bytes(status: int) -> bytes:
    """The registered reason phrase of ``status`` as bytes (``b""`` if none), cached."""
    phrase = _REASONS.get(status)
    if phrase is None:
        try:
            phrase = reason_phrase(status).encode("latin-1")
        except LocalProtocolError:
            phrase = b""
        if len(_REASONS) < 1000:
            _REASONS[status] = phrase
    return phrase


def _as_field(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            raise LocalProtocolError(f"header text must be ISO-8859-1: {value!r}") from None
    raise LocalProtocolError(f"header names and values must be str or bytes, not {value!r}")


def header_pairs(headers: HeadersInput | None) -> list[tuple[bytes, bytes]]:
    """The application's headers as a new list of raw pairs (checked by the writer)."""
    if headers is None:
        return []
    if isinstance(headers, Headers):
        return headers.raw_items()
    items = list(headers.items() if hasattr(headers, "items") else headers)
    try:  # the usual case, str or bytes: one pass without a call per field
        return [
            (
                name if isinstance(name, bytes) else name.encode("latin-1"),
                value if isinstance(value, bytes) else value.encode("latin-1"),
            )
            for name, value in items
        ]
    except (AttributeError, UnicodeEncodeError, TypeError, ValueError):
        return [(_as_field(name), _as_field(value)) for name, value in items]


def discard_body(body: object) -> None:
    """Release a body that will not be sent (close files and generators)."""
    close = getattr(body, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            log.exception("closing a discarded response body failed")


def error_fields(status: int, length: int, date: bytes) -> Headers:
    """The head fields of the server's own short text answers (always ``Connection: close``)."""
    return Headers.from_raw(
        [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", b"%d" % length),
            (b"Connection", b"close"),
            (b"Date", date),
        ]
    )
