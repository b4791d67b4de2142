"""What the server hands out (:class:`ServerRequest`) and what apps return (:class:`Response`).

A :class:`ServerRequest` is a complete request: head *and* body, read and
bounded by the server before the request is yielded, so application code
never waits on the network. Fields decode lazily: a handler that only looks
at ``path`` never pays for decoding headers or the query.

Answering is one call, :meth:`ServerRequest.respond`, whose ``body`` is
``bytes``, an iterable of ``bytes`` (streamed, pulled as the socket drains),
or a binary file object (sent with ``sendfile``). See ``docs/server.md``.
"""

from __future__ import annotations

import io
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeAlias

from sockit.errors import LocalProtocolError
from sockit.proto.http import Headers, HeadersInput, parse_query
from sockit.proto.http1 import EndOfMessage, Request

if TYPE_CHECKING:
    from sockit.limits import WSLimits
    from sockit.proto.ws import DeflateConfig
    from sockit.server.core import HTTPServer
    from sockit.server.ws import WebSocket


class RequestOwner(Protocol):
    """What a :class:`ServerRequest` answers through: an HTTP/1.1 connection or an HTTP/2 stream."""

    @property
    def server(self) -> HTTPServer:
        """The server the request arrived at."""
        ...

    @property
    def keep_alive(self) -> bool:
        """Whether more requests may follow on the connection."""
        ...

    @property
    def closed(self) -> bool:
        """Whether the answer can no longer be sent."""
        ...

    close_after: bool

    def respond(
        self,
        req: ServerRequest,
        status: int,
        headers: HeadersInput | None,
        body: ResponseBody,
        reason: str | None,
    ) -> None:
        """Start the response to ``req``."""
        ...

    def send_informational(self, req: ServerRequest, status: int, headers: Headers) -> None:
        """Send a 1xx interim head before the final answer to ``req`` (loop thread only)."""
        ...

    def send_error(self, status: int) -> None:
        """Answer with a short error text."""
        ...

    def is_websocket(self, req: ServerRequest) -> bool:
        """Whether ``req`` asks for a WebSocket (Upgrade, or RFC 8441 extended CONNECT)."""
        ...

    def accept_websocket(
        self,
        req: ServerRequest,
        subprotocol: str | None,
        compression: bool | DeflateConfig,
        limits: WSLimits | None,
    ) -> WebSocket:
        """Switch the connection to WebSocket for ``req``."""
        ...

__all__ = [
    "Address",
    "FileSlice",
    "RequestOwner",
    "Response",
    "ResponseBody",
    "ServerRequest",
    "body_kind",
]

_HEX = frozenset(b"0123456789abcdefABCDEF")

#: A response body: bytes, an iterable of bytes chunks, or a binary file object.
ResponseBody: TypeAlias = "bytes | bytearray | memoryview | Iterable[bytes] | IO[bytes]"
#: A peer address: ``(host, port)`` (IPv6: four items) or a Unix socket path.
Address: TypeAlias = "tuple[Any, ...] | str"


@dataclass(slots=True)
class Response:
    """What an application returns from ``app(request)`` in :func:`~sockit.server.serve`."""

    status: int = 200
    headers: HeadersInput | None = None
    body: ResponseBody = b""
    #: The reason phrase; ``None`` uses the registered one (``"Not Found"``).
    reason: str | None = field(default=None, kw_only=True)


class ServerRequest:
    """One complete request on one connection; answer it with :meth:`respond`.

    ``method``, ``target`` and ``http_version`` are text (the bytes on the
    wire are ASCII, checked by the parser); ``raw_path`` is the
    request-target's path as sent (percent-escapes intact), ``path`` the same
    percent-decoded as UTF-8 (undecodable octets become U+FFFD — use
    ``raw_path`` for anything security-relevant, as :class:`StaticFiles`
    does). ``query`` is the raw query string without ``?``.
    """

    __slots__ = ("_conn", "_end", "_event", "_responded", "_split", "body", "client")

    def __init__(
        self,
        conn: RequestOwner,
        event: Request,
        body: bytes,
        end: EndOfMessage | None,
        client: Address,
    ) -> None:
        self._conn = conn
        self._event = event
        self._responded = False
        self._split: tuple[bytes, bytes] | None = None
        #: The whole request body (at most ``ServerLimits.max_body_size`` bytes).
        self.body = body
        self._end = end
        #: The peer's address: ``(host, port, ...)`` for TCP, the socket path for Unix.
        self.client = client

    def __repr__(self) -> str:
        return f"<ServerRequest {self.method} {self.target} from {self.client!r}>"

    # -- the head -----------------------------------------------------------------

    @property
    def method(self) -> str:
        """The method, as sent (``"GET"``; methods are case-sensitive)."""
        return self._event.method.decode("ascii")

    @property
    def target(self) -> str:
        """The request-target, as sent (``"/a%20b?x=1"``)."""
        return self._event.target.decode("latin-1")

    @property
    def headers(self) -> Headers:
        """The header fields."""
        return self._event.headers

    @property
    def http_version(self) -> str:
        """``"1.1"`` or ``"1.0"``."""
        return self._event.http_version.decode("ascii")

    @property
    def trailers(self) -> Headers:
        """Trailer fields of a chunked body (empty otherwise)."""
        return Headers() if self._end is None else self._end.trailers

    @property
    def event(self) -> Request:
        """The HTTP/1.1 machine's :class:`~sockit.proto.http1.Request` event."""
        return self._event

    def _parts(self) -> tuple[bytes, bytes]:
        split = self._split
        if split is None:
            split = self._split = _split_target(self._event.target)
        return split

    @property
    def raw_path(self) -> bytes:
        """The path of the request-target, percent-escapes intact (``b"/a%20b"``)."""
        return self._parts()[0]

    @property
    def path(self) -> str:
        """The path, percent-decoded as UTF-8 (U+FFFD for undecodable octets)."""
        raw = self._parts()[0]
        if b"%" not in raw:
            return raw.decode("latin-1")
        return _percent_decode(raw).decode("utf-8", "replace")

    @property
    def query(self) -> str:
        """The raw query string, without ``?`` (``""`` if none)."""
        return self._parts()[1].decode("latin-1")

    @property
    def query_params(self) -> list[tuple[str, str]]:
        """The query as decoded ``(name, value)`` pairs (form conventions)."""
        return parse_query(self.query)

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this one."""
        return self._conn.keep_alive

    @property
    def responded(self) -> bool:
        """Whether :meth:`respond` was called."""
        return self._responded

    # -- answering ----------------------------------------------------------------

    def respond(
        self,
        status: int,
        headers: HeadersInput | None = None,
        body: ResponseBody = b"",
        *,
        reason: str | None = None,
    ) -> None:
        """Answer this request (once). Non-blocking: the server sends it from its loop.

        ``body`` may be ``bytes`` (a Content-Length is added), an iterable
        of ``bytes`` (chunked to HTTP/1.1 clients, close-delimited to 1.0;
        pulled only while the socket drains) or a binary file object (sent
        with ``sendfile`` and a Content-Length from its size minus its
        position; the server closes it when done). Call it from the loop's
        thread, or from any other thread: then it is handed to the loop and
        runs there (the iterable is pulled on the loop's thread).
        Header errors raise :class:`~sockit.errors.LocalProtocolError` on
        the loop's thread; the connection is then closed.
        """
        if self._responded:
            raise LocalProtocolError("this request was already answered")
        self._responded = True
        conn = self._conn
        loop_thread = conn.server.loop_thread
        if loop_thread is not None and loop_thread != threading.get_ident():
            conn.server.call_soon(lambda: conn.respond(self, status, headers, body, reason))
            return
        conn.respond(self, status, headers, body, reason)

    def send_informational(self, status: int, headers: HeadersInput | None = ()) -> None:
        """Send an interim ``1xx`` head (``103 Early Hints``) before the final response.

        Lets a client start fetching (``Link: </style.css>; rel=preload``) while
        the answer is still being computed. Any 1xx but ``101`` (that one is
        :meth:`accept_websocket`'s); may be called several times, but only
        before :meth:`respond`, which otherwise raises
        :class:`~sockit.errors.LocalProtocolError` like a bad status or field
        does (checked here, on the caller's thread). HTTP/1.0 clients do not
        understand interim responses, so for them it does nothing (RFC 9110
        §15.2). Thread-safe like :meth:`respond`; if the client left, the head
        is dropped.
        """
        if self._responded:
            raise LocalProtocolError("an interim response must come before the final one")
        if type(status) is not int or not 100 <= status <= 199 or status == 101:
            raise LocalProtocolError(f"an interim status is 100-199 except 101, not {status!r}")
        fields = Headers(headers)
        if self._event.http_version == b"1.0":
            return
        conn = self._conn
        loop_thread = conn.server.loop_thread
        if loop_thread is not None and loop_thread != threading.get_ident():
            conn.server.call_soon(lambda: conn.send_informational(self, status, fields))
            return
        conn.send_informational(self, status, fields)

    @property
    def is_websocket(self) -> bool:
        """Whether this asks for a WebSocket: ``GET`` with ``Upgrade: websocket`` over
        HTTP/1.1, or an extended ``CONNECT`` with ``:protocol websocket`` over HTTP/2."""
        return self._conn.is_websocket(self)

    def accept_websocket(
        self,
        subprotocol: str | None = None,
        *,
        compression: bool | DeflateConfig = True,
        limits: WSLimits | None = None,
    ) -> WebSocket:
        """Answer ``101 Switching Protocols`` and return the connection as a :class:`WebSocket`.

        ``subprotocol`` must be one the client offered (``websocket_subprotocols``);
        ``compression`` accepts a permessage-deflate offer (``True``: default
        parameters; a :class:`~sockit.proto.ws.DeflateConfig` to choose them;
        ``False``: none). ``limits`` replace the server's ``WSLimits`` for this
        connection. A request that is not a valid upgrade is answered
        ``400`` (or ``426`` for another WebSocket version) and
        :class:`~sockit.proto.ws.HandshakeError` is raised. Thread-safe.
        """
        return self._conn.accept_websocket(self, subprotocol, compression, limits)

    @property
    def websocket_subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        values = self._event.headers.get_all("sec-websocket-protocol")
        return [p.strip() for value in values for p in value.split(",") if p.strip()]

    def respond_response(self, response: Response) -> None:
        """:meth:`respond` with the fields of a :class:`Response`."""
        self.respond(response.status, response.headers, response.body, reason=response.reason)


def _split_target(target: bytes) -> tuple[bytes, bytes]:
    """``(path, query)`` of any request-target form (RFC 9112 §3.2)."""
    path, _, query = target.partition(b"?")
    if path[:1] == b"/" or path == b"*":
        return path, query
    scheme_end = path.find(b"://")
    if scheme_end > 0:  # absolute-form: the path follows the authority
        slash = path.find(b"/", scheme_end + 3)
        return (path[slash:] if slash >= 0 else b"/"), query
    return b"", query  # authority-form (CONNECT)


def _percent_decode(raw: bytes) -> bytes:
    """Decode ``%XX``; a ``%`` not followed by two hex digits stays as it is."""
    parts = raw.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) >= 2 and part[0] in _HEX and part[1] in _HEX:
            out.append(int(part[:2], 16))
            out += part[2:]
        else:
            out += b"%"
            out += part
    return bytes(out)


# -- bodies -------------------------------------------------------------------------


class FileSlice:
    """``count`` bytes of a regular ``file`` from ``offset``, sent with ``sendfile``.

    Return one (or a subclass) as a response body to send part of a file
    without copying it through Python (a single ``Range``); the server
    closes ``file`` when done.
    """

    def __init__(self, file: IO[bytes], offset: int, count: int) -> None:
        self.file = file
        self.offset = offset
        self.count = count


def body_kind(body: object) -> tuple[str, Any]:
    """Classify a body: ``("bytes", b)``, ``("file", (f, offset, size))`` or ``("iter", it)``.

    A file is anything with ``fileno()`` naming a regular file; other
    readable objects (pipes, ``BytesIO``) are read in chunks as an iterable.
    ``str`` is refused: bodies are bytes (encode explicitly).
    """
    if type(body) is bytes:
        return "bytes", body
    if isinstance(body, (bytearray, memoryview)):
        return "bytes", bytes(body)
    if isinstance(body, str):
        raise TypeError("a response body must be bytes, not str (encode it)")
    if isinstance(body, FileSlice):
        return "file", (body.file, body.offset, body.count)
    read = getattr(body, "read", None)
    if read is not None:
        try:
            fd = body.fileno()  # type: ignore[attr-defined]
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return "iter", _read_chunks(body)  # type: ignore[arg-type]
        if stat.S_ISREG(st.st_mode):
            offset = body.tell()  # type: ignore[attr-defined]
            return "file", (body, offset, max(0, st.st_size - offset))
        return "iter", _read_chunks(body)  # type: ignore[arg-type]
    if isinstance(body, Iterable):
        return "iter", iter(body)
    raise TypeError(f"unsupported response body type {type(body).__name__}")


def _read_chunks(file: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """A non-regular file as a stream of chunks; closed at the end."""
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()
