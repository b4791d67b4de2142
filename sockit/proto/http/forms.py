"""Request bodies for forms: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

::

    ctype, body = encode_form({"q": "sockit", "page": 2})
    ctype, body = encode_multipart({"title": "report"},
                                   {"file": ("report.csv", b"a,b\\n1,2\\n", "text/csv")})

Multipart follows RFC 7578: one part per field, ``filename`` quoted with
``"`` and ``\\`` escaped and CR/LF refused (a header injection otherwise), a
random 32-hex-digit boundary that does not occur in any part. Values may be
``str`` (sent as UTF-8), ``bytes``, ``int`` or ``float``.
"""

from __future__ import annotations

import mimetypes
import secrets
from collections.abc import Iterable, Mapping
from typing import TypeAlias
from urllib.parse import urlencode

from sockit.errors import LocalProtocolError

__all__ = ["FieldValue", "FileSpec", "encode_form", "encode_multipart", "encode_query"]

FieldValue: TypeAlias = str | bytes | int | float
#: ``content`` or ``(filename, content)`` or ``(filename, content, content_type)``
FileSpec: TypeAlias = bytes | tuple[str, bytes] | tuple[str, bytes, str]
Fields: TypeAlias = Mapping[str, FieldValue] | Iterable[tuple[str, FieldValue]]


def _pairs(fields: Fields | None) -> list[tuple[str, FieldValue]]:
    if fields is None:
        return []
    items = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, FieldValue]] = []
    for name, value in items:
        if not isinstance(name, str):
            raise LocalProtocolError(f"form field names must be str, not {type(name).__name__}")
        if isinstance(value, bool) or not isinstance(value, (str, bytes, int, float)):
            raise LocalProtocolError(
                f"form field {name!r} must be str, bytes, int or float, not {type(value).__name__}"
            )
        out.append((name, value))
    return out


def _text(value: FieldValue) -> str | bytes:
    return value if isinstance(value, (str, bytes)) else str(value)


def encode_query(params: Fields) -> str:
    """``params`` as a query string (``a=1&b=x+y``), percent-encoded as forms are."""
    return urlencode([(n, _text(v)) for n, v in _pairs(params)])


def encode_form(fields: Fields) -> tuple[str, bytes]:
    """``(content_type, body)`` for an URL-encoded form."""
    return "application/x-www-form-urlencoded", encode_query(fields).encode("ascii")


def _quote(value: str, what: str) -> str:
    if "\r" in value or "\n" in value or "\0" in value:
        raise LocalProtocolError(f"a multipart {what} must not contain CR, LF or NUL: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_bytes(value: FieldValue) -> bytes:
    text = _text(value)
    return text.encode("utf-8") if isinstance(text, str) else text


def encode_multipart(
    fields: Fields | None = None,
    files: Mapping[str, FileSpec] | None = None,
    *,
    boundary: str | None = None,
) -> tuple[str, bytes]:
    """``(content_type, body)`` of a ``multipart/form-data`` body (RFC 7578)."""
    parts: list[tuple[str, str | None, str | None, bytes]] = [
        (name, None, None, _as_bytes(value)) for name, value in _pairs(fields)
    ]
    for name, spec in (files or {}).items():
        given: str | None = None
        if isinstance(spec, bytes):
            filename, content = name, spec
        elif len(spec) == 2:
            filename, content = spec[0], spec[1]
        else:
            filename, content, given = spec[0], spec[1], spec[2]
        part_type = given or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        parts.append((name, filename, part_type, bytes(content)))
    if boundary is None:
        boundary = secrets.token_hex(16)
        while any(boundary.encode() in part[3] for part in parts):  # pragma: no cover
            boundary = secrets.token_hex(16)
    elif not boundary.isascii() or not 1 <= len(boundary) <= 70:
        raise LocalProtocolError("a multipart boundary is 1 to 70 ASCII characters")
    dash = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for field_name, file_name, mime, payload in parts:
        disposition = f"form-data; name={_quote(field_name, 'field name')}"
        if file_name is not None:
            disposition += f"; filename={_quote(file_name, 'file name')}"
        head = f"Content-Disposition: {disposition}\r\n"
        if mime is not None:
            head += f"Content-Type: {mime}\r\n"
        chunks += [dash, b"\r\n", head.encode("utf-8"), b"\r\n", payload, b"\r\n"]
    chunks += [dash, b"--\r\n"]
    return f"multipart/form-data; boundary={boundary}", b"".join(chunks)
