"""A minimal ASGI hello-world app for the uvicorn peer in ``bench_server.py``."""

from __future__ import annotations

from typing import Any

BODY = b"hello world\n"


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"12")],
    })
    await send({"type": "http.response.body", "body": BODY})
