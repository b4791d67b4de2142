"""The driver (sockit.net.channel): feeding, coalescing, back-pressure, files, deadlines, close."""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.errors import NetworkError
from sockit.net import READ, WRITE, IOEvent, Reactor, TimerEvent, UnixSocket, socketpair
from sockit.net.channel import Channel, ChannelState
from sockit.proto.contract import Buffer
from sockit.proto.events import DataReceived, EndOfStream, Event, Role
from sockit.proto.http1 import Connection, Data, EndOfMessage, Request, Response


class ToyState(enum.Enum):
    OPEN = "open"
    EOF = "eof"


class Toy:
    """A sans-I/O machine: every received chunk is an event; sent events are their bytes."""

    def __init__(self) -> None:
        self.fed: list[object] = []
        self.out: list[bytes] = []
        self.deadline: float | None = None
        self.timeouts: list[float] = []
        self._state = ToyState.OPEN

    @property
    def state(self) -> ToyState:
        return self._state

    @property
    def trailing_data(self) -> bytes:
        return b""

    def receive_data(self, data: Buffer) -> list[Event]:
        self.fed.append(data)
        return [DataReceived(bytes(data))] if data else []

    def receive_eof(self) -> list[Event]:
        self._state = ToyState.EOF
        return [EndOfStream()]

    def send(self, event: Event) -> None:
        assert isinstance(event, DataReceived)
        self.out.append(event.data)

    def data_to_send(self) -> bytes:
        out = b"".join(self.out)
        self.out.clear()
        return out

    def next_deadline(self) -> float | None:
        return self.deadline

    def handle_timeout(self, now: float) -> list[Event]:
        self.timeouts.append(now)
        self.deadline = None
        return [EndOfStream()]


@pytest.fixture
def pair() -> Iterator[tuple[UnixSocket, UnixSocket]]:
    a, b = socketpair()
    yield a, b
    a.close()
    b.close()


def drain(sock: UnixSocket, want: int) -> bytes:
    got = b""
    while len(got) < want:
        got += sock.recv(1 << 20, timeout=10)
    return got


def test_receive_feeds_bytes_and_eof(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    toy = Toy()
    ch = Channel(a, toy)
    assert ch.receive() == []  # nothing there: no event, machine untouched
    b.sendall(b"hello")
    assert ch.receive() == [DataReceived(b"hello")]
    assert type(toy.fed[-1]) is bytes
    b.shutdown(socket.SHUT_WR)
    assert ch.receive() == [EndOfStream()]
    assert ch.eof_received
    assert ch.interest == 0  # nothing more to read, nothing to write


def test_feed_view_passes_memoryview_slices(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    toy = Toy()
    ch = Channel(a, toy, feed="view")
    b.sendall(b"abc")
    assert ch.receive() == [DataReceived(b"abc")]
    assert isinstance(toy.fed[-1], memoryview)


def test_events_of_one_turn_leave_in_one_send(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    ch = Channel(a, Toy())
    packets = a.stats.packets_sent
    for word in (b"one ", b"two ", b"three"):
        ch.send(DataReceived(word))
    assert ch.flush()
    assert a.stats.packets_sent == packets + 1
    assert drain(b, 13) == b"one two three"


def test_back_pressure_stops_reading_until_the_queue_drains(
    pair: tuple[UnixSocket, UnixSocket],
) -> None:
    a, b = pair
    ch = Channel(a, Toy(), high_water=64 * 1024, low_water=16 * 1024)
    assert ch.interest == READ
    blob = os.urandom(8 * 1024 * 1024)  # far more than the socket buffers hold
    ch.write(blob)
    assert not ch.flush()
    assert ch.pending > 64 * 1024
    assert not ch.writable
    assert ch.interest == WRITE  # queued output, and no reading while above high water
    got = b""
    while ch.pending:
        got += b.recv(1 << 20, timeout=10)
        ch.flush()
    got += drain(b, len(blob) - len(got))
    assert got == blob
    assert ch.writable
    assert ch.interest == READ


def test_files_keep_their_place_in_the_queue(
    pair: tuple[UnixSocket, UnixSocket], tmp_path: Path
) -> None:
    a, b = pair
    path = tmp_path / "f.bin"
    content = os.urandom(300_000)
    path.write_bytes(content)
    ch = Channel(a, Toy())
    f = path.open("rb")
    ch.send(DataReceived(b"HEAD"))
    ch.send_file(f, 2, 200_000, close=True)
    ch.write(b"TAIL")
    ch.send_file(os.open(path, os.O_RDONLY), 0, 10, close=True)
    got = b""
    while ch.pending or not got:
        ch.flush()
        got += b.recv(1 << 20, timeout=10)
    got += drain(b, 4 + 200_000 + 4 + 10 - len(got))
    assert got == b"HEAD" + content[2:200_002] + b"TAIL" + content[:10]
    assert f.closed  # close=True: released once sent


def test_a_file_shorter_than_promised_is_an_error(
    pair: tuple[UnixSocket, UnixSocket], tmp_path: Path
) -> None:
    a, _ = pair
    path = tmp_path / "short"
    path.write_bytes(b"12345")
    ch = Channel(a, Toy())
    with path.open("rb") as f:
        ch.send_file(f, 0, 10)
        with pytest.raises(NetworkError, match="ended before"):
            ch.flush()


def test_close_after_flush_half_closes_then_drains(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    toy = Toy()
    ch = Channel(a, toy)
    ch.send(DataReceived(b"last words"))
    ch.close_after_flush()
    assert ch.state is ChannelState.CLOSING
    assert ch.flush()
    assert ch.state is ChannelState.DRAINING
    assert ch.deadline("linger") is not None
    assert drain(b, 10) == b"last words"
    assert b.recv(10, timeout=10) == b""  # FIN after the data
    b.sendall(b"ignored")  # input after our close is read and dropped
    fed = len(toy.fed)
    ch.receive()
    assert len(toy.fed) == fed
    assert not ch.finished
    b.close()
    ch.receive()
    assert ch.finished
    ch.close()
    assert ch.state is ChannelState.CLOSED


def test_named_and_machine_deadlines(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, _ = pair
    toy = Toy()
    ch = Channel(a, toy, clock=lambda: 100.0)
    assert ch.next_deadline() is None
    ch.set_deadline("read", 105.0)
    ch.set_deadline("idle", 103.0)
    toy.deadline = 104.0
    assert ch.next_deadline() == 103.0
    events, due = ch.expire(103.5)
    assert (events, due) == ([], ["idle"])
    events, due = ch.expire(104.5)
    assert events == [EndOfStream()]
    assert toy.timeouts == [104.5]
    assert due == []
    ch.set_deadline("read", None)
    assert ch.next_deadline() is None


def test_reactor_registration_follows_interest(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    with Reactor() as reactor:
        ch = Channel(a, Toy(), data="me")
        ch.attach(reactor)
        assert reactor.get_key(a).events == READ
        ch.reading = False
        ch.update()
        assert a not in reactor  # mask 0: unregistered, so no busy loop
        ch.reading = True
        ch.update()
        b.sendall(b"x")
        events = reactor.wait(5)
        assert [(type(e), e.data) for e in events] == [(IOEvent, "me")]
        ch.close()
        assert a not in reactor


def test_deadlines_fire_as_one_lazy_timer(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, _ = pair
    now = [0.0]
    with Reactor(clock=lambda: now[0]) as reactor:
        ch = Channel(a, Toy(), data="ch")
        ch.attach(reactor)
        ch.set_deadline("read", 10.0)
        ch.update()
        ch.set_deadline("read", 20.0)  # later: the armed timer is left alone
        ch.update()
        assert len(reactor.timers) == 1
        now[0] = 10.0
        fired = [e for e in reactor.wait(0) if isinstance(e, TimerEvent)]
        assert [e.data for e in fired] == ["ch"]
        assert ch.expire(now[0]) == ([], [])  # fired early: nothing due yet
        ch.update()  # re-armed for 20
        now[0] = 20.0
        fired = [e for e in reactor.wait(0) if isinstance(e, TimerEvent)]
        assert [e.data for e in fired] == ["ch"]
        assert ch.expire(now[0]) == ([], ["read"])
        ch.set_deadline("write", 25.0)
        ch.set_deadline("early", 21.0)  # earlier than anything armed: moved
        ch.update()
        now[0] = 21.0
        assert [e.data for e in reactor.wait(0) if isinstance(e, TimerEvent)] == ["ch"]
        ch.close()


def test_write_deadline_tracks_stalled_output(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    ch = Channel(a, Toy(), write_timeout=5.0)
    ch.write(os.urandom(4 * 1024 * 1024))
    ch.flush()
    assert ch.deadline("write") is not None
    while ch.pending:
        b.recv(1 << 20, timeout=10)
        ch.flush()
    assert ch.deadline("write") is None


def test_close_with_reset_and_queued_files(
    pair: tuple[UnixSocket, UnixSocket], tmp_path: Path
) -> None:
    a, _ = pair
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    f = path.open("rb")
    ch = Channel(a, Toy())
    ch.write(os.urandom(4 * 1024 * 1024))
    ch.send_file(f, 0, 10, close=True)
    ch.flush()
    ch.close(reset=True)
    assert f.closed
    assert a.closed
    assert ch.pending == 0
    ch.close()  # again: nothing


def test_peer_reset_surfaces_as_network_error() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    conn, _ = server.accept()
    from sockit.net import Socket

    sock = Socket(sock=conn)
    ch = Channel(sock, Toy())
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    client.close()  # RST
    with pytest.raises(NetworkError):
        for _ in range(100):
            ch.receive()
            ch.write(b"x" * 65536)
            ch.flush()
    ch.close()
    server.close()


def test_drives_the_http1_machine(pair: tuple[UnixSocket, UnixSocket]) -> None:
    a, b = pair
    ch = Channel(a, Connection(Role.SERVER))
    b.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n\r\n")
    events = ch.receive()
    assert [type(e) for e in events] == [Request, EndOfMessage]
    for body in (b"x", b"y"):
        ch.send(Response(200, [("Content-Length", "1")]))
        ch.send(Data(body))
        ch.send(EndOfMessage())
        ch.conn.start_next_cycle()
        if body == b"x":
            assert [type(e) for e in ch.receive_buffered()] == [Request, EndOfMessage]
    ch.flush()
    got = drain(b, 2 * len(b"HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx"))
    assert got.count(b"HTTP/1.1 200") == 2
    assert got.endswith(b"y")


def test_channels_can_share_one_receive_buffer() -> None:
    (a1, b1), (a2, b2) = socketpair(), socketpair()
    shared = bytearray(16)
    ch1, ch2 = Channel(a1, Toy(), buffer=shared), Channel(a2, Toy(), buffer=shared)
    b1.sendall(b"first")
    b2.sendall(b"second")
    got1 = ch1.receive()
    got2 = ch2.receive()
    assert got1 == [DataReceived(b"first")]  # handed over before the buffer was reused
    assert got2 == [DataReceived(b"second")]
    with pytest.raises(ValueError, match="must not be empty"):
        Channel(a1, Toy(), buffer=bytearray())
    for s in (a1, b1, a2, b2):
        s.close()
