"""A WebSocket chat room: every message a client sends reaches every client.

    python examples/ws_chat.py serve [PORT]        # the room on ws://127.0.0.1:PORT/chat
    python -m sockit ws ws://127.0.0.1:PORT/chat   # join it (lines in, messages out)
    SOCKIT_EXAMPLE_SELFTEST=1 python examples/ws_chat.py

The server side uses :meth:`ServerRequest.accept_websocket`: each member
gets a thread that iterates its messages and broadcasts them. With
``SOCKIT_EXAMPLE_SELFTEST=1`` three clients (``sockit.websocket_connect``)
join, each says hello, and every client must hear all three; it prints

    ws chat ok: 3 clients, 9 messages delivered
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

from sockit import SockitError, websocket_connect
from sockit.server import HTTPServer, Response, ServerRequest, WebSocket, run


class Room:
    """The members of the chat, and broadcasting to them."""

    def __init__(self) -> None:
        self.members: set[WebSocket] = set()
        self.lock = threading.Lock()

    def app(self, request: ServerRequest) -> Response | None:
        """``/chat`` joins the room; anything else is a 404."""
        if request.path != "/chat" or not request.is_websocket:
            return Response(404, [("Content-Type", "text/plain")], b"try ws://.../chat\n")
        ws = request.accept_websocket()
        threading.Thread(target=self.member, args=(ws,), daemon=True).start()
        return None

    def member(self, ws: WebSocket) -> None:
        with self.lock:
            self.members.add(ws)
        try:
            for message in ws:
                self.broadcast(message)
        finally:
            with self.lock:
                self.members.discard(ws)

    def broadcast(self, message: str | bytes) -> None:
        with self.lock:
            members = list(self.members)
        for other in members:
            with contextlib.suppress(SockitError):  # a member that left meanwhile
                other.send(message)


def selftest() -> int:
    room = Room()
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, room.app))
    thread.start()
    try:
        url = f"ws://127.0.0.1:{server.port}/chat"
        clients = [websocket_connect(url, timeout=10) for _ in range(3)]
        while len(room.members) < 3:  # every member registered before anyone speaks
            threading.Event().wait(0.01)
        for n, ws in enumerate(clients):
            ws.send(f"hello from {n}")
        heard = [sorted(str(ws.recv(timeout=10)) for _ in range(3)) for ws in clients]
        for ws in clients:
            ws.close()
        expected = sorted(f"hello from {n}" for n in range(3))
        ok = all(h == expected for h in heard)
        delivered = sum(len(h) for h in heard)
        print(f"ws chat {'ok' if ok else 'FAILED'}: {len(clients)} clients, "
              f"{delivered} messages delivered")
        return 0 if ok else 1
    finally:
        server.stop()
        thread.join(10)
        server.close()


def main() -> int:
    if os.environ.get("SOCKIT_EXAMPLE_SELFTEST") == "1":
        return selftest()
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        port = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
        room = Room()
        with HTTPServer("127.0.0.1", port) as server:
            print(f"chat room on ws://127.0.0.1:{server.port}/chat (Ctrl-C to stop)")
            server.watch_signals()
            run(server, room.app)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
