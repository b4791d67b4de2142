"""The client's :class:`Response`, its body stream, and the client-only errors.

A response is complete (``stream=False``, the default: the body was read,
decoded and capped before the call returned, and the connection is back in
the pool) or streaming (``stream=True``: only the head has been read; the
body is read as :meth:`Response.iter_bytes` is iterated, and the connection
goes back to the pool when the body has been read to its end, or is closed
by :meth:`Response.close` / the ``with`` block if it was not).
"""

from __future__ import annotations

import codecs
import datetime
import json
from collections.abc import Iterator
from typing import Any, Final, Protocol

from sockit._closing import Closing
from sockit.client.timeouts import Deadlines
from sockit.errors import (
    LimitExceeded,
    LocalProtocolError,
    Phase,
    RemoteProtocolError,
    SockitError,
)
from sockit.proto.events import Event
from sockit.proto.http import Headers, MediaType
from sockit.proto.http.status import reason_phrase
from sockit.proto.http.url import URL
from sockit.proto.http1 import Data, EndOfMessage
from sockit.proto.http1.coding import MultiDecoder

__all__ = ["BodyStream", "ContentDecodeError", "HTTPStatusError", "Response"]

_DATA: Final = Data
_END: Final = EndOfMessage


class BodySource(Protocol):
    """Where a body's events come from: an HTTP/1.1 connection or an HTTP/2 stream."""

    def next_event(self, dl: Deadlines, phase: Phase, timeout: float | None) -> Event:
        """The next response event."""
        ...

    def finish_exchange(self) -> bool:
        """After the end of the body: whether the source can be reused."""
        ...


class SourceKeeper(Protocol):
    """Who takes a source back when the body is done: the pool, or the HTTP/2 stream."""

    # the parameter is Any: each keeper takes back only its own kind of source

    def release(self, conn: Any) -> None:
        """The body was read to its end: reuse (or retire) the source."""
        ...

    def discard(self, conn: Any) -> None:
        """The body was abandoned: close the source."""
        ...

    def discard_later(self, conn: Any) -> None:
        """From a finalizer: close the source without taking locks."""
        ...


class HTTPStatusError(SockitError):
    """Raised by :meth:`Response.raise_for_status` for a 4xx or 5xx status.

    ``response`` is the response (its body already read unless streaming),
    ``status_code`` its status.
    """

    def __init__(self, message: str, *, response: Response) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code


class ContentDecodeError(RemoteProtocolError, ValueError):
    """The body is not what its decoding promised (:meth:`Response.json` on bad JSON).

    Also a ``ValueError``, as ``json.JSONDecodeError`` is.
    """


class BodyStream:
    """Reads one response body from its connection, then hands the connection back.

    Used by one thread at a time (the one that holds the response).
    """

    __slots__ = ("_conn", "_decoder", "_dl", "_pool", "_timeout", "done", "trailers")

    def __init__(
        self,
        conn: BodySource,
        pool: SourceKeeper,
        dl: Deadlines,
        decoder: MultiDecoder | None,
    ) -> None:
        self._conn: BodySource | None = conn
        self._pool = pool
        self._dl = dl
        self._timeout = dl.read
        self._decoder = decoder
        #: The body was read to its end (or the stream was closed).
        self.done = False
        #: Trailer fields that followed the body (chunked HTTP/1.1, HTTP/2), once read.
        self.trailers: Headers | None = None

    def unbounded(self, idle: float) -> None:
        """Streaming: no total deadline now, only the read timeout (``idle`` if none)."""
        read = idle if self._dl.read is None else self._dl.read
        self._dl = Deadlines(total=None, connect=None, read=read, write=None, dns=self._dl.dns)
        self._timeout = read

    def next_chunk(self) -> bytes | None:
        """The next decoded bytes (maybe ``b""``), ``None`` at the end of the body."""
        conn = self._conn
        if conn is None:
            if self.done:
                return None
            raise LocalProtocolError("the response was closed before its body was read")
        try:
            event = conn.next_event(self._dl, Phase.BODY, self._timeout)
            kind = type(event)
            if kind is _DATA:
                assert isinstance(event, Data)
                data = event.data
                if self._decoder is not None:
                    data = self._decoder.decompress(data)
                return bytes(data)
            if kind is not _END:
                raise RemoteProtocolError(f"unexpected {kind.__name__} in a response body")
            assert isinstance(event, EndOfMessage)
            if event.trailers:
                self.trailers = event.trailers
            tail = b"" if self._decoder is None else self._decoder.flush()
        except BaseException:
            self.close()
            raise
        self._conn = None
        self.done = True
        if conn.finish_exchange():
            self._pool.release(conn)
        else:
            self._pool.discard(conn)
        return tail or None

    def close(self) -> None:
        """Give up on the rest of the body: the connection is closed, not reused."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self.done = True
            self._pool.discard(conn)

    def abandon(self) -> None:
        """From a finalizer: close the socket and let the pool catch up later."""
        conn = self._conn
        if conn is not None:
            self._conn = None
            self.done = True
            self._pool.discard_later(conn)


def _too_large(cap: int) -> LimitExceeded:
    return LimitExceeded(
        f"response body is larger than max_response_size={cap} (use stream=True for more)",
        limit="max_response_size",
        value=cap,
        http_status=None,
    )


class Response(Closing):
    """An HTTP response: status, headers, and the body (read or streaming)."""

    __slots__ = (
        "_content",
        "_max_size",
        "_stream",
        "_streamed",
        "elapsed",
        "headers",
        "history",
        "http_version",
        "method",
        "reason",
        "status_code",
        "url",
    )

    def __init__(  # noqa: PLR0917 - built by the client only
        self,
        status_code: int,
        reason: str,
        headers: Headers,
        http_version: str,
        url: URL,
        method: str,
        elapsed: datetime.timedelta,
        stream: BodyStream | None,
        max_size: int,
    ) -> None:
        #: The status code (``200``).
        self.status_code = status_code
        #: The reason phrase as sent (ISO-8859-1 text; may be empty).
        self.reason = reason
        #: The response header fields.
        self.headers = headers
        #: ``"HTTP/1.1"`` or ``"HTTP/1.0"``.
        self.http_version = http_version
        #: The URL that was requested.
        self.url = url
        #: The redirect responses that led here, oldest first (closed).
        self.history: list[Response] = []
        #: The request method.
        self.method = method
        #: Time from the start of the request until the response head arrived.
        self.elapsed = elapsed
        self._stream = stream
        self._content: bytes | None = b"" if stream is None else None
        self._streamed = False
        self._max_size = max_size

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason}]>"

    # -- body -----------------------------------------------------------------

    def read(self) -> bytes:
        """Read the rest of the body into :attr:`content` (capped by ``max_response_size``)."""
        if self._content is not None:
            return self._content
        if self._streamed:
            raise LocalProtocolError("the body was already consumed by iter_bytes()")
        stream = self._stream
        assert stream is not None
        cap = self._max_size
        declared = self.headers.get("content-length")
        if (
            declared is not None
            and self.method != "HEAD"
            and self.status_code not in (204, 304)
            and declared.isdigit()
            and len(declared) < 20
            and int(declared) > cap
            and "content-encoding" not in self.headers
        ):
            stream.close()
            raise _too_large(cap)
        parts: list[bytes] = []
        size = 0
        while (chunk := stream.next_chunk()) is not None:
            size += len(chunk)
            if size > cap:
                stream.close()
                raise _too_large(cap)
            parts.append(chunk)
        self._content = parts[0] if len(parts) == 1 else b"".join(parts)
        return self._content

    @property
    def content(self) -> bytes:
        """The whole (decoded) body; reads it first for a streaming response."""
        if self._content is None:
            return self.read()
        return self._content

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The decoded body, piece by piece as it arrives.

        ``chunk_size`` re-cuts it into pieces of exactly that many bytes (the
        last may be shorter). The body can be iterated once; for a body that
        was already read, this iterates :attr:`content`.
        """
        if chunk_size is not None and (
            isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
        ):
            raise LocalProtocolError(f"chunk_size must be a positive int, not {chunk_size!r}")
        if self._content is not None:
            content = self._content
            step = chunk_size or len(content) or 1
            for i in range(0, len(content), step):
                yield content[i : i + step]
            return
        if self._streamed:
            raise LocalProtocolError("the body can be iterated only once")
        self._streamed = True
        stream = self._stream
        assert stream is not None
        try:
            if chunk_size is None:
                while (chunk := stream.next_chunk()) is not None:
                    if chunk:
                        yield chunk
                return
            buffer = bytearray()
            while (chunk := stream.next_chunk()) is not None:
                buffer += chunk
                while len(buffer) >= chunk_size:
                    yield bytes(buffer[:chunk_size])
                    del buffer[:chunk_size]
            if buffer:
                yield bytes(buffer)
        finally:
            if not stream.done:
                stream.close()

    @property
    def is_closed(self) -> bool:
        """Whether the connection is no longer held (body read, or closed)."""
        return self._stream is None or self._stream.done

    def close(self) -> None:
        """Release the connection; an unread streaming body closes it instead."""
        if self._stream is not None:
            self._stream.close()


    def __del__(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None and not stream.done:
            stream.abandon()

    # -- views of the body -----------------------------------------------------

    @property
    def trailers(self) -> Headers:
        """Trailer fields sent after the body (empty until the body is read, or if none)."""
        stream = self._stream
        if stream is None or stream.trailers is None:
            return Headers()
        return stream.trailers

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter of Content-Type, if any and known to Python."""
        value = self.headers.get("content-type")
        if value is None:
            return None
        try:
            charset = MediaType.parse(value).charset
            if charset is None:
                return None
            return codecs.lookup(charset).name
        except (SockitError, LookupError):
            return None

    @property
    def text(self) -> str:
        """The body as text: Content-Type's charset, else UTF-8; bad bytes become U+FFFD."""
        return self.content.decode(self.charset or "utf-8", errors="replace")

    def json(self) -> object:
        """The body parsed as JSON; :class:`ContentDecodeError` if it is not JSON."""
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError) as exc:
            raise ContentDecodeError(f"response body is not valid JSON: {exc}") from None

    # -- status -------------------------------------------------------------------

    @property
    def is_success(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status_code < 300

    def raise_for_status(self) -> Response:
        """Raise :class:`HTTPStatusError` for a 4xx or 5xx status; return ``self`` otherwise."""
        code = self.status_code
        if code >= 400:
            kind = "client error" if code < 500 else "server error"
            reason = self.reason or (reason_phrase(code) if code < 600 else "")
            raise HTTPStatusError(f"{code} {reason} ({kind}) for {self.url}", response=self)
        return self
