"""The peer for ``bench_ws_echo.py``: a websockets (asyncio) echo server on a given port."""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(conn: ServerConnection) -> None:
    async for message in conn:
        await conn.send(message)


async def main(port: int) -> None:
    async with serve(echo, "127.0.0.1", port, max_size=None, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
