"""The engine's fast paths: many records per feed, direct OpenSSL I/O, lazy key log.

Each behaviour is checked on the fast record I/O and on the public-API
fallback (``PlainIO``), fed whole, byte by byte and in random cuts: the
events (one ``TLSData`` per record) and trailing bytes must not change.
"""

from __future__ import annotations

import array
import itertools
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.events import Event
from sockit.proto.tls import (
    CloseNotify,
    HandshakeComplete,
    TLSConnection,
    TLSContext,
    TLSData,
    TLSState,
    _fast_io,
    connection,
)
from tests.support.tls_certs import pump, tls_certs


@pytest.fixture(scope="module")
def server_ctx() -> TLSContext:
    c = tls_certs()
    return TLSContext.server(c.server.cert, c.server.key, session_tickets=False)


@pytest.fixture(params=["fast", "plain"])
def io_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test over FastIO and over the PlainIO fallback."""
    if request.param == "plain":
        monkeypatch.setattr(connection, "record_io", _fast_io.PlainIO)
    yield request.param


def client_ctx(**kw: object) -> TLSContext:
    return TLSContext.client(cafile=tls_certs().ca_file, **kw)  # type: ignore[arg-type]


def connect(cctx: TLSContext, sctx: TLSContext) -> tuple[TLSConnection, TLSConnection]:
    client = TLSConnection(cctx, server_hostname="localhost", now=0.0)
    server = TLSConnection(sctx, now=0.0)
    result = pump(client, server)
    assert [type(e) for e in result.client] == [HandshakeComplete]
    assert [type(e) for e in result.server] == [HandshakeComplete]
    return client, server


def cuts(data: bytes, how: str, rng: random.Random) -> list[bytes]:
    if how == "whole":
        return [data]
    if how == "bytes":
        return [data[i : i + 1] for i in range(len(data))]
    bounds = sorted({0, len(data), *(rng.randrange(len(data)) for _ in range(20))})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def feed(conn: TLSConnection, pieces: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for piece in pieces:
        events += conn.receive_data(piece)
    return events


def test_the_fast_io_is_in_use_on_this_pyopenssl(server_ctx: TLSContext) -> None:
    client = TLSConnection(client_ctx(), server_hostname="localhost")
    assert isinstance(client._io, _fast_io.FastIO)
    assert client._io.batches is True
    assert _fast_io.PlainIO(client._ssl).batches is False


@pytest.mark.parametrize("how", ["whole", "bytes", "random"])
def test_many_records_in_one_feed_give_one_event_per_record(
    server_ctx: TLSContext, io_kind: str, how: str
) -> None:
    client, server = connect(client_ctx(), server_ctx)
    sizes = [16384, 16384, 1, 0, 5000, 16384 * 2 + 7]
    rng = random.Random(len(how))
    payloads = [bytes(rng.randrange(256) for _ in range(n)) for n in sizes]
    for p in payloads:
        client.send_data(p)
    wire = client.data_to_send()
    # big writes become 16 KiB records, each its own event, in order
    # byte by byte only through the first records: a partial record is re-copied per byte
    pieces = cuts(wire, how, rng) if how != "bytes" else [*cuts(wire[:40000], how, rng),
                                                           wire[40000:]]
    events = feed(server, pieces)
    assert all(type(e) is TLSData for e in events)
    chunks = [e.data for e in events if isinstance(e, TLSData)]
    assert b"".join(chunks) == b"".join(payloads)
    assert [len(c) for c in chunks] == [16384, 16384, 1, 5000, 16384, 16384, 7]


def test_one_send_of_a_large_buffer_and_non_byte_buffers(server_ctx: TLSContext) -> None:
    client, server = connect(client_ctx(), server_ctx)
    big = bytes(range(256)) * 4096  # 1 MiB in one SSL_write
    client.send_data(memoryview(big))
    words = array.array("I", range(1000))
    client.send_data(words)
    client.send_data(b"")
    got = b"".join(e.data for e in server.receive_data(client.data_to_send())
                   if isinstance(e, TLSData))
    assert got == big + words.tobytes()
    assert client.data_to_send() == b""


@pytest.mark.parametrize("how", ["whole", "bytes", "random"])
def test_plaintext_after_close_notify_in_a_batch_stays_ours(
    server_ctx: TLSContext, io_kind: str, how: str
) -> None:
    client, server = connect(client_ctx(), server_ctx)
    client.send_data(b"one")
    client.send_data(b"two")
    client.close()
    # what follows looks like two TLS records but belongs to the next protocol
    after = b"\x17\x03\x03\x00\x02hi" + b"\x17\x03\x03\x00\x01!" + b"plain text"
    wire = client.data_to_send() + after
    events = feed(server, cuts(wire, how, random.Random(7)))
    assert events == [TLSData(b"one"), TLSData(b"two"), CloseNotify()]
    assert server.state is TLSState.PEER_CLOSED
    assert server.trailing_data == after
    server.close()
    assert server.unwrap() == after


@pytest.mark.parametrize("how", ["whole", "random"])
def test_finished_and_data_in_one_feed(server_ctx: TLSContext, io_kind: str, how: str) -> None:
    client = TLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    server = TLSConnection(server_ctx, now=0.0)
    server.receive_data(client.data_to_send())
    done = client.receive_data(server.data_to_send())
    assert [type(e) for e in done] == [HandshakeComplete]
    client.send_data(b"first")
    client.send_data(b"second")
    wire = client.data_to_send()  # Finished, then two data records
    events = feed(server, cuts(wire, how, random.Random(3)))
    assert [type(e) for e in events] == [HandshakeComplete, TLSData, TLSData]
    assert [e.data for e in events[1:]] == [b"first", b"second"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("how", ["whole", "random"])
def test_tickets_between_data_records_are_remembered(io_kind: str, how: str) -> None:
    c = tls_certs()
    sctx = TLSContext.server(c.server.cert, c.server.key)  # tickets on
    cctx = client_ctx()
    client = TLSConnection(cctx, server_hostname="localhost", now=0.0, origin="o:1")
    server = TLSConnection(sctx, now=0.0)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())  # the server sends its tickets now
    server.send_data(b"after the tickets")
    wire = server.data_to_send()
    before = cctx.session_for("o:1")  # stored at the handshake, not resumable yet
    events = feed(client, cuts(wire, how, random.Random(5)))
    assert events == [TLSData(b"after the tickets")]
    after = cctx.session_for("o:1")
    assert after is not None and after is not before
    again = TLSConnection(cctx, server_hostname="localhost", now=0.0, origin="o:1")
    result = pump(again, TLSConnection(sctx, now=0.0))
    assert isinstance(result.client[0], HandshakeComplete)
    assert result.client[0].session_reused is True


@settings(max_examples=60, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=300), split=st.integers(0, 400))
def test_records_then_garbage_parse_or_raise_sockit_errors(
    server_ctx: TLSContext, garbage: bytes, split: int
) -> None:
    client, server = connect(client_ctx(), server_ctx)
    client.send_data(b"a")
    client.send_data(b"b")
    wire = client.data_to_send() + garbage
    split = min(split, len(wire))
    try:
        events = server.receive_data(wire[:split]) + server.receive_data(wire[split:])
    except SockitError:
        assert server.state is TLSState.FAILED
        return
    data = b"".join(e.data for e in events if isinstance(e, TLSData))
    assert data == b"ab"


def test_keylog_set_after_first_use_switches_on_and_off(server_ctx: TLSContext) -> None:
    cctx = client_ctx()
    connect(cctx, server_ctx)  # no sink: OpenSSL's callback is off
    lines: list[bytes] = []
    cctx.set_keylog(lines.append)
    connect(cctx, server_ctx)
    assert any(line.startswith(b"CLIENT_HANDSHAKE_TRAFFIC_SECRET") for line in lines)
    count = len(lines)
    cctx.set_keylog(None)
    connect(cctx, server_ctx)
    assert len(lines) == count
    assert cctx.keylog is None


def test_peer_certificate_comes_from_the_verified_leaf_and_on_resumption() -> None:
    c = tls_certs()
    sctx = TLSContext.server(c.server.cert, c.server.key)
    cctx = client_ctx()
    client, server = connect(cctx, sctx)
    server.send_data(b"x")
    pump(client, server)  # delivers the tickets
    first = client.peer_certificate
    assert first is not None and "localhost" in first.san_dns
    session = client.session
    again = TLSConnection(cctx, server_hostname="localhost", session=session, now=0.0)
    result = pump(again, TLSConnection(sctx, now=0.0))
    done = result.client[0]
    assert isinstance(done, HandshakeComplete) and done.session_reused
    assert done.peer_certificate == first
