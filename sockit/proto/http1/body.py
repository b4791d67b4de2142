"""Body framing: deciding it from a received head, and reading the body.

RFC 9112 §6 gives three ways a body ends: after Content-Length bytes, after
the last chunk of the chunked coding, or when the connection closes (for
responses only). :func:`content_length`, :func:`transfer_codings` and
:func:`check_transfer_encoding` give the connection what it needs to pick
one, and refuse the heads request smuggling is made of: Content-Length with
Transfer-Encoding, differing or malformed lengths, Transfer-Encoding not
ending in ``chunked``, ``chunked`` twice, codings we do not implement,
Transfer-Encoding in an HTTP/1.0 message. :func:`framing_index` picks the
fields involved out of a head in one pass.

Readers turn buffered bytes into :class:`Data` and :class:`EndOfMessage`,
adding every event the buffered bytes complete in one call. Each Data holds
as much as is buffered (bounded by what the framing allows) as one ``bytes``
object, so a large body costs one copy; a chunked body buffered whole gives
one Data per chunk. Chunk-size lines and trailer sections obey the rule the
heads do: an incomplete element is only refused for being longer than its
bound, a complete one is checked for length first and content second, so the
outcome never depends on how the bytes were split. The CRLF after chunk data
is checked byte by byte.

The sending side's framing lives in :mod:`sockit.proto.http1.writer`; the
buffer and the search for heads in :mod:`sockit.proto.http1.buffer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.events import DataReceived, Event
from sockit.proto.http.headers import Headers
from sockit.proto.http1.buffer import END_RE, InputBuffer
from sockit.proto.http1.events import Data, EndOfMessage, make_data, make_end
from sockit.proto.http1.parser import HeadParser

__all__ = [
    "FORBIDDEN_TRAILERS",
    "FRAMING_FIELDS",
    "BodyReader",
    "ChunkedReader",
    "CloseDelimitedReader",
    "ContentLengthReader",
    "InputBuffer",
    "check_transfer_encoding",
    "connection_tokens",
    "content_length",
    "framing_index",
    "transfer_codings",
]

_OWS = b" \t"
_DIGITS = b"0123456789"
#: More digits than this could not be a real length (and would make huge ints).
MAX_CONTENT_LENGTH_DIGITS = 19
#: Room for a chunk size's hex digits in the chunk-size line bound. More
#: digits are fine while the line fits (leading zeros); the value is what is
#: checked against ``max_chunk_size``.
MAX_CHUNK_SIZE_DIGITS = 16
_HEX_RE = re.compile(rb"[0-9A-Fa-f]*")
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_CHUNK_EXT_RE = re.compile(
    rb"(?:[ \t]*;[ \t]*" + _TOKEN + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?)+"
)
_PARAM = rb"[ \t]*;[ \t]*" + _TOKEN + rb"=(?:" + _TOKEN + rb"|" + _QUOTED + rb")"
_CODING_RE = re.compile(rb"(" + _TOKEN + rb")((?:" + _PARAM + rb")*)")
#: Fields that frame or route a message and so may never arrive as trailers.
FORBIDDEN_TRAILERS = frozenset({b"content-length", b"transfer-encoding", b"host"})


def _bad(message: str, status: int = 400) -> RemoteProtocolError:
    return RemoteProtocolError(message, http_status=status)


# -- framing decisions --------------------------------------------------------


#: The fields that frame, route or steer a request or response.
FRAMING_FIELDS = frozenset(
    {b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect"}
)


def framing_index(fields: list[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    """Lowered name -> values of the :data:`FRAMING_FIELDS` among ``fields`` (one pass).

    All a connection looks up in a received head, without the price of a
    full :class:`Headers` index (which is built only if the application asks).
    """
    index: dict[bytes, list[bytes]] = {}
    for name, value in fields:
        key = name.lower()
        if key in FRAMING_FIELDS:
            values = index.get(key)
            if values is None:
                index[key] = [value]
            else:
                values.append(value)
    return index


def content_length(values: list[bytes]) -> int:
    """The one length all Content-Length lines agree on (RFC 9110 §8.6).

    Each element must be ``1*DIGIT``; identical duplicates (``5, 5`` or two
    ``5`` lines) collapse into one, as §8.6 allows, but any two spellings
    that differ (even ``5`` and ``05``) are refused (400). A length of more
    than 19 significant digits is valid syntax but no body can be that
    large: it is refused with 413 before it ever becomes an int.
    """
    if len(values) == 1:
        value = values[0]
        if value.isdigit() and len(value) <= MAX_CONTENT_LENGTH_DIGITS:
            return int(value)
    first = None
    for value in values:
        for raw in value.split(b","):
            element = raw.strip(_OWS)
            if not element or element.translate(None, _DIGITS):
                raise _bad("invalid Content-Length")
            if first is None:
                first = element
            elif element != first:
                raise _bad("differing Content-Length values")
    if first is None:
        raise _bad("invalid Content-Length")
    if len(first.lstrip(b"0")) > MAX_CONTENT_LENGTH_DIGITS:
        raise _bad("Content-Length is too large", 413)
    return int(first)


def transfer_codings(values: list[bytes]) -> list[bytes]:
    """The lowercased coding names of Transfer-Encoding lines, in order.

    Empty list elements are ignored as RFC 9110 §5.6.1 asks; anything else
    that is not ``token *(OWS ";" OWS token "=" value)`` is refused, as is
    ``chunked`` with parameters.
    """
    names: list[bytes] = []
    for value in values:
        for raw in value.split(b","):
            element = raw.strip(_OWS)
            if not element:
                continue
            m = _CODING_RE.fullmatch(element)
            if m is None:
                raise _bad("malformed Transfer-Encoding")
            name = m[1].lower()
            if name == b"chunked" and m[2]:
                raise _bad("the chunked coding takes no parameters")
            names.append(name)
    if not names:
        raise _bad("empty Transfer-Encoding")
    return names


def connection_tokens(values: list[bytes]) -> set[bytes]:
    """The lowercased connection options of Connection lines."""
    out: set[bytes] = set()
    for value in values:
        for raw in value.lower().split(b","):
            element = raw.strip(_OWS)
            if element:
                out.add(element)
    return out


def check_transfer_encoding(codings: list[bytes], *, request: bool) -> bool:
    """Whether a message with these codings is chunked (else: read until close).

    Requests must end in ``chunked`` (400). Responses that do not are read
    until close (RFC 9112 §6.3 rule 4); the caller decides whether to allow
    that. ``chunked`` twice is refused (400); any coding besides ``chunked``
    in a chunked message is not implemented here (501).
    """
    if codings[-1] != b"chunked":
        if request:
            raise _bad("Transfer-Encoding in a request must end in chunked")
        return False
    if codings.count(b"chunked") > 1:
        raise _bad("chunked applied more than once")
    if len(codings) > 1:
        raise _bad("transfer codings other than chunked are not implemented", 501)
    return True


# -- readers ----------------------------------------------------------------


class BodyReader(Protocol):
    """Turns buffered bytes into body events."""

    def read(self, inp: InputBuffer, events: list[Event]) -> bool:
        """Add every event the buffered bytes complete to ``events``, in order.

        ``True`` once the EndOfMessage was added. An error is raised after
        the events that came before it were added (the caller returns those
        first), exactly as if they had been read one call at a time.
        """
        ...

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """The peer closed: the end of the body, or a RemoteProtocolError."""
        ...


class ContentLengthReader:
    """A body of exactly ``length`` bytes."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def read(self, inp: InputBuffer, events: list[Event]) -> bool:
        """Data for what is buffered (up to the end), then EndOfMessage."""
        remaining = self.remaining
        if remaining:
            avail = len(inp.data) - inp.pos
            if not avail:
                return False
            if avail < remaining:
                self.remaining = remaining - avail
                events.append(make_data(inp.take(avail)))
                return False
            self.remaining = 0
            events.append(make_data(inp.take(remaining)))
        events.append(make_end())
        return True

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """Closing early is an error; after the last byte it is not."""
        if self.remaining:
            raise _bad(f"connection closed with {self.remaining} body bytes missing")
        return make_end()


class CloseDelimitedReader:
    """A response body that ends when the server closes the connection."""

    __slots__ = ("_left",)

    def __init__(self, max_size: int | None) -> None:
        self._left = max_size

    def read(self, inp: InputBuffer, events: list[Event]) -> bool:
        """Data for everything buffered; the end only comes with EOF."""
        avail = len(inp.data) - inp.pos
        if not avail:
            return False
        left = self._left
        if left is not None:
            if not left:
                raise LimitExceeded(
                    f"body is longer than max_body_size={left}",
                    limit="max_body_size",
                    value=left,
                    http_status=413,
                )
            avail = min(avail, left)
            self._left = left - avail
        events.append(make_data(inp.take(avail)))
        return False

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """EOF is this body's end."""
        return make_end()


_SIZE, _DATA, _DATA_CR, _DATA_LF, _TRAILERS, _DONE = range(6)
#: The usual chunk-size line, whole: hex digits and CRLF (no extension). Any
#: other line, or one not complete yet, takes the general way.
_PLAIN_SIZE = re.compile(rb"([0-9A-Fa-f]{1,%d})\r\n" % MAX_CHUNK_SIZE_DIGITS).match
_NO_BOUND = 1 << 128  # more body than anyone will ever send: "no max_body_size"
_Append = Callable[[Event], None]
_new_event = object.__new__
_set_data = vars(DataReceived)["data"].__set__
#: The CRLF that ends a chunk's data, followed by the next plain size line.
_NEXT_SIZE = re.compile(rb"\r\n([0-9A-Fa-f]{1,%d})\r\n" % MAX_CHUNK_SIZE_DIGITS).match


class ChunkedReader:
    """The chunked transfer coding (RFC 9112 §7.1), trailers included."""

    __slots__ = (
        "_bare_lf",
        "_limits",
        "_max_body",
        "_max_chunk",
        "_max_line",
        "_parser",
        "_remaining",
        "_scan",
        "_state",
        "_total",
    )

    def __init__(self, limits: HTTP1Limits, parser: HeadParser, *, bare_lf: bool) -> None:
        self._limits = limits
        self._parser = parser
        self._bare_lf = bare_lf
        self._max_body = limits.max_body_size
        self._max_chunk = limits.max_chunk_size
        # chunk-size digits, the extension (with its BWS) and the CR
        self._max_line = MAX_CHUNK_SIZE_DIGITS + limits.max_chunk_extension_size + 1
        self._state = _SIZE
        self._remaining = 0
        self._total = 0
        self._scan = 0  # bytes of the current line or section already searched

    def read(self, inp: InputBuffer, events: list[Event]) -> bool:
        """Data for each (part of a) chunk buffered, then the EndOfMessage with trailers.

        A chunk whose data, CRLF and next plain size line are all buffered
        takes one pass of the loop; everything else goes through the states
        one element at a time, with the same checks in the same order.
        """
        append = events.append
        while True:
            state = self._state
            data = inp.data
            pos = inp.pos
            avail = len(data) - pos
            if state == _DATA:
                if not avail:
                    return False
                remaining = self._remaining
                if avail < remaining:
                    self._remaining = remaining - avail
                    append(make_data(inp.take(avail)))
                    return False
                append(make_data(inp.take(remaining)))
                pos += remaining
                if data.startswith(b"\r\n", pos):  # the CRLF ending the chunk is here
                    inp.pos = pos + 2
                    self._state = _SIZE
                else:
                    self._state = _DATA_CR
                continue
            if not avail:
                return False
            if state == _SIZE:
                m = _PLAIN_SIZE(data, pos)
                if m is not None and type(data) is bytes:
                    self._chunks(m, data, inp, append)
                elif not self._size_line(inp):
                    return False
            elif state == _DATA_CR:
                byte = data[pos]
                if byte == 13:
                    self._state = _DATA_LF
                elif byte == 10 and self._bare_lf:
                    self._state = _SIZE
                else:
                    raise _bad("chunk data is not followed by CRLF")
                inp.pos = pos + 1
            elif state == _DATA_LF:
                if data[pos] != 10:
                    raise _bad("chunk data is not followed by CRLF")
                inp.pos = pos + 1
                self._state = _SIZE
            elif state == _TRAILERS:
                end = self._trailers(inp)
                if end is None:
                    return False
                append(end)
                return True
            else:
                return False

    def _chunks(self, m: re.Match[bytes], data: bytes, inp: InputBuffer, append: _Append) -> None:
        """From the plain size line ``m`` in ``data``, every chunk that is buffered whole.

        Each turn checks a size exactly as :meth:`_size_line` does, adds the
        chunk's Data, and matches its CRLF together with the next plain size
        line; whatever is not that (a partial chunk, an extension, a bad
        CRLF, the last chunk) is left to the states, positioned where they
        would have got to.
        """
        end = len(data)
        max_chunk = self._max_chunk
        max_body = _NO_BOUND if self._max_body is None else self._max_body
        total = self._total
        self._scan = 0
        while True:
            size = int(m[1], 16)
            if size > max_chunk:
                self._chunk_too_big(size)
            total += size
            if total > max_body:
                self._body_too_big()
            start = m.end()
            stop = start + size
            if stop > end or not size:
                inp.pos = start
                self._total = total
                if size:
                    self._remaining = size
                    self._state = _DATA
                else:
                    self._state = _TRAILERS
                return
            event = _new_event(Data)  # make_data(), inlined
            _set_data(event, data[start:stop])
            append(event)
            following = _NEXT_SIZE(data, stop)
            if following is None:
                break
            m = following
        inp.pos = stop
        self._total = total
        self._state = _DATA_CR

    def _chunk_too_big(self, size: int) -> None:
        limit = self._max_chunk
        raise LimitExceeded(
            f"chunk of {size} bytes is over max_chunk_size={limit}",
            limit="max_chunk_size",
            value=limit,
            http_status=413,
        )

    def _body_too_big(self) -> None:
        limit = self._max_body
        assert limit is not None  # only called when there is a bound
        raise LimitExceeded(
            f"body is longer than max_body_size={limit}",
            limit="max_body_size",
            value=limit,
            http_status=413,
        )

    def _size_line(self, inp: InputBuffer) -> bool:
        data = inp.data
        pos = inp.pos
        bound = self._max_line
        nl = data.find(b"\n", pos + self._scan, pos + bound + 1)
        if nl < 0:
            avail = len(data) - pos
            if avail > bound:
                limit = self._limits.max_chunk_extension_size
                raise LimitExceeded(
                    f"chunk-size line is longer than {bound} bytes "
                    f"(max_chunk_extension_size={limit})",
                    limit="max_chunk_extension_size",
                    value=limit,
                    http_status=400,
                )
            self._scan = avail
            return False
        self._scan = 0
        line = bytes(data[pos:nl])
        inp.pos = nl + 1
        if line[-1:] == b"\r":
            line = line[:-1]
        elif not self._bare_lf:
            raise _bad("chunk-size line ends in a bare LF")
        digits = _HEX_RE.match(line)
        assert digits is not None  # matches the empty string
        ndigits = digits.end()
        limits = self._limits
        if len(line) - ndigits > limits.max_chunk_extension_size:
            raise LimitExceeded(
                f"chunk extension is longer than max_chunk_extension_size="
                f"{limits.max_chunk_extension_size}",
                limit="max_chunk_extension_size",
                value=limits.max_chunk_extension_size,
                http_status=400,
            )
        if not ndigits:
            raise _bad("invalid chunk size")
        if ndigits < len(line) and _CHUNK_EXT_RE.fullmatch(line, ndigits) is None:
            raise _bad("invalid chunk extension")
        size = int(line[:ndigits], 16)
        if size > self._max_chunk:
            self._chunk_too_big(size)
        total = self._total + size
        if self._max_body is not None and total > self._max_body:
            self._body_too_big()
        self._total = total
        if size:
            self._remaining = size
            self._state = _DATA
        else:
            self._state = _TRAILERS
        return True

    def _trailers(self, inp: InputBuffer) -> EndOfMessage | None:
        data = inp.data
        pos = inp.pos
        avail = len(data) - pos
        first = data[pos]
        if first == 13:
            if avail < 2:
                return None
            if data[pos + 1] == 10:
                inp.pos = pos + 2
                self._state = _DONE
                return make_end()
        elif first == 10:
            if not self._bare_lf:
                raise _bad("trailer section ends in a bare LF")
            inp.pos = pos + 1
            self._state = _DONE
            return make_end()
        max_trailer = self._limits.max_trailer_size
        bound = max_trailer + 2  # the fields, plus the empty line's CRLF
        m = END_RE.search(data, pos + self._scan, pos + bound)
        if m is None:
            if avail > bound:
                raise LimitExceeded(
                    f"trailer section is longer than max_trailer_size={max_trailer}",
                    limit="max_trailer_size",
                    value=max_trailer,
                    http_status=431,
                )
            self._scan = max(avail - 2, 0)
            return None
        end = m.end()
        section = bytes(data[pos:end])
        inp.pos = end
        self._scan = 0
        fields = self._parser.parse_trailers(section)
        for name, _ in fields:
            if name.lower() in FORBIDDEN_TRAILERS:
                raise _bad(f"{name.decode('ascii')} is not allowed in trailers")
        self._state = _DONE
        return make_end(Headers.from_raw(fields))

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """A chunked body must end with its last chunk, never with EOF."""
        raise _bad("connection closed in the middle of a chunked body")
