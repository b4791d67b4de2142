"""Received bytes, and finding the heads in them.

:class:`InputBuffer` holds what the peer sent and the connection has not
consumed yet, without copying the caller's ``bytes`` in the usual case. It
finds where a head ends (RFC 9112 §2.2: the first empty line), bounding the
search so an endless head is refused by size, and it validates a start line
as soon as the line is complete; see :meth:`InputBuffer.take_head` for the
order in which those decisions are made, whatever the split.
"""

from __future__ import annotations

import re

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.proto.http1.parser import HeadParser, ParsedRequest, ParsedResponse

__all__ = ["END_RE", "MAX_LEADING_EMPTY_LINES", "WHOLE_HEAD", "InputBuffer"]

#: The end of a head or trailer section: an empty line (LF, optional CR, LF).
END_RE = re.compile(rb"\n\r?\n")
#: Empty lines tolerated before a start line (RFC 9112 §2.2 asks for "at least one").
MAX_LEADING_EMPTY_LINES = 8
#: Up to this many buffered bytes ending in CRLF CRLF are tried as one whole head.
WHOLE_HEAD = 4096


def _bad(message: str, status: int = 400) -> RemoteProtocolError:
    return RemoteProtocolError(message, http_status=status)


class InputBuffer:
    """Received bytes not yet consumed: ``data[pos:]``.

    ``data`` is the caller's ``bytes`` object as long as a whole chunk is
    consumed before the next one arrives (the usual case: no copy at all),
    and becomes a ``bytearray`` only when leftovers have to be joined.
    """

    __slots__ = ("data", "line", "pos", "scan", "skipped")

    def __init__(self) -> None:
        self.data: bytes | bytearray = b""
        self.pos = 0
        self.scan = 0  # bytes of the current head already searched for its end
        self.line = 0  # bytes of its start line searched for an LF; -1: line validated
        self.skipped = 0  # empty lines skipped before the current start line

    def new_message(self) -> None:
        """Forget the head search state (a new exchange starts)."""
        self.scan = 0
        self.line = 0
        self.skipped = 0

    def take_head(
        self, bound: int, bare_lf: bool, parser: HeadParser, request: bool
    ) -> bytes | None:
        """The next complete head, consumed; ``None`` while incomplete.

        The head ends at the first ``LF [CR] LF``. Only bytes not searched
        before are searched (the scan backs up two bytes for a split
        terminator), and never past ``bound``. Up to
        :data:`MAX_LEADING_EMPTY_LINES` empty lines before it are skipped.

        Decisions come in a fixed order, whatever the split: while the start
        line is incomplete, the only one is "longer than its bound" (414, or
        431 for a status line); once its LF is here the line is validated,
        once (:meth:`HeadParser.check_start_line`); only then is a head of
        more than ``bound`` bytes refused (LimitExceeded, 431), complete or
        not. A head found within ``bound`` goes to the parser, which checks
        its start line first as well.
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
            self.line = 0
            if pos == end:
                return None
        m = END_RE.search(data, pos + self.scan, pos + bound)
        if m is None:
            self.scan = max(end - pos - 2, 0)
            if self.line >= 0 and not self._start_line(parser, request):
                return None
            if end - pos > bound:
                raise LimitExceeded(
                    f"head is longer than max_header_block_size={bound}",
                    limit="max_header_block_size",
                    value=bound,
                    http_status=431,
                )
            return None
        stop = m.end()
        self.pos = stop
        self.scan = 0
        self.line = 0
        self.skipped = 0
        return data[pos:stop] if type(data) is bytes else bytes(data[pos:stop])

    def _start_line(self, parser: HeadParser, request: bool) -> bool:
        """Validate the start line once its LF is here; ``False`` while it is not."""
        data = self.data
        pos = self.pos
        end = len(data)
        limit = parser.start_line_bound(request)
        stop = pos + limit + 2  # the line, its CR and its LF
        nl = data.find(b"\n", pos + self.line, stop if stop < end else end)
        if nl < 0:
            if end - pos > limit + 1:
                raise parser.overlong_start_line(request)
            self.line = end - pos
            return False
        parser.check_start_line(bytes(data[pos:nl]), request)
        self.line = -1
        return True

    # -- taking heads -----------------------------------------------------------
    #
    # The usual head is taken in place: found with one ``bytes.find`` of
    # CRLF CRLF (or, for a small buffer that ends in one, taken as the whole
    # buffer) and parsed by the parser's fast path on the buffer itself, with
    # no regex search for its end and no copy. When the fast path proves a
    # slice valid, that slice is exactly the head take_head() would find:
    # its tiling leaves no room for an earlier empty line or a bare LF. Only
    # tried before anything was searched (``scan`` is 0), so a head arriving
    # in pieces is still searched once, never rescanned.

    def take_request(self, parser: HeadParser, bound: int) -> ParsedRequest | None:
        """The next request head, consumed and parsed; ``None`` while incomplete."""
        if not self.scan:
            stop = self._whole_head(bound)
            if stop:
                parsed = parser.fast_request(self.data, self.pos, stop)
                if parsed is not None:
                    self._took(stop)
                    return parsed
        head = self.take_head(bound, False, parser, True)
        return None if head is None else parser.parse_request(head)

    def take_response(self, parser: HeadParser, bound: int, bare_lf: bool) -> ParsedResponse | None:
        """The next response head, consumed and parsed; ``None`` while incomplete."""
        if not self.scan:
            stop = self._whole_head(bound)
            if stop:
                parsed = parser.fast_response(self.data, self.pos, stop)
                if parsed is not None:
                    self._took(stop)
                    return parsed
        head = self.take_head(bound, bare_lf, parser, False)
        return None if head is None else parser.parse_response(head)

    def _whole_head(self, bound: int) -> int:
        """Where the head would end if it is an ordinary one (0: no CRLF CRLF yet)."""
        data = self.data
        pos = self.pos
        end = len(data)
        if not pos and end <= WHOLE_HEAD and end <= bound and data.endswith(b"\r\n\r\n"):
            # A small buffer ending in one, as most are: try it whole. If that
            # fails (pipelined heads), at most WHOLE_HEAD bytes were matched.
            return end
        found = data.find(b"\r\n\r\n", pos, pos + bound)
        return found + 4 if found >= 0 else 0

    def _took(self, stop: int) -> None:
        self.pos = stop
        self.line = 0
        self.skipped = 0

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
