"""Field-section rules of RFC 9113 §8 for requests, responses and trailers.

One set of checks serves both directions. Received fields that break a rule
make the message *malformed* (§8.1.1): :class:`MalformedHeaders` (a
:class:`~sockit.errors.RemoteProtocolError` with the PROTOCOL_ERROR code),
which the connection answers with RST_STREAM PROTOCOL_ERROR. With
``outbound=True`` the same rule raises
:class:`~sockit.errors.LocalProtocolError`: we are about to send something
malformed.

The rules:

* pseudo-header fields only before regular fields, only the ones defined for
  the role (requests ``:method :scheme :authority :path`` and, for extended
  CONNECT, ``:protocol``; responses ``:status``), never twice, never in
  trailers; the required ones present (CONNECT has its own set);
* names are lowercase tokens; values hold no NUL, CR or LF and neither start
  nor end with SP or HTAB;
* no connection-specific fields (``connection``, ``keep-alive``,
  ``proxy-connection``, ``transfer-encoding``, ``upgrade``); ``te`` only as
  ``trailers``;
* ``content-length`` is digits, and all its values agree;
* a ``host`` field agrees with ``:authority`` (compared case-insensitively).

Cookies split over several ``cookie`` fields stay separate fields.

Speed: names are looked up in one dict that classifies the special ones and
remembers names already found valid (bounded); NUL, CR and LF are found with
``bytes.translate`` and edge whitespace with ``bytes.strip``, both of which
return the very same object when there is nothing to change. Headers
the application built through the checking API skip the syntax checks on the
way out (:func:`check_known_fields` looks only at the fields with a meaning).
"""

from __future__ import annotations

import re

from sockit.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "MalformedHeaders",
    "check_known_fields",
    "check_trailer_fields",
    "parse_request_fields",
    "parse_response_fields",
]

Fields = list[tuple[bytes, bytes]]

#: (method, scheme, authority, path, protocol, regular fields, content-length, priority)
RequestFields = tuple[bytes, bytes, bytes, bytes, bytes | None, Fields, int | None, bytes | None]
#: (status, regular fields, content-length)
ResponseFields = tuple[int, Fields, int | None]

_PROTOCOL_ERROR = 0x1


class MalformedHeaders(RemoteProtocolError):
    """A received field section breaks RFC 9113 §8 (a stream error, PROTOCOL_ERROR)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=_PROTOCOL_ERROR, http_status=400)


def _fail(message: str, outbound: bool) -> Exception:
    if outbound:
        return LocalProtocolError(message)
    return MalformedHeaders(message)


_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9a-z]+"
_NAME_OK = re.compile(_TOKEN).fullmatch
_METHOD_OK = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_DIGITS = re.compile(rb"[0-9]{1,19}").fullmatch
_WS = b" \t"
_FORBIDDEN = b"\r\n\x00"

# What a regular field name means to the checks.
_ORDINARY = 0
_CONNECTION_SPECIFIC = 1
_TE = 2
_CONTENT_LENGTH = 3
_HOST = 4
_PRIORITY = 5

_SPECIAL: dict[bytes, int] = {
    b"connection": _CONNECTION_SPECIFIC,
    b"keep-alive": _CONNECTION_SPECIFIC,
    b"proxy-connection": _CONNECTION_SPECIFIC,
    b"transfer-encoding": _CONNECTION_SPECIFIC,
    b"upgrade": _CONNECTION_SPECIFIC,
    b"te": _TE,
    b"content-length": _CONTENT_LENGTH,
    b"host": _HOST,
    b"priority": _PRIORITY,
}
#: Valid names seen so far (with their kind); bounded so a peer inventing
#: names cannot grow it without end.
_NAMES: dict[bytes, int] = dict(_SPECIAL)
_NAMES_MAX = 4096

_HTTP_SCHEMES = frozenset({b"http", b"https"})
_KNOWN_METHODS = frozenset(
    {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"CONNECT", b"OPTIONS", b"TRACE", b"PATCH"}
)
#: Every valid ``:status`` value (three digits, not 0xx, not 101) and its code.
_STATUS_CODES = {b"%d" % code: code for code in range(100, 1000) if code != 101}


def _name_kind(name: bytes, outbound: bool) -> int:
    """Classify a regular field name, validating it on first sight."""
    if _NAME_OK(name) is None:
        if name.lower() != name and _NAME_OK(name.lower()) is not None:
            raise _fail(f"uppercase field name {name!r}", outbound)
        raise _fail(f"invalid field name {name!r}", outbound)
    if len(_NAMES) < _NAMES_MAX:
        _NAMES[name] = _ORDINARY
    return _ORDINARY


def _bad_value(name: bytes, value: bytes, outbound: bool) -> Exception | None:
    """Why ``value`` is not a valid field value, or ``None`` (the slow path).

    The loops test ``value.translate(None, _FORBIDDEN) is value`` and
    ``value.strip(_WS) is value`` first: CPython returns the very object when
    nothing changes, so a good value costs two C calls and no allocation.
    This function confirms by content, so the result never depends on that.
    """
    if value.translate(None, _FORBIDDEN) != value:
        return _fail(f"field {name!r} has NUL, CR or LF in its value", outbound)
    if value.strip(_WS) != value:
        return _fail(f"field {name!r} has a value starting or ending with whitespace", outbound)
    return None


def _regular(
    fields: Fields, start: int, outbound: bool
) -> tuple[int | None, bytes | None, bytes | None]:
    """Check the regular fields from ``start``: (content-length, host, priority)."""
    get = _NAMES.get
    length: int | None = None
    host: bytes | None = None
    priority: bytes | None = None
    for name, value in fields[start:] if start else fields:
        kind = get(name)
        if kind is None:
            if name[:1] == b":":
                raise _fail(f"pseudo-header field {name!r} after regular fields", outbound)
            kind = _name_kind(name, outbound)
        if value.translate(None, _FORBIDDEN) is not value or value.strip(_WS) is not value:
            error = _bad_value(name, value, outbound)
            if error is not None:
                raise error
        if kind:
            if kind == _CONNECTION_SPECIFIC:
                raise _fail(f"connection-specific field {name!r}", outbound)
            if kind == _TE:
                if value.lower() != b"trailers":
                    raise _fail(f"te field other than 'trailers': {value!r}", outbound)
            elif kind == _CONTENT_LENGTH:
                length = _content_length(value, length, outbound)
            elif kind == _HOST:
                host = value
            else:
                priority = value
    return length, host, priority


def _content_length(value: bytes, previous: int | None, outbound: bool) -> int:
    if previous is None and value.isdigit() and len(value) <= 19:
        return int(value)
    parts = value.split(b",") if b"," in value else (value,)
    result = previous
    for raw in parts:
        part = raw.strip(_WS)
        if _DIGITS(part) is None:
            raise _fail(f"invalid content-length {value!r}", outbound)
        n = int(part)
        if result is not None and n != result:
            raise _fail("conflicting content-length values", outbound)
        result = n
    assert result is not None
    return result


def parse_request_fields(
    fields: Fields, *, extended_connect: bool = False, outbound: bool = False
) -> RequestFields:
    """Split a request's field section into its parts, enforcing RFC 9113 §8.3.1.

    ``extended_connect``: RFC 8441's ``:protocol`` is allowed (the server
    advertised SETTINGS_ENABLE_CONNECT_PROTOCOL).
    """
    method = scheme = authority = path = protocol = None
    i = 0
    for name, value in fields:
        if name[:1] != b":":
            break
        if value.translate(None, _FORBIDDEN) is not value or value.strip(_WS) is not value:
            error = _bad_value(name, value, outbound)
            if error is not None:
                raise error
        if name == b":method":
            if method is not None:
                raise _fail("duplicate :method", outbound)
            method = value
        elif name == b":path":
            if path is not None:
                raise _fail("duplicate :path", outbound)
            path = value
        elif name == b":scheme":
            if scheme is not None:
                raise _fail("duplicate :scheme", outbound)
            scheme = value
        elif name == b":authority":
            if authority is not None:
                raise _fail("duplicate :authority", outbound)
            authority = value
        elif name == b":protocol":
            if protocol is not None:
                raise _fail("duplicate :protocol", outbound)
            protocol = value
        else:
            raise _fail(f"pseudo-header field {name!r} is not defined for requests", outbound)
        i += 1
    length, host, priority = _regular(fields, i, outbound)
    if method is None:
        raise _fail("request without :method", outbound)
    if method not in _KNOWN_METHODS and _METHOD_OK(method) is None:
        raise _fail(f"invalid :method {method!r}", outbound)
    if method == b"CONNECT" and protocol is None:
        if scheme is not None or path is not None:
            raise _fail("CONNECT request with :scheme or :path", outbound)
        if not authority:
            raise _fail("CONNECT request without :authority", outbound)
        scheme = path = b""
    else:
        if protocol is not None:
            if not extended_connect:
                raise _fail(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL", outbound)
            if method != b"CONNECT":
                raise _fail(":protocol in a request that is not CONNECT", outbound)
            if not authority:
                raise _fail("extended CONNECT without :authority", outbound)
        if scheme is None or not scheme:
            raise _fail("request without :scheme", outbound)
        if path is None or not path:
            raise _fail("request without :path", outbound)
        if (
            scheme in _HTTP_SCHEMES
            and path[:1] != b"/"
            and not (path == b"*" and method == b"OPTIONS")
        ):
            raise _fail(f":path {path!r} is neither absolute nor '*' for OPTIONS", outbound)
    if authority is None:
        authority = b""
    if host is not None and authority and host.lower() != authority.lower():
        raise _fail("host field differs from :authority", outbound)
    return method, scheme, authority, path, protocol, fields[i:], length, priority


def parse_response_fields(fields: Fields, *, outbound: bool = False) -> ResponseFields:
    """Split a response's field section: ``:status`` and the regular fields (§8.3.2)."""
    status: bytes | None = None
    i = 0
    for name, value in fields:
        if name[:1] != b":":
            break
        if name != b":status":
            raise _fail(f"pseudo-header field {name!r} is not defined for responses", outbound)
        if status is not None:
            raise _fail("duplicate :status", outbound)
        status = value
        i += 1
    length, _, _ = _regular(fields, i, outbound)
    if status is None:
        raise _fail("response without :status", outbound)
    code = _STATUS_CODES.get(status)
    if code is None:
        if status == b"101":
            raise _fail("101 (Switching Protocols) is not allowed in HTTP/2", outbound)
        raise _fail(f"invalid :status {status!r}", outbound)
    return code, fields[i:], length


def check_trailer_fields(fields: Fields, *, outbound: bool = False) -> Fields:
    """Check a trailer section: regular fields only (§8.1)."""
    for name, _ in fields:
        if name[:1] == b":":
            raise _fail(f"pseudo-header field {name!r} in trailers", outbound)
    _regular(fields, 0, outbound)
    return fields


def check_known_fields(fields: Fields, start: int = 0, authority: bytes = b"") -> int | None:
    """Outbound checks of ``fields[start:]``, lowercased fields known to be well formed.

    Fields of a :class:`~sockit.proto.http.Headers` built through its
    checking API (``headers.validated``) have valid names and values
    already, so only the names with a meaning of their own are looked at:
    no connection-specific fields, ``te`` only ``trailers``, a numeric and
    consistent ``content-length`` (returned), ``host`` agreeing with
    ``authority``. Raises :class:`LocalProtocolError`.
    """
    special = _SPECIAL
    length: int | None = None
    for i in range(start, len(fields)):
        name, value = fields[i]
        kind = special.get(name)
        if kind:
            if kind == _CONNECTION_SPECIFIC:
                raise LocalProtocolError(f"connection-specific field {name!r}")
            if kind == _TE:
                if value.lower() != b"trailers":
                    raise LocalProtocolError(f"te field other than 'trailers': {value!r}")
            elif kind == _CONTENT_LENGTH:
                length = _content_length(value, length, True)
            elif kind == _HOST and authority and value.lower() != authority.lower():
                raise LocalProtocolError("host field differs from :authority")
    return length
