"""Request bodies: what the caller may pass, and how each one is framed.

* ``None``: no body (``Content-Length: 0`` for POST, PUT and PATCH); replayable.
* ``bytes``, ``bytearray``, ``memoryview``: ``Content-Length``; replayable.
* ``str``: encoded as UTF-8, ``Content-Length``; replayable.
* a binary file (``read()`` returns bytes): ``Content-Length`` when its size
  is known (a regular file or ``BytesIO``), else chunked; replayable if
  seekable (it is sent again from where it stood).
* any other iterable of bytes: ``Transfer-Encoding: chunked``; not replayable.

A caller-supplied ``Content-Length`` or ``Transfer-Encoding`` wins over the
table (the HTTP/1.1 machine then enforces the declared length exactly).
*Replayable* bodies can be sent again, which is what allows the one retry on a
stale pooled connection (see :mod:`sockit.client.client`).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from typing import IO, Final

from sockit.errors import LocalProtocolError
from sockit.proto.http import Headers

__all__ = ["BodyInput", "RequestBody", "prepare_body"]

#: What ``body=`` accepts.
BodyInput = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes] | None

#: Read size for file bodies.
FILE_CHUNK: Final = 64 * 1024

_WANTS_LENGTH: Final = frozenset({"POST", "PUT", "PATCH"})


class RequestBody:
    """A prepared body: framing header, whole bytes or a chunk source, replayability."""

    __slots__ = (
        "_file", "_iterable", "_offset", "_started", "content", "length", "replayable", "trailers",
    )

    def __init__(
        self,
        *,
        content: bytes | None = None,
        file: IO[bytes] | None = None,
        length: int | None = None,
        iterable: Iterable[bytes] | None = None,
    ) -> None:
        #: The whole body when it is in memory (sent with the head in one write).
        self.content = content
        #: ``Content-Length`` to declare, ``None`` for chunked.
        self.length = len(content) if content is not None else length
        self._file = file
        self._iterable = iterable
        self._started = False
        self._offset = 0
        if file is not None:
            try:
                self._offset = file.tell() if file.seekable() else -1
            except (OSError, ValueError):
                self._offset = -1
        #: Trailer fields sent after a chunked body (HTTP/1.1), if any.
        self.trailers: Headers | None = None
        #: Whether the body can be produced again for a retry.
        self.replayable = content is not None or (file is not None and self._offset >= 0)

    def framing(self) -> tuple[bytes, bytes]:
        """The header field that frames this body."""
        if self.length is None:
            return (b"Transfer-Encoding", b"chunked")
        return (b"Content-Length", b"%d" % self.length)

    def chunks(self) -> Iterator[bytes]:
        """The body's bytes, piece by piece (rewinding a replayable file first)."""
        if self.content is not None:
            if self.content:
                yield self.content
            return
        if self._file is not None:
            yield from self._file_chunks(self._file)
            return
        if self._started:
            raise LocalProtocolError("an iterator body cannot be sent twice")
        self._started = True
        assert self._iterable is not None
        for chunk in self._iterable:
            if isinstance(chunk, (bytes, bytearray, memoryview)):
                if chunk:
                    yield bytes(chunk)
            else:
                raise LocalProtocolError(
                    f"body iterables must yield bytes, not {type(chunk).__name__}"
                )

    def _file_chunks(self, file: IO[bytes]) -> Iterator[bytes]:
        if self._started:
            if self._offset < 0:
                raise LocalProtocolError("a non-seekable file body cannot be sent twice")
            file.seek(self._offset)
        self._started = True
        while True:
            chunk = file.read(FILE_CHUNK)
            if not chunk:
                return
            if not isinstance(chunk, (bytes, bytearray)):
                raise LocalProtocolError("file bodies must be opened in binary mode")
            yield bytes(chunk)


def _file_size(file: IO[bytes]) -> int | None:
    """Bytes left to read in ``file`` when that is knowable (a regular file), else None."""
    try:
        fd = file.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        return max(0, st.st_size - file.tell())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    if isinstance(file, io.BytesIO):
        return len(file.getbuffer()) - file.tell()
    return None


def prepare_body(body: BodyInput, method: str) -> RequestBody | None:
    """Classify ``body`` (see the module table); ``None`` when nothing is sent."""
    if body is None:
        return RequestBody(content=b"") if method in _WANTS_LENGTH else None
    if isinstance(body, bytes):
        return RequestBody(content=body)
    if isinstance(body, (bytearray, memoryview)):
        return RequestBody(content=bytes(body))
    if isinstance(body, str):
        return RequestBody(content=body.encode("utf-8"))
    read = getattr(body, "read", None)
    if callable(read):
        file: IO[bytes] = body  # type: ignore[assignment]
        return RequestBody(file=file, length=_file_size(file))
    if isinstance(body, Iterable):
        return RequestBody(iterable=body)
    raise LocalProtocolError(
        f"body must be bytes, str, a binary file or an iterable of bytes, not "
        f"{type(body).__name__}"
    )
