"""Range answers for :class:`~sockit.server.StaticFiles`: the plan and the bodies.

:func:`plan_ranges` turns a ``Range`` value into ``200`` (ignore it), ``206``
with the ranges to send, or ``416``. Two bodies carry the bytes:

- :class:`FileRange`, one slice of an open file. Today the server pulls it
  as an iterable (``os.pread`` in 64 KiB chunks: a copy through user space);
  it exposes ``file``/``offset``/``count`` so the server can send it with
  ``sendfile`` once ``body_kind`` recognises it.
- :class:`MultipartRanges`, a ``multipart/byteranges`` body (RFC 9110 §14.6)
  whose exact length is known up front (:attr:`MultipartRanges.length`).

Both close the file when they finish or are closed unfinished.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from typing import IO

from sockit.errors import LimitExceeded, NetworkError
from sockit.proto.http import InvalidHeader, format_content_range, parse_range
from sockit.server.request import FileSlice

__all__ = ["FileRange", "MultipartRanges", "plan_ranges"]

#: Bytes per ``os.pread`` when a slice is pulled rather than sent with ``sendfile``.
CHUNK = 64 * 1024


def plan_ranges(value: bytes, size: int, max_ranges: int) -> tuple[int, list[tuple[int, int]]]:
    """``(status, ranges)`` for a Range value on a ``size``-byte representation.

    ``200``: send everything — the value is malformed, not in ``bytes``, has
    more than ``max_ranges`` ranges, or is satisfiable only as an empty
    suffix of an empty file (RFC 9110 §14.2 lets a server ignore Range).
    ``206``: the inclusive ``(first, last)`` ranges, sorted, with overlapping
    and adjacent ones merged (so ``0-,0-,0-`` costs one part). ``416``: none
    of the ranges starts inside the representation.
    """
    try:
        request = parse_range(value, max_ranges=max_ranges)
    except (InvalidHeader, LimitExceeded):
        return 200, []
    if request is None:
        return 200, []
    ranges = request.resolve(size)
    if ranges is None:
        return 416, []
    if not ranges:
        return 200, []
    return 206, ranges


class _Closing:
    """Shared by the bodies: a file closed exactly once, at the end or on :meth:`close`."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file

    def close(self) -> None:
        """Release the file; the server calls this when a body will not be finished."""
        self.file.close()

    def _chunks(self, offset: int, count: int) -> Iterator[bytes]:
        fd = self.file.fileno()
        while count > 0:
            chunk = os.pread(fd, min(count, CHUNK), offset)
            if not chunk:
                raise NetworkError(0, "the file shrank while it was being sent")
            offset += len(chunk)
            count -= len(chunk)
            yield chunk


class FileRange(_Closing, FileSlice):
    """``count`` bytes of ``file`` from ``offset``: the body of a single-range ``206``."""

    def __init__(self, file: IO[bytes], offset: int, count: int) -> None:
        _Closing.__init__(self, file)
        FileSlice.__init__(self, file, offset, count)
        self._it: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = self._chunks(self.offset, self.count)
        try:
            return next(self._it)
        except BaseException:
            self.close()
            raise


class MultipartRanges(_Closing):
    """A ``multipart/byteranges`` body: one part per range, each with its Content-Range.

    The boundary is 24 random hex digits, so it cannot be predicted (and
    planted in the file) by a client.
    """

    def __init__(
        self, file: IO[bytes], ranges: Sequence[tuple[int, int]], size: int, content_type: str
    ) -> None:
        super().__init__(file)
        self.boundary = secrets.token_hex(12)
        self.ranges = list(ranges)
        delimiter = b"--" + self.boundary.encode()
        self._heads = []
        for i, (first, last) in enumerate(self.ranges):
            head = b"\r\n" if i else b""
            head += delimiter + b"\r\nContent-Type: " + content_type.encode("latin-1")
            head += b"\r\nContent-Range: " + format_content_range(first, last, size).encode()
            self._heads.append(head + b"\r\n\r\n")
        self._tail = b"\r\n" + delimiter + b"--\r\n"
        #: The exact number of bytes the body yields (its Content-Length).
        self.length = (
            sum(len(h) for h in self._heads)
            + sum(last - first + 1 for first, last in self.ranges)
            + len(self._tail)
        )
        self._it: Iterator[bytes] | None = None

    @property
    def content_type(self) -> str:
        """The response's Content-Type, naming the boundary."""
        return f"multipart/byteranges; boundary={self.boundary}"

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._it is None:
            self._it = self._parts()
        try:
            return next(self._it)
        except BaseException:
            self.close()
            raise

    def _parts(self) -> Iterator[bytes]:
        for head, (first, last) in zip(self._heads, self.ranges, strict=True):
            yield head
            yield from self._chunks(first, last - first + 1)
        yield self._tail
