"""A tiny scripted HTTP server for client tests: raw bytes on loopback.

``RawServer(handler)`` listens on 127.0.0.1 (a free port), accepts in a
thread, and runs ``handler(conn, index)`` for each connection in its own
thread (``index`` counts from 0). Handlers talk through :class:`Peer`, which
reads whole requests (Content-Length or chunked bodies) and sends whatever
bytes the test scripts, well-formed or not. ``accepted`` counts connections,
which is how tests see keep-alive reuse.

Every socket has a timeout, and :meth:`RawServer.close` shuts every
connection down and joins every thread with a bound.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

TIMEOUT = 10.0


@dataclass
class RawRequest:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    head: bytes = b""
    chunked: bool = False
    fields: list[tuple[str, str]] = field(default_factory=list)


class Peer:
    """The server's side of one connection."""

    def __init__(self, sock: socket.socket, index: int) -> None:
        self.sock = sock
        self.index = index
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def _until(self, marker: bytes) -> bytes | None:
        while marker not in self.buf:
            if not self._fill():
                return None
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("client closed mid-body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self) -> RawRequest | None:
        """The next request head (body not read); ``None`` at EOF."""
        try:
            head = self._until(b"\r\n\r\n")
        except OSError:
            return None
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        fields = [tuple(x.strip() for x in line.split(":", 1)) for line in lines[1:]]
        pairs = [(k, v) for k, v in fields]
        headers: dict[str, str] = {}
        for k, v in pairs:
            headers[k.lower()] = f"{headers[k.lower()]}, {v}" if k.lower() in headers else v
        return RawRequest(method, target, headers, b"", head, fields=pairs)

    def read_body(self, req: RawRequest) -> bytes:
        """Read ``req``'s body (Content-Length or chunked) into ``req.body``."""
        if req.headers.get("transfer-encoding", "").lower() == "chunked":
            req.chunked = True
            parts = []
            while True:
                line = self._until(b"\r\n")
                assert line is not None
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self._until(b"\r\n"):  # trailers, then the empty line
                        pass
                    break
                parts.append(self._exactly(size))
                assert self._exactly(2) == b"\r\n"
            req.body = b"".join(parts)
        else:
            req.body = self._exactly(int(req.headers.get("content-length", "0")))
        return req.body

    def read_request(self) -> RawRequest | None:
        """The next whole request; ``None`` at EOF."""
        req = self.read_head()
        if req is not None:
            self.read_body(req)
        return req

    def send(self, data: bytes) -> None:
        """Send raw bytes."""
        self.sock.sendall(data)

    def respond(
        self,
        body: bytes = b"",
        *,
        status: str = "200 OK",
        headers: list[tuple[str, str]] | None = None,
        length: bool = True,
    ) -> None:
        """Send an HTTP/1.1 response with ``Content-Length`` (unless ``length=False``)."""
        lines = [f"HTTP/1.1 {status}"]
        for k, v in headers or []:
            lines.append(f"{k}: {v}")
        if length:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def wait_closed(self) -> None:
        """Read until the client closes (or the server shuts down)."""
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass


Handler = Callable[[Peer], None]


class RawServer:
    """See the module docstring."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(256)
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.accepted = 0
        self.errors: list[BaseException] = []
        self.requests: list[RawRequest] = []
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    def url(self, path: str = "/") -> str:
        """``http://127.0.0.1:PORT`` + ``path``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def record(self, req: RawRequest) -> None:
        """Keep ``req`` for the test to inspect (thread-safe)."""
        with self._lock:
            self.requests.append(req)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(TIMEOUT)
            with self._lock:
                index = self.accepted
                self.accepted += 1
                self._conns.append(conn)
            t = threading.Thread(target=self._run, args=(conn, index), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn: socket.socket, index: int) -> None:
        try:
            self.handler(Peer(conn, index))
        except (ConnectionError, TimeoutError, BrokenPipeError):
            pass
        except OSError:
            pass
        except BaseException as exc:  # surfaced by close()
            self.errors.append(exc)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop accepting, shut every connection down, join the threads."""
        self._stop.set()
        self._acceptor.join(5)
        self.listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)
        if self.errors:
            raise self.errors[0]


def keep_alive(answer: Callable[[RawRequest, Peer], None]) -> Handler:
    """A handler that reads requests until EOF and answers each with ``answer``."""

    def handler(peer: Peer) -> None:
        while True:
            req = peer.read_request()
            if req is None:
                return
            answer(req, peer)

    return handler
