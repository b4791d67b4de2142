"""The proxy handshake driven by a Reactor, step by step, and its failures."""

from __future__ import annotations

import time

import pytest

from sockit.errors import LocalProtocolError, ProxyError, Timeout
from sockit.net import IOEvent, Reactor, listen_tcp
from sockit.net.proxy import (
    ProxyConnection,
    connect_via_proxy,
    open_proxy_handshake,
    run_handshake,
)
from sockit.proto.socks import SOCKSCommand
from sockit.server.socks import SOCKSProxyServer
from tests.support.targets import BANNER, recv_until, tcp_banner_echo


def test_reactor_drives_two_handshakes_at_once() -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as proxy, tcp_banner_echo() as target:
        proxy.start()
        url = f"socks5h://127.0.0.1:{proxy.address[1]}"
        shakes = [open_proxy_handshake(url, "localhost", target[1]) for _ in range(2)]
        done: dict[int, ProxyConnection] = {}
        with Reactor() as reactor:
            for shake in shakes:
                reactor.register(shake.sock, shake.interest, data=shake)
            deadline = time.monotonic() + 10
            while len(done) < 2 and time.monotonic() < deadline:
                for ev in reactor.wait(timeout=0.5):
                    assert isinstance(ev, IOEvent)
                    shake = ev.data
                    result = shake.step()
                    if result is not None:
                        done[id(shake)] = result
                        reactor.unregister(shake.sock)
                    else:
                        reactor.modify(shake.sock, shake.interest, data=shake)
        assert len(done) == 2
        for tunnel in done.values():
            with tunnel.sock as sock:
                assert recv_until(lambda n, s=sock: s.recv(n, timeout=5), tunnel.initial_data,
                                  BANNER) == BANNER
                assert tunnel.bound is not None


def test_handshake_deadline_is_phase_proxy() -> None:
    with listen_tcp("127.0.0.1", 0) as silent:  # accepts (in the kernel) but never answers
        port = silent.getsockname()[1]
        with pytest.raises(Timeout) as info:
            connect_via_proxy(f"socks5h://127.0.0.1:{port}", "example.com", 80,
                              handshake_timeout=0.2)
        assert info.value.phase.value == "proxy"
        shake = open_proxy_handshake(f"socks5h://127.0.0.1:{port}", "example.com", 80,
                                     handshake_timeout=0.0)
        with shake.sock:
            assert shake.expired()
            with pytest.raises(Timeout):
                run_handshake(shake)


def test_proxy_that_hangs_up_is_a_proxy_error() -> None:
    with listen_tcp("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        shake = open_proxy_handshake(f"socks4a://127.0.0.1:{port}", "example.com", 80)
        peer = listener.accept(timeout=5)
        peer.close()
        with shake.sock, pytest.raises(ProxyError, match="closed the connection"):
            run_handshake(shake)


def test_http_proxy_cannot_bind_or_associate() -> None:
    with listen_tcp("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        with pytest.raises(LocalProtocolError):
            open_proxy_handshake(f"http://127.0.0.1:{port}", "example.com", 80,
                                 command=SOCKSCommand.BIND)
