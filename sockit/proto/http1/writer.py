"""The sending side: serializing heads and framing bodies (RFC 9112 §3-§7).

The application builds events; :func:`plan_request`, :func:`plan_response`
and :func:`plan_informational` turn one into the head's bytes, the body
writer its framing needs, and what it means to the state machine. Nothing is
queued unless the whole head is acceptable.

Checks that keep one message from bleeding into the next: method and field
names must be tokens; field values, the target and the reason phrase may not
contain CR, LF or other CTLs. :class:`Headers` checks what is added through
its API, but :meth:`Headers.from_raw` trusts its caller, so the check runs
here once more per head, in C (``bytes.translate``).

Framing choices for responses: the application's Content-Length is enforced
exactly; ``Transfer-Encoding: chunked`` is honoured for HTTP/1.1 peers; a
body of unknown length is chunked for an HTTP/1.1 peer and close-delimited
(with ``Connection: close``) for an HTTP/1.0 one, whose chunked header is
then dropped; a response to HEAD never sends its body; 204 and 304 have none.
The reason phrase is sent as given, even empty (``HTTP/1.1 200 \r\n``).
"""

from __future__ import annotations

from typing import Protocol

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.http.headers import Headers
from sockit.proto.http1.body import (
    FORBIDDEN_TRAILERS,
    connection_tokens,
    content_length,
    transfer_codings,
)
from sockit.proto.http1.events import InformationalResponse, Request, Response
from sockit.proto.http1.state import Kind, proposals

__all__ = [
    "BodyWriter",
    "ChunkedWriter",
    "CloseDelimitedWriter",
    "ContentLengthWriter",
    "DiscardWriter",
    "as_bytes",
    "as_headers",
    "check_fields",
    "plan_informational",
    "plan_request",
    "plan_response",
    "says_close",
]

_TCHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_VALUE_OK = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
_TARGET_OK = bytes([0x21, 0x22, *range(0x24, 0x7F)])
_V11 = b"1.1"


def as_bytes(value: object, what: str) -> bytes:
    """``value`` as bytes (``str`` is encoded as ISO-8859-1); LocalProtocolError if not."""
    if type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            pass
    raise LocalProtocolError(f"{what} must be bytes, not {value!r}")


def as_headers(value: object) -> Headers:
    """``value`` as :class:`Headers` (pairs and mappings are checked on the way)."""
    if isinstance(value, Headers):
        return value
    try:
        return Headers(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"invalid headers: {exc}") from None


def check_fields(items: list[tuple[bytes, bytes]]) -> None:
    """Refuse field lines that are not ``token ":" field-value`` (LocalProtocolError)."""
    if not items:
        return
    names = [name for name, _ in items]
    if not all(names) or b"".join(names).translate(None, _TCHARS):
        raise LocalProtocolError("field names must be non-empty tokens")
    if b"".join([value for _, value in items]).translate(None, _VALUE_OK):
        raise LocalProtocolError("field values must not contain CR, LF or other CTLs")


_RESPONSE = Kind.RESPONSE  # a plain global: Enum member lookups are slow
_join_field = b": ".join
#: ``HTTP/1.1 NNN `` for every status code (the reason phrase follows).
_STATUS_LINES = [b"HTTP/1.1 %d " % status for status in range(600)]


def _field_lines(headers: Headers, drop: bytes | None = None) -> list[bytes]:
    """``name: value`` for each field of ``headers`` (checked unless validated)."""
    items = headers.raw_items()
    if items and not headers.validated:
        check_fields(items)
    if drop is not None:
        items = [item for item in items if item[0].lower() != drop]
    return list(map(_join_field, items))


def _head(first: bytes, headers: Headers, extra: bytes = b"", drop: bytes | None = None) -> bytes:
    """A whole head: the start line, the fields, ``extra`` (CRLF-ended lines), the empty line."""
    return b"\r\n".join([first, *_field_lines(headers, drop), extra + b"\r\n"])


# -- body writers ---------------------------------------------------------------


class BodyWriter(Protocol):
    """Frames outgoing body data."""

    def data(self, out: list[bytes], payload: bytes) -> None:
        """Queue ``payload`` framed onto ``out``."""
        ...

    def end(self, out: list[bytes], trailers: Headers) -> None:
        """Queue the end of the body onto ``out``."""
        ...


def _no_trailers(trailers: Headers) -> None:
    if len(trailers):
        raise LocalProtocolError("trailers need a chunked body")


class ContentLengthWriter:
    """Exactly the declared number of bytes: more or fewer is an error."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def data(self, out: list[bytes], payload: bytes) -> None:
        """Queue ``payload`` as is, if it fits the declared length."""
        if len(payload) > self.remaining:
            raise LocalProtocolError(
                f"{len(payload)} bytes is more than the {self.remaining} Content-Length allows"
            )
        self.remaining -= len(payload)
        if payload:
            out.append(payload)

    def end(self, out: list[bytes], trailers: Headers) -> None:
        """Check the declared length was sent in full."""
        if self.remaining:
            raise LocalProtocolError(f"{self.remaining} bytes short of the Content-Length")
        _no_trailers(trailers)


class ChunkedWriter:
    """One chunk per non-empty Data; trailers after the last chunk."""

    __slots__ = ()

    def data(self, out: list[bytes], payload: bytes) -> None:
        """Queue ``payload`` as one chunk (nothing for an empty one)."""
        if payload:
            out.append(b"%x\r\n" % len(payload))
            out.append(payload)
            out.append(b"\r\n")

    def end(self, out: list[bytes], trailers: Headers) -> None:
        """Queue the last chunk and the trailer section."""
        items = trailers.raw_items()
        if not items:
            out.append(b"0\r\n\r\n")
            return
        for name, _ in items:
            if name.lower() in FORBIDDEN_TRAILERS:
                raise LocalProtocolError(f"{name!r} cannot be sent as a trailer")
        out.append(_head(b"0", trailers))


class CloseDelimitedWriter:
    """Bytes as they are; closing the connection ends the body."""

    __slots__ = ()

    def data(self, out: list[bytes], payload: bytes) -> None:
        """Queue ``payload`` as is."""
        if payload:
            out.append(payload)

    def end(self, out: list[bytes], trailers: Headers) -> None:
        """Nothing to write: the close ends the body."""
        _no_trailers(trailers)


class DiscardWriter:
    """A response to HEAD: the body is accepted and never sent."""

    __slots__ = ()

    def data(self, out: list[bytes], payload: bytes) -> None:
        """Drop ``payload``."""

    def end(self, out: list[bytes], trailers: Headers) -> None:
        """Nothing to write."""


def count_external(writer: BodyWriter, nbytes: int) -> None:
    """Count ``nbytes`` of body the caller sent itself, around the machine.

    Only a Content-Length body can carry bytes the machine never framed (a
    chunked body would need chunk lines around them); a HEAD response's
    discarded body accepts and ignores them. Nothing is queued.
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise LocalProtocolError(f"a byte count must be an int >= 0, not {nbytes!r}")
    if type(writer) is ContentLengthWriter:
        if nbytes > writer.remaining:
            raise LocalProtocolError(
                f"{nbytes} bytes is more than the {writer.remaining} Content-Length allows"
            )
        writer.remaining -= nbytes
    elif type(writer) is not DiscardWriter:
        raise LocalProtocolError("only a Content-Length body can be sent around the machine")


# -- heads ------------------------------------------------------------------------


def says_close(values: list[bytes] | None) -> bool:
    """Whether Connection field values hold the ``close`` option."""
    if not values:
        return False
    if len(values) == 1 and b"close" not in values[0].lower():
        return False
    return b"close" in connection_tokens(values)


def _framing(headers: Headers, *, chunked_ok: bool) -> BodyWriter | None:
    """The writer the application's framing fields ask for, or ``None``."""
    te = headers.lookup_raw(b"transfer-encoding")
    cl = headers.lookup_raw(b"content-length")
    if te and cl:
        raise LocalProtocolError("both Content-Length and Transfer-Encoding")
    if te:
        try:
            codings = transfer_codings(te)
        except RemoteProtocolError:
            codings = []
        if codings != [b"chunked"]:
            raise LocalProtocolError("Transfer-Encoding must be exactly chunked")
        return ChunkedWriter() if chunked_ok else CloseDelimitedWriter()
    if cl:
        if len(cl) == 1 and cl[0] == b"0":
            return ContentLengthWriter(0)
        try:
            return ContentLengthWriter(content_length(cl))
        except RemoteProtocolError:
            raise LocalProtocolError("invalid Content-Length") from None
    return None


def plan_request(event: Request) -> tuple[bytes, BodyWriter, frozenset[Kind], bool]:
    """``(head, writer, switch proposals, closes)`` for a request we send.

    Only HTTP/1.1 is sent, with exactly one Host. Without Content-Length or
    Transfer-Encoding the body is empty (requests are never close-delimited).
    """
    method = as_bytes(event.method, "method")
    target = as_bytes(event.target, "request-target")
    headers = as_headers(event.headers)
    if as_bytes(event.http_version, "version") != _V11:
        raise LocalProtocolError("only HTTP/1.1 requests are sent")
    if not method or method.translate(None, _TCHARS):
        raise LocalProtocolError(f"invalid method {method!r}")
    if not target or target.translate(None, _TARGET_OK):
        raise LocalProtocolError(f"invalid request-target {target!r}")
    lookup = headers.lookup_raw
    if len(lookup(b"host") or ()) != 1:
        raise LocalProtocolError("an HTTP/1.1 request needs exactly one Host field")
    writer = _framing(headers, chunked_ok=True) or ContentLengthWriter(0)
    head = _head(b"%s %s HTTP/1.1" % (method, target), headers)
    offers = proposals(method, bool(lookup(b"upgrade")))
    return head, writer, offers, says_close(lookup(b"connection"))


def _response_head(
    status: int, reason: bytes, headers: Headers, extra: bytes = b"", drop: bytes | None = None
) -> bytes:
    if reason.translate(None, _VALUE_OK):
        raise LocalProtocolError(f"invalid reason phrase {reason!r}")
    return _head(_STATUS_LINES[status] + reason, headers, extra, drop)


def _status(event: Response | InformationalResponse, lo: int, hi: int) -> int:
    status = event.status_code
    if isinstance(status, bool) or not isinstance(status, int) or not lo <= status <= hi:
        raise LocalProtocolError(f"{type(event).__name__} needs a status from {lo} to {hi}")
    if as_bytes(event.http_version, "version") != _V11:
        raise LocalProtocolError("only HTTP/1.1 responses are sent")
    return status


def plan_informational(event: InformationalResponse) -> tuple[bytes, Kind]:
    """``(head, kind)`` for a 1xx; 101 is the switch that accepts an Upgrade."""
    status = _status(event, 100, 199)
    head = _response_head(status, as_bytes(event.reason, "reason"), as_headers(event.headers))
    return head, Kind.SWITCH_UPGRADE if status == 101 else Kind.INFORMATIONAL


def plan_response(
    event: Response, *, method: bytes | None, peer_version: bytes | None, keep_alive: bool
) -> tuple[bytes, BodyWriter | None, Kind, bool]:
    """``(head, writer, kind, keep_alive)`` for a final response.

    ``method`` and ``peer_version`` describe the request being answered
    (``None`` when answering without one, such as a 400 for a bad request:
    the body is then close-delimited unless a Content-Length is given).
    """
    status = event.status_code
    if type(status) is not int or not 200 <= status <= 599 or event.http_version != _V11:
        status = _status(event, 200, 599)  # the exact checks, and their errors
    reason = event.reason
    if type(reason) is not bytes:
        reason = as_bytes(reason, "reason")
    headers = event.headers
    if type(headers) is not Headers:
        headers = as_headers(headers)
    lookup = headers.lookup_raw
    connection = lookup(b"connection")
    closes = connection is not None and says_close(connection)
    peer_11 = peer_version == _V11
    keep = keep_alive and peer_11 and not closes
    drop = None
    extra = b""
    writer: BodyWriter
    if method == b"CONNECT" and status < 300:
        head = _response_head(status, reason, headers)
        return head, None, Kind.SWITCH_CONNECT, keep
    if status in (204, 304):
        writer = ContentLengthWriter(0)
    elif method == b"HEAD":
        writer = DiscardWriter()
    else:
        cl = lookup(b"content-length")
        if cl is not None and len(cl) == 1 and cl[0] == b"0" and not lookup(b"transfer-encoding"):
            found: BodyWriter | None = ContentLengthWriter(0)  # what _framing says, sooner
        else:
            found = _framing(headers, chunked_ok=peer_11)
        if found is None:
            if peer_11:
                found = ChunkedWriter()
                extra = b"Transfer-Encoding: chunked\r\n"
            else:
                found = CloseDelimitedWriter()
        if type(found) is CloseDelimitedWriter:
            keep = False
            drop = b"transfer-encoding"
        writer = found
    if not keep and not closes:
        extra += b"Connection: close\r\n"
    # _response_head(), inlined
    if reason.translate(None, _VALUE_OK):
        raise LocalProtocolError(f"invalid reason phrase {reason!r}")
    items = headers.raw_items()
    if items and not headers.validated:
        check_fields(items)
    if drop is not None:
        items = [item for item in items if item[0].lower() != drop]
    head = b"\r\n".join([_STATUS_LINES[status] + reason, *map(_join_field, items), extra + b"\r\n"])
    return head, writer, _RESPONSE, keep
