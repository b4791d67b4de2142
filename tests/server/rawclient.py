"""A deliberately small HTTP/1.1 client on plain sockets, for testing the server.

It sends exactly the bytes a test gives it (pipelined, malformed, slow) and
parses responses independently of sockit's own parser: status line, header
fields, then a body framed by Content-Length, chunked coding or the close.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class PeerClosed(Exception):
    """The server closed the connection before a whole response arrived."""


class RawClient:
    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        sock: socket.socket | None = None,
        timeout: float = 10.0,
    ) -> None:
        if sock is None:
            assert port is not None
            sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        self.sock = sock
        self.buf = b""

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def get(self, path: str = "/", *, extra: str = "", version: str = "1.1") -> RawResponse:
        self.send(f"GET {path} HTTP/{version}\r\nHost: t\r\n{extra}\r\n".encode())
        return self.response()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise PeerClosed(f"closed mid-line, have {self.buf!r}")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise PeerClosed(f"closed with {len(self.buf)} of {n} body bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self) -> RawResponse:
        """Read one response head (an interim 1xx included)."""
        line = self._line()
        version, _, rest = line.decode("latin-1").partition(" ")
        code, _, reason = rest.partition(" ")
        resp = RawResponse(int(code), reason, version=version)
        while True:
            field_line = self._line()
            if not field_line:
                return resp
            name, _, value = field_line.decode("latin-1").partition(":")
            key = name.strip().lower()
            value = value.strip()
            resp.headers[key] = f"{resp.headers[key]}, {value}" if key in resp.headers else value

    def response(self, *, method: str = "GET") -> RawResponse:
        """Read one final response (interim 1xx responses are skipped)."""
        resp = self.head()
        while 100 <= resp.status < 200:
            resp = self.head()
        if method == "HEAD" or resp.status in (204, 304):
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._exactly(size))
                self._line()
            resp.body = b"".join(parts)
        elif resp.header("content-length") is not None:
            resp.body = self._exactly(int(resp.header("content-length") or 0))
        else:
            resp.body = self.read_to_close()
        return resp

    def read_to_close(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out

    def wait_closed(self, timeout: float = 10.0) -> str:
        """Wait for the server to close: ``"eof"`` (clean FIN) or ``"reset"``; bytes are kept."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self._fill():
                    return "eof"
            except ConnectionResetError:
                return "reset"
            except TimeoutError:
                return "open"


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` passes; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():  # type: ignore[operator]
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
