"""TLSSocket's fast paths over a socketpair: reusable read buffer, chunked plaintext.

Bulk transfers cross the read buffer's growth; reads of every size, partial
chunks and ``recv_exactly`` across chunks must return the stream unchanged;
bandwidth-limited sockets take the plain path and still work.
"""

from __future__ import annotations

import hashlib
import random
import socket
import threading

import pytest

from sockit.errors import ConnectionClosed, NetworkError, Phase, Timeout
from sockit.net.tcp import Socket
from sockit.net.tls import TLSSocket
from sockit.proto.tls import TLSConnection, TLSContext
from tests.support.tls_certs import tls_certs


@pytest.fixture(scope="module")
def contexts() -> tuple[TLSContext, TLSContext]:
    c = tls_certs()
    server = TLSContext.server(c.server.cert, c.server.key, session_tickets=False)
    client = TLSContext.client(cafile=c.ca_file, session_cache=False)
    return client, server


def tls_pair(contexts: tuple[TLSContext, TLSContext]) -> tuple[TLSSocket, TLSSocket]:
    client, server = contexts
    a, b = socket.socketpair()
    ca = TLSSocket(Socket(sock=a), TLSConnection(client, server_hostname="localhost", now=0.0))
    sb = TLSSocket(Socket(sock=b), TLSConnection(server))
    t = threading.Thread(target=sb.handshake, args=(5,))
    t.start()
    ca.handshake(5)
    t.join(5)
    assert not t.is_alive()
    return ca, sb


def run_writer(tls: TLSSocket, blocks: list[bytes]) -> threading.Thread:
    def write() -> None:
        for block in blocks:
            tls.sendall(block, timeout=5)
        tls.close()

    t = threading.Thread(target=write)
    t.start()
    return t


def test_bulk_stream_with_mixed_read_sizes_arrives_intact(contexts) -> None:
    ca, sb = tls_pair(contexts)
    rng = random.Random(11)
    blocks = [rng.randbytes(rng.choice([1, 100, 16384, 65536, 300_000])) for _ in range(40)]
    total = sum(map(len, blocks))
    want = hashlib.sha256(b"".join(blocks)).hexdigest()
    writer = run_writer(ca, blocks)
    got = hashlib.sha256()
    n = 0
    while True:
        size = rng.choice([1, 7, 1000, 16384, 65536, 1 << 20])
        data = sb.recv(size, timeout=5)
        assert len(data) <= size
        if not data:
            break
        got.update(data)
        n += len(data)
    writer.join(5)
    assert n == total and got.hexdigest() == want
    assert len(sb._rbuf) == 256 * 1024  # grew after reads that filled it
    assert sb.recv(10) == b""
    sb.close()


def test_partial_reads_pending_and_recv_exactly_across_chunks(contexts) -> None:
    ca, sb = tls_pair(contexts)
    ca.sendall(b"a" * 20000 + b"b" * 20000)  # two records and a bit
    assert sb.recv_exactly(3, timeout=5) == b"aaa"
    assert sb.recv(5) == b"aaaaa"
    rest = sb.recv_exactly(20000 - 8 + 10, timeout=5)  # crosses a record boundary
    assert rest == b"a" * (20000 - 8) + b"b" * 10
    assert sb.recv_exactly(0) == b"" and sb.recv(0) == b""
    left = 20000 - 10
    while sb.pending() < left:  # the rest is already on its way
        sb.recv_exactly(1, timeout=5)
        left -= 1
    assert sb.pending() == left
    assert sb.recv_exactly(left) == b"b" * left
    assert sb.pending() == 0
    ca.close()
    with pytest.raises(ConnectionClosed):
        sb.recv_exactly(1, timeout=5)
    sb.close()


def test_recv_times_out_with_phase_read(contexts) -> None:
    ca, sb = tls_pair(contexts)
    with pytest.raises(Timeout) as info:
        sb.recv(10, timeout=0.02)
    assert info.value.phase is Phase.READ
    ca.sendall(b"late")
    assert sb.recv(10, timeout=5) == b"late"  # the connection is still usable
    ca.close()
    sb.close()


def test_bandwidth_limited_sockets_take_the_plain_path(contexts) -> None:
    ca, sb = tls_pair(contexts)
    ca.socket.limit_bandwidth(send=50e6, burst=1 << 20)
    sb.socket.limit_bandwidth(recv=50e6, burst=1 << 20)
    payload = random.Random(3).randbytes(200_000)
    writer = run_writer(ca, [payload])
    got = bytearray()
    while data := sb.recv(65536, timeout=5):
        got += data
    writer.join(5)
    assert bytes(got) == payload
    assert sb.socket.stats.bytes_received > len(payload)
    sb.close()


def test_many_handshakes_in_a_row_are_bounded(contexts) -> None:
    for i in range(20):
        ca, sb = tls_pair(contexts)
        ca.sendall(b"%d" % i)
        assert sb.recv(10, timeout=5) == b"%d" % i
        ca.close()
        sb.close()


def test_recv_after_close_fails_at_once(contexts) -> None:
    ca, sb = tls_pair(contexts)
    sb.close()
    with pytest.raises(NetworkError):
        sb.recv(10, timeout=5)
    ca.close()
