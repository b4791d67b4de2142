"""The HTTP/1.1 machine driven by a plain socket, both roles, no framework.

Run: ``python examples/http1_sansio.py``. A tiny server thread answers on a
loopback port; a client on an ordinary blocking socket sends two keep-alive
requests (one with a chunked upload) and one that the server refuses. Every
byte on the wire is produced and consumed by
:class:`sockit.proto.http1.Connection`; the sockets only move bytes.

The loop is the whole integration recipe for any event loop:

1. ``events = conn.receive_data(chunk)`` for every chunk read (``b""`` at EOF
   means ``receive_eof()``);
2. act on the events; ``conn.send(event)`` for what you answer;
3. ``sock.sendall(conn.data_to_send())``;
4. after a complete exchange, ``conn.start_next_cycle()`` and
   ``conn.receive_data(b"")`` to release a pipelined request.
"""

from __future__ import annotations

import socket
import threading

from sockit.errors import RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    Request,
    Response,
)

SERVER_CONFIG = HTTP1Config(limits=HTTP1Limits(max_header_count=20))


def respond(conn: Connection, status: int, body: bytes, *, close: bool = False) -> None:
    headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    if close:
        headers.add("Connection", "close")
    conn.send(Response(status, headers, reason=b"OK" if status == 200 else b"Bad Request"))
    conn.send(Data(body))
    conn.send(EndOfMessage())


def serve_one_connection(listener: socket.socket) -> None:
    sock, _ = listener.accept()
    conn = Connection(Role.SERVER, config=SERVER_CONFIG)
    request: Request | None = None
    received = 0
    with sock:
        while True:
            chunk = sock.recv(65536)
            try:
                events = conn.receive_data(chunk) if chunk else conn.receive_eof()
            except RemoteProtocolError as exc:
                # the peer broke the protocol: the machine still lets us answer
                # with the status the error carries, then we close
                respond(conn, exc.http_status or 400, f"refused: {exc}\n".encode(), close=True)
                sock.sendall(conn.data_to_send())
                return
            for event in events:
                if isinstance(event, Request):
                    request, received = event, 0
                elif isinstance(event, Data):
                    received += len(event.data)
                elif isinstance(event, EndOfMessage) and request is not None:
                    body = f"{request.method.decode()} {request.target.decode()} "
                    body += f"got {received} body bytes\n"
                    respond(conn, 200, body.encode())
                    sock.sendall(conn.data_to_send())
                    if conn.our_state is ConnectionState.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
                    events.extend(conn.receive_data(b""))  # a pipelined request, if any
                elif isinstance(event, ConnectionClosed):
                    return
            if not chunk:
                return


def fetch(sock: socket.socket, conn: Connection, request: Request, body: list[bytes]) -> bytes:
    conn.send(request)
    for piece in body:
        conn.send(Data(piece))
    conn.send(EndOfMessage())
    sock.sendall(conn.data_to_send())
    status, answer = 0, b""
    while True:
        chunk = sock.recv(65536)
        for event in conn.receive_data(chunk) if chunk else conn.receive_eof():
            if isinstance(event, Response):
                status = event.status_code
            elif isinstance(event, Data):
                answer += event.data
            elif isinstance(event, EndOfMessage):
                conn.start_next_cycle()
                return f"{status} {answer.decode().strip()}".encode()
        if not chunk:
            raise RuntimeError("server closed early")


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = threading.Thread(target=serve_one_connection, args=(listener,))
    server.start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        client = Connection(Role.CLIENT)
        host = Headers([("Host", f"127.0.0.1:{port}")])
        print(fetch(sock, client, Request(b"GET", b"/hello", host), []).decode())
        upload = Headers([("Host", f"127.0.0.1:{port}"), ("Transfer-Encoding", "chunked")])
        print(fetch(sock, client, Request(b"POST", b"/upload", upload),
                    [b"x" * 1000, b"y" * 500]).decode())
        # a request the server must refuse: both Content-Length and Transfer-Encoding
        sock.sendall(b"POST /smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
        status_line, _, rest = raw.partition(b"\r\n")
        print(status_line.decode(), "|", rest.rpartition(b"\r\n\r\n")[2].decode().strip())
    server.join(10)
    listener.close()


if __name__ == "__main__":
    main()
