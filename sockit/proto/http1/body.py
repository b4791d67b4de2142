"""Body framing: deciding it from a received head, and reading the body.

RFC 9112 §6 gives three ways a body ends: after Content-Length bytes, after
the last chunk of the chunked coding, or when the connection closes (for
responses only). :func:`request_framing` and :func:`response_framing` pick one
from a parsed head and refuse the heads request smuggling is made of:
Content-Length with Transfer-Encoding, differing or malformed lengths,
Transfer-Encoding not ending in ``chunked``, ``chunked`` twice, codings we do
not implement, Transfer-Encoding in an HTTP/1.0 message.

Readers turn buffered bytes into :class:`Data` and :class:`EndOfMessage`.
Each read hands out as much as is buffered (bounded by what the framing
allows) as one ``bytes`` object, so a large body costs one copy. Chunk-size
lines and trailer sections obey the rule the heads do: an incomplete element
is only refused for being longer than its bound, a complete one is checked
for length first and content second, so the outcome never depends on how the
bytes were split. The CRLF after chunk data is checked byte by byte.

The sending side's framing lives in :mod:`sockit.proto.http1.writer`.
"""

from __future__ import annotations

import re
from typing import Protocol

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.http.headers import Headers
from sockit.proto.http1.events import Data, EndOfMessage
from sockit.proto.http1.parser import HeadParser

__all__ = [
    "FORBIDDEN_TRAILERS",
    "BodyReader",
    "ChunkedReader",
    "CloseDelimitedReader",
    "ContentLengthReader",
    "InputBuffer",
    "check_transfer_encoding",
    "connection_tokens",
    "content_length",
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
_END_RE = re.compile(rb"\n\r?\n")
#: Fields that frame or route a message and so may never arrive as trailers.
FORBIDDEN_TRAILERS = frozenset({b"content-length", b"transfer-encoding", b"host"})


def _bad(message: str, status: int = 400) -> RemoteProtocolError:
    return RemoteProtocolError(message, http_status=status)


#: Empty lines tolerated before a start line (RFC 9112 §2.2 asks for "at least one").
MAX_LEADING_EMPTY_LINES = 8


class InputBuffer:
    """Received bytes not yet consumed: ``data[pos:]``.

    ``data`` is the caller's ``bytes`` object as long as a whole chunk is
    consumed before the next one arrives (the usual case: no copy at all),
    and becomes a ``bytearray`` only when leftovers have to be joined.
    """

    __slots__ = ("data", "pos", "scan", "skipped")

    def __init__(self) -> None:
        self.data: bytes | bytearray = b""
        self.pos = 0
        self.scan = 0  # bytes of the current head already searched for its end
        self.skipped = 0  # empty lines skipped before the current start line

    def new_message(self) -> None:
        """Forget the head search state (a new exchange starts)."""
        self.scan = 0
        self.skipped = 0

    def take_head(self, bound: int, bare_lf: bool) -> bytes | None:
        """The next complete head, consumed; ``None`` while incomplete.

        The head ends at the first ``LF [CR] LF``. Only bytes not searched
        before are searched (the scan backs up two bytes for a split
        terminator), and never past ``bound``: while incomplete, the only
        decision is "more than ``bound`` bytes" (LimitExceeded, 431), and a
        complete head longer than ``bound`` gets the same error. Up to
        :data:`MAX_LEADING_EMPTY_LINES` empty lines before it are skipped.
        """
        data = self.data
        pos = self.pos
        end = len(data)
        if pos == end:
            return None
        if data[pos] == 13 or data[pos] == 10:
            while True:
                if data.startswith(b"\r\n", pos):
                    pos += 2
                elif bare_lf and data[pos : pos + 1] == b"\n":
                    pos += 1
                else:
                    break
                self.skipped += 1
                if self.skipped > MAX_LEADING_EMPTY_LINES:
                    self.pos = pos
                    raise _bad("too many empty lines before the start line")
            self.pos = pos
            self.scan = 0
            if pos == end:
                return None
        m = _END_RE.search(data, pos + self.scan, pos + bound)
        if m is None:
            if end - pos > bound:
                raise LimitExceeded(
                    f"head is longer than max_header_block_size={bound}",
                    limit="max_header_block_size",
                    value=bound,
                    http_status=431,
                )
            self.scan = max(end - pos - 2, 0)
            return None
        stop = m.end()
        self.pos = stop
        self.scan = 0
        self.skipped = 0
        return data[pos:stop] if type(data) is bytes else bytes(data[pos:stop])

    def __len__(self) -> int:
        return len(self.data) - self.pos

    def append(self, chunk: bytes | bytearray | memoryview) -> None:
        """Add received bytes after the unconsumed ones."""
        data = self.data
        if self.pos >= len(data):
            self.data = chunk if type(chunk) is bytes else bytes(chunk)
            self.pos = 0
        elif type(data) is bytes:
            joined = bytearray(data[self.pos :])
            joined += chunk
            self.data = joined
            self.pos = 0
        else:
            data += chunk

    def take(self, n: int) -> bytes:
        """Consume ``n`` bytes (the caller checked they are there)."""
        data = self.data
        pos = self.pos
        end = pos + n
        self.pos = end
        if type(data) is bytes:
            return data[pos:end]
        if n <= 2048:
            return bytes(data[pos:end])
        with memoryview(data) as view:
            return view[pos:end].tobytes()

    def unconsumed(self) -> bytes:
        """The unconsumed bytes, not consumed."""
        data = self.data
        pos = self.pos
        return data[pos:] if type(data) is bytes else bytes(data[pos:])

    def compact(self) -> int:
        """Drop the consumed prefix when it is worth it; returns how much moved."""
        data = self.data
        pos = self.pos
        if not pos:
            return 0
        if pos >= len(data):
            self.data = b""
            self.pos = 0
            return pos
        if type(data) is bytearray and pos >= 4096 and 2 * pos >= len(data):
            del data[:pos]
            self.pos = 0
            return pos
        return 0


# -- framing decisions --------------------------------------------------------


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

    def read(self, inp: InputBuffer) -> Data | EndOfMessage | None:
        """The next event the buffered bytes complete, or ``None``."""
        ...

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """The peer closed: the end of the body, or a RemoteProtocolError."""
        ...


class ContentLengthReader:
    """A body of exactly ``length`` bytes."""

    __slots__ = ("remaining",)

    def __init__(self, length: int) -> None:
        self.remaining = length

    def read(self, inp: InputBuffer) -> Data | EndOfMessage | None:
        """Data for what is buffered (up to the end), then EndOfMessage."""
        remaining = self.remaining
        if not remaining:
            return EndOfMessage()
        avail = len(inp.data) - inp.pos
        if not avail:
            return None
        n = remaining if remaining < avail else avail
        self.remaining = remaining - n
        return Data(inp.take(n))

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """Closing early is an error; after the last byte it is not."""
        if self.remaining:
            raise _bad(f"connection closed with {self.remaining} body bytes missing")
        return EndOfMessage()


class CloseDelimitedReader:
    """A response body that ends when the server closes the connection."""

    __slots__ = ("_left",)

    def __init__(self, max_size: int | None) -> None:
        self._left = max_size

    def read(self, inp: InputBuffer) -> Data | EndOfMessage | None:
        """Data for everything buffered; the end only comes with EOF."""
        avail = len(inp.data) - inp.pos
        if not avail:
            return None
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
        return Data(inp.take(avail))

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """EOF is this body's end."""
        return EndOfMessage()


_SIZE, _DATA, _DATA_CR, _DATA_LF, _TRAILERS, _DONE = range(6)


class ChunkedReader:
    """The chunked transfer coding (RFC 9112 §7.1), trailers included."""

    __slots__ = (
        "_bare_lf",
        "_limits",
        "_max_body",
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
        # chunk-size digits, the extension (with its BWS) and the CR
        self._max_line = MAX_CHUNK_SIZE_DIGITS + limits.max_chunk_extension_size + 1
        self._state = _SIZE
        self._remaining = 0
        self._total = 0
        self._scan = 0  # bytes of the current line or section already searched

    def read(self, inp: InputBuffer) -> Data | EndOfMessage | None:
        """The next Data (part of a chunk) or the EndOfMessage with trailers."""
        while True:
            state = self._state
            data = inp.data
            pos = inp.pos
            avail = len(data) - pos
            if state == _DATA:
                if not avail:
                    return None
                remaining = self._remaining
                n = remaining if remaining < avail else avail
                self._remaining = remaining - n
                if n == remaining:
                    self._state = _DATA_CR
                return Data(inp.take(n))
            if not avail:
                return None
            if state == _SIZE:
                if not self._size_line(inp):
                    return None
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
                return self._trailers(inp)
            else:
                return None

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
        if size > limits.max_chunk_size:
            raise LimitExceeded(
                f"chunk of {size} bytes is over max_chunk_size={limits.max_chunk_size}",
                limit="max_chunk_size",
                value=limits.max_chunk_size,
                http_status=413,
            )
        total = self._total + size
        if self._max_body is not None and total > self._max_body:
            raise LimitExceeded(
                f"body is longer than max_body_size={self._max_body}",
                limit="max_body_size",
                value=self._max_body,
                http_status=413,
            )
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
                return EndOfMessage()
        elif first == 10:
            if not self._bare_lf:
                raise _bad("trailer section ends in a bare LF")
            inp.pos = pos + 1
            self._state = _DONE
            return EndOfMessage()
        max_trailer = self._limits.max_trailer_size
        bound = max_trailer + 2  # the fields, plus the empty line's CRLF
        m = _END_RE.search(data, pos + self._scan, pos + bound)
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
        return EndOfMessage(Headers.from_raw(fields))

    def on_eof(self, inp: InputBuffer) -> EndOfMessage:
        """A chunked body must end with its last chunk, never with EOF."""
        raise _bad("connection closed in the middle of a chunked body")
