"""DTLS retransmission on a fake clock: lossy, reordering, duplicating networks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from sockit.errors import Phase, Timeout
from sockit.limits import DTLSDefaults
from sockit.proto.tls.dtls import (
    DTLSConnection,
    DTLSContext,
    DTLSListener,
    DTLSState,
    HandshakeComplete,
    RetransmitSchedule,
    TLSData,
)
from tests.support.tls_certs import tls_certs

ADDR = ("127.0.0.1", 40000)


def server_ctx(defaults: DTLSDefaults | None = None) -> DTLSContext:
    c = tls_certs()
    return DTLSContext.server(c.server.cert, c.server.key, defaults=defaults)


def client_ctx(defaults: DTLSDefaults | None = None) -> DTLSContext:
    return DTLSContext.client(cafile=tls_certs().ca_file, defaults=defaults)


@dataclass
class Net:
    """A seeded lossy network between one client and a listener-fronted server."""

    rng: random.Random
    loss: float = 0.0
    dup: float = 0.0
    reorder: bool = False
    now: float = 0.0
    delivered: int = 0
    lost: int = 0
    client_events: list[object] = field(default_factory=list)
    server_events: list[object] = field(default_factory=list)

    def mangle(self, datagrams: list[bytes]) -> list[bytes]:
        out: list[bytes] = []
        for d in datagrams:
            if self.rng.random() < self.loss:
                self.lost += 1
                continue
            out.append(d)
            if self.rng.random() < self.dup:
                out.append(d)
        if self.reorder:
            self.rng.shuffle(out)
        return out


def run(net: Net, client: DTLSConnection, listener: DTLSListener, *,
        max_steps: int = 500) -> DTLSConnection:
    """Pump until both sides are open; on silence, jump the clock to the next deadline."""
    server: DTLSConnection | None = None
    for _ in range(max_steps):
        to_server = net.mangle(client.datagrams_to_send())
        to_client = net.mangle(server.datagrams_to_send()) if server else []
        for d in to_server:
            net.delivered += 1
            if server is None:
                result = listener.accept_hello(d, ADDR, net.now)
                if result.reply:
                    to_client.extend(net.mangle([result.reply]))
                server = result.connection
            else:
                net.server_events += server.receive_datagram(d, now=net.now)
        for d in to_client:
            net.delivered += 1
            net.client_events += client.receive_datagram(d, now=net.now)
        both_open = server and client.state is server.state is DTLSState.OPEN
        if server and both_open and not client._out and not server._out:
            return server
        if not to_server and not to_client:
            deadlines = [t for t in (client.next_deadline(),
                                     server.next_deadline() if server else None) if t]
            assert deadlines, "nothing in flight and no timer: the handshake is stuck"
            net.now = min(deadlines)
            client.handle_timeout(net.now)
            if server:
                server.handle_timeout(net.now)
    raise AssertionError("the DTLS handshake did not finish")


def test_a_clean_network_needs_no_retransmission():
    net = Net(random.Random(1))
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0, mtu=576)
    server = run(net, client, DTLSListener(server_ctx(), mtu=576))
    assert net.now == 0.0
    assert client.stats.retransmits == server.stats.retransmits == 0
    assert [type(e) for e in net.client_events] == [HandshakeComplete]


# a generous handshake deadline: at 30 % loss the default 30 s leaves ~4 % of
# seeds without enough resends (measured over 300 seeds; none fail with 600 s)
PATIENT = DTLSDefaults(handshake_timeout=600.0)


@pytest.mark.parametrize("seed", range(12))
def test_lossy_reordering_duplicating_network_still_completes(seed):
    net = Net(random.Random(seed), loss=0.3, dup=0.2, reorder=True)
    client = DTLSConnection(client_ctx(PATIENT), server_hostname="localhost", now=0.0, mtu=576)
    server = run(net, client, DTLSListener(server_ctx(PATIENT), mtu=576))
    assert [type(e) for e in net.client_events] == [HandshakeComplete]
    assert [type(e) for e in net.server_events] == [HandshakeComplete]
    # data flows both ways once open, one record per datagram
    client.send_data(b"ping")
    (d,) = client.datagrams_to_send()
    assert server.receive_datagram(d) == [TLSData(b"ping")]
    assert net.now < 600.0
    if net.lost:
        assert client.stats.retransmits + server.stats.retransmits > 0


def test_losing_the_servers_final_flight_is_repaired():
    """The server has no timer after its last flight; the client's resend wakes it."""
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    listener = DTLSListener(server_ctx())
    hvr = listener.accept_hello(client.datagrams_to_send()[0], ADDR, 0.0).reply
    assert hvr is not None
    client.receive_datagram(hvr)
    server = listener.accept_hello(client.datagrams_to_send()[0], ADDR, 0.0).connection
    assert server is not None
    for d in server.datagrams_to_send():
        client.receive_datagram(d)
    for d in client.datagrams_to_send():
        server.receive_datagram(d)
    assert server.state is DTLSState.OPEN
    assert server.datagrams_to_send()  # the final flight ... is lost
    assert server.next_deadline() is None
    deadline = client.next_deadline()
    assert deadline == 1.0
    client.handle_timeout(deadline)
    assert client.stats.retransmits == 1
    for d in client.datagrams_to_send():  # the client's flight again
        assert server.receive_datagram(d) == []
    assert server.stats.retransmits == 1
    events = [e for d in server.datagrams_to_send() for e in client.receive_datagram(d)]
    assert [type(e) for e in events] == [HandshakeComplete]


def test_the_schedule_doubles_to_the_ceiling_then_gives_up():
    defaults = DTLSDefaults(retransmit_initial=1.0, retransmit_max=8.0, max_retransmits=6,
                            handshake_timeout=100.0)
    client = DTLSConnection(client_ctx(defaults), server_hostname="localhost", now=0.0)
    first = client.datagrams_to_send()
    deadlines = []
    while True:
        deadline = client.next_deadline()
        assert deadline is not None
        deadlines.append(deadline)
        try:
            client.handle_timeout(deadline)
        except Timeout as exc:
            assert exc.phase is Phase.HANDSHAKE
            assert "6 retransmissions" in str(exc)
            break
        assert client.datagrams_to_send() == first  # the same ClientHello again
    assert deadlines == [1.0, 3.0, 7.0, 15.0, 23.0, 31.0, 39.0]
    assert client.state is DTLSState.FAILED
    assert client.stats.retransmits == 6


def test_the_handshake_deadline_wins_over_retransmissions():
    defaults = DTLSDefaults(handshake_timeout=2.5)
    client = DTLSConnection(client_ctx(defaults), server_hostname="localhost", now=10.0)
    client.handle_timeout(11.0)
    assert client.next_deadline() == 12.5  # min(13.0 resend, 12.5 deadline)
    with pytest.raises(Timeout) as info:
        client.handle_timeout(12.5)
    assert info.value.phase is Phase.HANDSHAKE
    assert client.next_deadline() is None


def test_early_calls_do_nothing_and_no_clock_means_no_timer():
    client = DTLSConnection(client_ctx(), server_hostname="localhost", now=0.0)
    client.datagrams_to_send()
    assert client.handle_timeout(0.5) == []
    assert client.datagrams_to_send() == []
    assert client.stats.retransmits == 0
    untimed = DTLSConnection(client_ctx(), server_hostname="localhost")
    assert untimed.next_deadline() is None


def test_schedule_arithmetic():
    s = RetransmitSchedule(DTLSDefaults(retransmit_initial=0.5, retransmit_max=1.5,
                                        max_retransmits=2))
    assert s.deadline is None and not s.due(100.0)
    s.start(10.0)
    assert s.deadline == 10.5 and not s.due(10.4) and s.due(10.5)
    s.backoff(10.5)
    assert s.interval == 1.0 and s.deadline == 11.5 and not s.exhausted
    s.backoff(11.5)
    assert s.interval == 1.5 and s.deadline == 13.0 and s.exhausted  # capped at max
    s.start(20.0)
    assert s.attempts == 0 and s.interval == 0.5
    s.stop()
    assert s.deadline is None
