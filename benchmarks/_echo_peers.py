"""Peer echo servers for ``bench_echo.py``: asyncio and uvloop ``Protocol``s.

Run: ``python benchmarks/_echo_peers.py asyncio|uvloop PORT``.
"""

from __future__ import annotations

import asyncio
import sys


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            import socket

            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "uvloop":
        import uvloop

        uvloop.run(serve(port))
    else:
        asyncio.run(serve(port))


if __name__ == "__main__":
    main()
