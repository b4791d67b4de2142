"""Server-Sent Events with sockit: an EventStream read as it arrives.

    python examples/sse.py                 # serves on a free port and reads its own stream

``/clock`` streams five ``tick`` events (with ids and a ``retry`` hint) as a
chunked ``text/event-stream``; the client reads them one by one with
``HTTPClient.stream`` and a tiny event-stream reader. It ends with
``sse ok: ...``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

from sockit import HTTPClient
from sockit.server import HTTPServer, Response, ServerRequest, run
from sockit.server.sse import EventStream, ServerSentEvent


def clock(request: ServerRequest) -> Response:
    ticks = (ServerSentEvent(f"tick {i}", event="tick", id=str(i)) for i in range(1, 6))
    return EventStream(ticks, retry=2000).response()


def read_events(chunks: Iterator[bytes]) -> Iterator[dict[str, str]]:
    """Enough of the event-stream format for this demo: LF lines, one field each."""
    buf = b""
    event: dict[str, str] = {}
    for chunk in chunks:
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not line:
                if "data" in event:
                    yield event
                event = {}
            elif not line.startswith(b":"):
                name, _, value = line.decode().partition(":")
                event[name] = value.removeprefix(" ")


def main() -> int:
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, clock), daemon=True)
    thread.start()
    try:
        with HTTPClient() as client, client.stream("GET", f"{server.url}/clock",
                                                   timeout=10) as resp:
            kind = resp.headers["content-type"]
            events = list(read_events(resp.iter_bytes()))
    finally:
        server.stop()
        thread.join(10)
        server.close()
    assert kind.startswith("text/event-stream"), kind
    assert [e["data"] for e in events] == [f"tick {i}" for i in range(1, 6)]
    print(f"sse ok: {len(events)} events, ids {events[0]['id']}..{events[-1]['id']}, "
          f"{kind.split(';')[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
