"""Server-Sent Events: wire format, EventStream modes, keep-alive, bounds, real clients."""

from __future__ import annotations

import codecs
import inspect
import re
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit import HTTPClient
from sockit.errors import LocalProtocolError
from sockit.server import Response, ServerRequest
from sockit.server.middleware import AccessLog, Pipeline
from sockit.server.sse import (
    KEEPALIVE_COMMENT,
    EventStream,
    ServerSentEvent,
    format_comment,
    format_event,
)
from tests.server.harness import running


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def parse_sse(chunks: Iterator[bytes] | list[bytes]) -> Iterator[dict[str, str]]:
    """A test-side reader following the HTML spec's event-stream interpretation."""
    buf = ""
    decoder = codecs.getincrementaldecoder("utf-8")()
    fields: dict[str, str] = {}
    data: list[str] = []
    for chunk in chunks:
        buf += decoder.decode(chunk)
        while True:
            m = re.search(r"\r\n|\r(?!$)|\n", buf)
            if m is None:
                break
            line, buf = buf[: m.start()], buf[m.end():]
            if line == "":
                if data:
                    yield {**fields, "data": "\n".join(data)}
                fields, data = {}, []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value


# -- the wire format -------------------------------------------------------------------------


def test_format_event_fields_and_lines() -> None:
    assert format_event("hi") == b"data: hi\n\n"
    assert format_event("a\nb\r\nc\rd", event="up", id="7", retry=3000) == (
        b"event: up\nid: 7\nretry: 3000\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    )
    assert format_event("") == b"data: \n\n"
    assert format_comment("ping") == b": ping\n\n"
    assert format_comment("") == b":\n\n"
    assert ServerSentEvent("x", event="e").encode() == b"event: e\ndata: x\n\n"


@pytest.mark.parametrize("kwargs", [
    {"event": "a\nb"}, {"event": "a\rb"}, {"id": "1\n"}, {"id": "a\x00b"}, {"retry": -1},
    {"retry": 1.5}, {"retry": True}, {"event": 3},
])
def test_bad_fields_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        format_event("x", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        format_event(b"bytes")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=40),
    st.none() | st.text(max_size=10).filter(lambda s: not re.search(r"[\r\n]", s)),
    st.none() | st.text(max_size=10).filter(lambda s: not re.search(r"[\r\n\x00]", s)),
    st.randoms(use_true_random=False),
)
def test_round_trip_through_a_reader_any_split(data: str, event: str | None, id_: str | None,
                                               rnd: object) -> None:
    wire = format_event(data, event=event, id=id_) + format_event("next")
    whole = list(parse_sse([wire]))
    bytewise = list(parse_sse([wire[i:i + 1] for i in range(len(wire))]))
    cut = rnd.randint(0, len(wire))  # type: ignore[attr-defined]
    split = list(parse_sse([wire[:cut], wire[cut:]]))
    expected = re.sub(r"\r\n|\r", "\n", data)
    assert whole[0]["data"] == expected and whole[1]["data"] == "next"
    assert whole[0].get("event") == event and whole[0].get("id") == id_
    assert whole == split
    assert bytewise == whole


# -- EventStream: source mode ------------------------------------------------------------------


def test_source_mode_encodes_and_ends() -> None:
    stream = EventStream([ServerSentEvent("a", id="1"), "b", b"data: raw\n\n"],  # type: ignore[list-item]
                         retry=2000)
    chunks = list(stream)
    assert chunks[0] == b"retry: 2000\n\n"
    assert [e["data"] for e in parse_sse(chunks)] == ["a", "b", "raw"]
    assert stream.closed and stream.events_sent == 3
    with pytest.raises(LocalProtocolError):
        stream.send("no")  # a source-mode stream has no queue
    with pytest.raises(LocalProtocolError):
        list(EventStream([42]))  # type: ignore[list-item]


def test_config_checked() -> None:
    for bad in ({"keepalive": 0}, {"keepalive": -1}, {"max_queued": 0},
                {"max_queued_bytes": 0}):
        with pytest.raises(ValueError):
            EventStream(**bad)  # type: ignore[arg-type]


# -- EventStream: queue mode with the server's waker -----------------------------------------


def test_waker_mode_pauses_and_wakes_once() -> None:
    clock = FakeClock()
    stream = EventStream(keepalive=None, clock=clock)
    wakes: list[int] = []
    stream.attach_waker(lambda: wakes.append(1))
    assert next(stream) == b""  # nothing yet: paused, never blocks
    assert stream.send("one") and stream.send("two")
    assert wakes == [1]  # one wake per pause, not per event
    assert list(parse_sse([next(stream)])) == [{"data": "one"}, {"data": "two"}]
    assert next(stream) == b""
    stream.close()
    assert wakes == [1, 1]
    with pytest.raises(StopIteration):
        next(stream)
    assert not stream.send("late")


def test_keepalive_on_a_fake_clock() -> None:
    clock = FakeClock()
    stream = EventStream(keepalive=10.0, clock=clock)
    stream.attach_waker(lambda: None)
    assert next(stream) == b""
    clock.now += 9.999
    assert next(stream) == b""
    clock.now += 0.001
    assert next(stream) == KEEPALIVE_COMMENT
    assert next(stream) == b""  # the comment counts as output
    stream.send("x")
    clock.now += 9.0
    assert next(stream) == b"data: x\n\n"
    clock.now += 9.0
    assert next(stream) == b""  # 9 s after the event: not yet
    stream.close()


def test_heartbeat_thread_wakes_a_paused_stream() -> None:
    stream = EventStream(keepalive=0.03)
    woke = threading.Event()
    stream.attach_waker(woke.set)
    assert next(stream) == b""
    assert woke.wait(2.0)
    time.sleep(0.005)
    assert next(stream) == KEEPALIVE_COMMENT
    stream.close()


def test_queue_bounds_at_n_and_n_plus_one() -> None:
    stream = EventStream(max_queued=3)
    assert all(stream.send(str(i)) for i in range(3))
    assert not stream.send("3")  # N + 1
    assert [e["data"] for e in parse_sse([next(stream)])] == ["0", "1", "2"]
    assert stream.send("again")
    size = len(format_event("x" * 10))
    by_bytes = EventStream(max_queued_bytes=2 * size)
    assert by_bytes.send("x" * 10) and by_bytes.send("x" * 10)
    assert not by_bytes.send("x" * 10)
    assert by_bytes.comment("c") is False  # still full
    stream.close()
    by_bytes.close()


def test_without_a_waker_an_empty_queue_is_an_error() -> None:
    stream = EventStream(keepalive=None)
    stream.send("queued")
    assert next(stream) == b"data: queued\n\n"
    with pytest.raises(LocalProtocolError):
        next(stream)  # would otherwise block the server's loop thread


def test_blocking_mode_waits_without_a_waker() -> None:
    stream = EventStream(keepalive=None, blocking=True)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(stream))
    reader.start()
    time.sleep(0.02)
    assert got == [] and reader.is_alive()
    stream.send("late")
    stream.close()
    reader.join(2)
    assert not reader.is_alive() and b"".join(got) == b"data: late\n\n"


# -- over real connections ----------------------------------------------------------------------


def _server_wakes_bodies() -> bool:
    """Whether the server attaches wakers to streamed bodies (the hook send() mode needs)."""
    import sockit.server.connection as conn
    import sockit.server.h2 as h2

    return all("attach_waker" in inspect.getsource(m) for m in (conn, h2))


needs_waker = pytest.mark.skipif(
    not _server_wakes_bodies(), reason="the server does not attach wakers to streamed bodies yet"
)


def test_http1_chunked_source_mode_read_incrementally() -> None:
    def app(request: ServerRequest) -> Response:
        events = (ServerSentEvent("x" * 1000, id=str(i)) for i in range(300))
        return EventStream(events, keepalive=None, retry=1500).response()

    with running(Pipeline(app, [AccessLog()])) as server, HTTPClient() as client, \
            client.stream("GET", server.url + "/events", timeout=5) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert resp.headers["transfer-encoding"] == "chunked"
            assert resp.headers["cache-control"] == "no-cache"
            chunks = 0

            def counted() -> Iterator[bytes]:
                nonlocal chunks
                for chunk in resp.iter_bytes():
                    chunks += 1
                    yield chunk

            ids = [e["id"] for e in parse_sse(counted())]
    assert ids == [str(i) for i in range(300)]
    assert chunks > 1  # read as it came, not as one body


def push_app(first_read: threading.Event, streams: list[EventStream]):  # type: ignore[no-untyped-def]
    def app(request: ServerRequest) -> Response:
        stream = EventStream(keepalive=None, retry=1500)
        streams.append(stream)
        stream.send("first", id="1")

        def produce() -> None:
            first_read.wait(5)  # the second event exists only after the client read the first
            stream.send("second\nline", event="update", id="2")
            stream.close()

        threading.Thread(target=produce, daemon=True).start()
        return stream.response()

    return app


PUSHED = [{"id": "1", "data": "first"}, {"event": "update", "id": "2", "data": "second\nline"}]


@needs_waker
def test_http1_push_mode_read_incrementally() -> None:
    first_read = threading.Event()
    streams: list[EventStream] = []
    app = Pipeline(push_app(first_read, streams), [AccessLog()])
    with running(app) as server, HTTPClient() as client, \
            client.stream("GET", server.url + "/events", timeout=5) as resp:
            assert resp.headers["transfer-encoding"] == "chunked"
            events = []
            for event in parse_sse(resp.iter_bytes()):
                events.append(event)
                first_read.set()
    assert events == PUSHED
    assert streams[0].closed and streams[0].events_sent == 2


@needs_waker
def test_http1_paused_stream_does_not_block_other_clients() -> None:
    streams: list[EventStream] = []

    def app(request: ServerRequest) -> Response:
        if request.path == "/ping":
            return Response(200, None, b"pong")
        stream = EventStream(keepalive=None)
        streams.append(stream)
        return stream.response()

    with running(app) as server, HTTPClient() as client, HTTPClient() as other, \
            client.stream("GET", server.url + "/events", timeout=5) as resp:
            assert resp.status_code == 200
            for _ in range(5):
                assert other.get(server.url + "/ping", timeout=2).content == b"pong"
            streams[0].send("late")
            streams[0].close()
            assert [e["data"] for e in parse_sse(resp.iter_bytes())] == ["late"]


@needs_waker
def test_http2_push_mode_with_httpx() -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("h2")
    first_read = threading.Event()
    streams: list[EventStream] = []
    with running(push_app(first_read, streams)) as server, \
            httpx.Client(http1=False, http2=True, timeout=5) as client, \
            client.stream("GET", server.url + "/events") as resp:
            assert resp.http_version == "HTTP/2"
            events = []
            for event in parse_sse(resp.iter_bytes()):
                events.append(event)
                first_read.set()
    assert events == PUSHED


def test_http2_data_frames_with_httpx() -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("h2")
    ticks = [ServerSentEvent(f"tick {i}", id=str(i)) for i in range(20)]

    def app(request: ServerRequest) -> Response:
        return EventStream(iter(ticks), keepalive=None).response()

    with running(app) as server, httpx.Client(http1=False, http2=True, timeout=5) as client, \
            client.stream("GET", server.url + "/ticks") as resp:
            assert resp.http_version == "HTTP/2"
            assert resp.headers["content-type"].startswith("text/event-stream")
            got = [e["data"] for e in parse_sse(resp.iter_bytes())]
    assert got == [f"tick {i}" for i in range(20)]
