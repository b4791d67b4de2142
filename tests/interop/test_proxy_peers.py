"""Tunnels through real proxies: microsocks, Dante, ``ssh -D``, tinyproxy, and curl
through sockit's own SOCKS server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit.errors import ProxyError
from sockit.net.proxy import ProxyConnection, connect_via_proxy, socks_udp_associate
from sockit.proto.connect import ProxyAuthenticationRequired
from sockit.proto.socks import SOCKSAuthError
from sockit.server.socks import SOCKSProxyServer
from tests.support.peers import free_port, require_program
from tests.support.proxies import (
    DANTE_USER,
    run_dante,
    run_microsocks,
    run_ssh_socks,
    run_tinyproxy,
)
from tests.support.targets import BANNER, recv_until, tcp_banner_echo, udp_echo

pytestmark = pytest.mark.interop


@pytest.fixture
def target() -> Iterator[tuple[str, int]]:
    with tcp_banner_echo() as address:
        yield address


def _exchange(tunnel: ProxyConnection) -> None:
    """The banner arrives (partly or wholly in initial_data), then an echo round trip."""
    with tunnel.sock as sock:
        got = recv_until(lambda n: sock.recv(n, timeout=5), tunnel.initial_data, BANNER)
        assert got == BANNER
        sock.sendall(b"ping through the proxy\n", timeout=5)
        echo = recv_until(lambda n: sock.recv(n, timeout=5), b"", b"\n")
        assert echo == b"ping through the proxy\n"


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_microsocks_socks5(scheme: str, target: tuple[str, int]) -> None:
    with run_microsocks() as proxy:
        host = "localhost" if scheme == "socks5h" else target[0]
        _exchange(connect_via_proxy(f"{scheme}://127.0.0.1:{proxy.port}", host, target[1]))


def test_microsocks_password(target: tuple[str, int]) -> None:
    with run_microsocks("alice", "s3cret") as proxy:
        url = f"socks5://alice:s3cret@127.0.0.1:{proxy.port}"
        _exchange(connect_via_proxy(url, *target))
        with pytest.raises(SOCKSAuthError, match="username/password"):
            connect_via_proxy(f"socks5://alice:wrong@127.0.0.1:{proxy.port}", *target)
        with pytest.raises(SOCKSAuthError):  # no credentials offered: no acceptable method
            connect_via_proxy(f"socks5://127.0.0.1:{proxy.port}", *target)


@pytest.mark.parametrize("scheme", ["socks4", "socks5"])
def test_dante(scheme: str, tmp_path: Path, target: tuple[str, int]) -> None:
    with run_dante(tmp_path) as proxy:
        _exchange(connect_via_proxy(f"{scheme}://127.0.0.1:{proxy.port}", *target))


def test_dante_refuses_a_closed_port(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    with run_dante(tmp_path) as proxy:
        with pytest.raises(ProxyError) as info:
            connect_via_proxy(f"socks5://127.0.0.1:{proxy.port}", "127.0.0.1", closed)
        assert info.value.reply_code == 5  # connection refused


def test_dante_username_auth(tmp_path: Path, target: tuple[str, int]) -> None:
    with run_dante(tmp_path, password="Pr0xy-pass") as proxy:
        _exchange(connect_via_proxy(f"socks5://{DANTE_USER}:Pr0xy-pass@127.0.0.1:{proxy.port}",
                                    *target))
        with pytest.raises(SOCKSAuthError):
            connect_via_proxy(f"socks5://{DANTE_USER}:nope@127.0.0.1:{proxy.port}", *target)


def test_dante_udp_associate(tmp_path: Path) -> None:
    with run_dante(tmp_path) as proxy, udp_echo() as echo, socks_udp_associate(
        f"socks5://127.0.0.1:{proxy.port}"
    ) as assoc:
        assoc.sendto(b"datagram one", echo)
        payload, source = assoc.recvfrom(timeout=5)
        assert payload == b"echo:datagram one"
        assert source == echo


@pytest.mark.parametrize("scheme", ["socks4", "socks4a", "socks5", "socks5h"])
def test_ssh_dynamic_forwarding(scheme: str, tmp_path: Path, target: tuple[str, int]) -> None:
    with run_ssh_socks(tmp_path) as proxy:
        host = "localhost" if scheme in ("socks4a", "socks5h") else target[0]
        _exchange(connect_via_proxy(f"{scheme}://127.0.0.1:{proxy.port}", host, target[1]))


def test_tinyproxy_connect(tmp_path: Path, target: tuple[str, int]) -> None:
    with run_tinyproxy(tmp_path) as proxy:
        _exchange(connect_via_proxy(f"http://127.0.0.1:{proxy.port}", *target))


def test_tinyproxy_basic_auth_and_407(tmp_path: Path, target: tuple[str, int]) -> None:
    with run_tinyproxy(tmp_path, user="bob", password="hunter2") as proxy:
        _exchange(connect_via_proxy(f"http://bob:hunter2@127.0.0.1:{proxy.port}", *target))
        with pytest.raises(ProxyAuthenticationRequired) as info:
            connect_via_proxy(f"http://127.0.0.1:{proxy.port}", *target)
        assert info.value.reply_code == 407
        with pytest.raises(ProxyError) as wrong:
            connect_via_proxy(f"http://bob:wrong@127.0.0.1:{proxy.port}", *target)
        # tinyproxy answers wrong credentials with 401 rather than 407
        assert wrong.value.reply_code in (401, 407)


@pytest.fixture
def sockit_socks() -> Iterator[SOCKSProxyServer]:
    with SOCKSProxyServer("127.0.0.1", 0, users={"carol": "pa55"}) as server:
        server.start()
        yield server


@pytest.mark.parametrize("flag", ["--socks5", "--socks5-hostname"])
def test_curl_through_sockit_socks(flag: str, sockit_socks: SOCKSProxyServer) -> None:
    curl = require_program("curl")
    with tcp_banner_echo() as (_host, port):
        _, proxy_port = sockit_socks.address
        # curl's telnet:// speaks raw TCP: it prints the banner, sends stdin, prints the echo
        out = subprocess.run(
            [curl, "-sS", "--max-time", "5", flag, f"carol:pa55@127.0.0.1:{proxy_port}",
             f"telnet://localhost:{port}"],
            input=b"via sockit\n", capture_output=True, timeout=20, check=False,
        )
    assert BANNER in out.stdout
    assert b"via sockit\n" in out.stdout.replace(BANNER, b"")


def test_curl_wrong_password_is_refused(sockit_socks: SOCKSProxyServer) -> None:
    curl = require_program("curl")
    with tcp_banner_echo() as (_host, port):
        _, proxy_port = sockit_socks.address
        out = subprocess.run(
            [curl, "-sS", "--max-time", "5", "--socks5", f"carol:bad@127.0.0.1:{proxy_port}",
             f"telnet://127.0.0.1:{port}"],
            input=b"", capture_output=True, timeout=20, check=False,
        )
    assert out.returncode != 0
    assert sockit_socks.stats["refused_auth"] == 1


@pytest.mark.parametrize("scheme", ["socks4", "socks4a", "socks5", "socks5h"])
def test_sockit_client_through_sockit_server(scheme: str, target: tuple[str, int]) -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as server:
        server.start()
        host = "localhost" if scheme in ("socks4a", "socks5h") else target[0]
        _exchange(connect_via_proxy(f"{scheme}://127.0.0.1:{server.address[1]}", host,
                                    target[1]))
        assert server.stats["connects"] == 1


def test_udp_associate_through_sockit_server() -> None:
    with SOCKSProxyServer("127.0.0.1", 0) as server, udp_echo() as echo:
        server.start()
        with socks_udp_associate(f"socks5://127.0.0.1:{server.address[1]}") as assoc:
            for i in range(3):
                assoc.sendto(b"n%d" % i, echo)
                payload, source = assoc.recvfrom(timeout=5)
                assert payload == b"echo:n%d" % i
                assert source == echo
