"""SOCKSClient against SOCKSServer in memory: every dialect, command and refusal."""

from __future__ import annotations

import contextlib

import pytest

from sockit.proto.socks import (
    Authenticated,
    BindConnected,
    CommandRequested,
    CredentialsReceived,
    MethodSelected,
    SOCKS4Reply,
    SOCKS5Reply,
    SOCKSAuthError,
    SOCKSClient,
    SOCKSClientState,
    SOCKSCommand,
    SOCKSError,
    SOCKSServer,
    SOCKSServerState,
    SOCKSVersion,
    Succeeded,
)
from tests.proto.socks.socks_helpers import run_pair

V4, V4A, V5 = SOCKSVersion.SOCKS4, SOCKSVersion.SOCKS4A, SOCKSVersion.SOCKS5


@pytest.mark.parametrize(
    ("version", "host"),
    [
        (V4, "192.0.2.7"),
        (V4A, "example.com"),
        (V4A, "192.0.2.7"),
        (V5, "example.com"),
        (V5, "2001:db8::7"),
        (V5, "192.0.2.7"),
    ],
)
def test_connect_every_dialect(version: SOCKSVersion, host: str) -> None:
    client = SOCKSClient(version, host, 443, user_id="bob" if version is not V5 else "")
    server = SOCKSServer()
    seen = run_pair(client, server)
    assert client.state is SOCKSClientState.TUNNEL
    assert server.state is SOCKSServerState.TUNNEL
    (request,) = seen.server_events
    assert isinstance(request, CommandRequested)
    assert (request.host, request.port, request.command) == (host, 443, SOCKSCommand.CONNECT)
    expected = V4 if version is V4A and host[0].isdigit() else version
    assert request.version is expected
    assert seen.client_events[-1] == Succeeded("192.0.2.1", 4242)


def test_socks5_with_credentials_and_data_both_ways() -> None:
    client = SOCKSClient(V5, "example.com", 443, username="alice", password="s3cret")
    server = SOCKSServer(require_auth=True)
    seen = run_pair(client, server, check=lambda u, p: (u, p) == ("alice", "s3cret"))
    assert seen.client_events == [
        MethodSelected(2),
        Authenticated(),
        Succeeded("192.0.2.1", 4242),
    ]
    assert seen.server_events[0] == CredentialsReceived("alice", "s3cret")
    server.receive_data(b"client hello")
    client.receive_data(b"server hello")
    assert server.trailing_data == b"client hello"
    assert client.trailing_data == b"server hello"


def test_wrong_password_is_an_auth_error_at_the_client() -> None:
    client = SOCKSClient(V5, "example.com", 443, username="alice", password="nope")
    server = SOCKSServer(require_auth=True)
    with pytest.raises(SOCKSAuthError) as info:
        run_pair(client, server, check=lambda u, p: p == "s3cret")
    assert info.value.reply_code == 1
    assert server.state is SOCKSServerState.CLOSED


def test_client_without_credentials_against_an_auth_server() -> None:
    client = SOCKSClient(V5, "example.com", 443)
    server = SOCKSServer(require_auth=True)
    with pytest.raises(SOCKSAuthError) as info:
        client.receive_data(_answer(server, client.data_to_send()))
    assert info.value.reply_code == 0xFF


def _answer(server: SOCKSServer, data: bytes) -> bytes:
    with contextlib.suppress(SOCKSError):
        server.receive_data(data)
    return server.data_to_send()


@pytest.mark.parametrize("code", [c for c in SOCKS5Reply if c])
def test_every_socks5_refusal_reaches_the_client(code: int) -> None:
    client = SOCKSClient(V5, "example.com", 443)
    server = SOCKSServer()
    with pytest.raises(SOCKSError) as info:
        run_pair(client, server, answer=lambda s, r: s.reply_failure(code))
    assert info.value.reply_code == code
    assert info.value.version is V5
    assert SOCKS5Reply(code).name.replace("_", " ").lower().split()[0] in str(info.value).lower()


@pytest.mark.parametrize("code", [c for c in SOCKS4Reply if c != SOCKS4Reply.GRANTED])
@pytest.mark.parametrize("version", [V4, V4A])
def test_every_socks4_refusal_reaches_the_client(version: SOCKSVersion, code: int) -> None:
    client = SOCKSClient(version, "192.0.2.7", 80)
    with pytest.raises(SOCKSError) as info:
        run_pair(client, SOCKSServer(), answer=lambda s, r: s.reply_failure(code))
    assert info.value.reply_code == code
    assert info.value.version is V4


@pytest.mark.parametrize("version", [V4, V4A, V5])
def test_bind_round_trip(version: SOCKSVersion) -> None:
    client = SOCKSClient(version, "192.0.2.7", 21, command=SOCKSCommand.BIND)
    server = SOCKSServer()
    seen = run_pair(client, server, answer=lambda s, r: s.reply_success("192.0.2.1", 5000))
    assert client.state is SOCKSClientState.AWAIT_BIND_PEER
    assert server.state is SOCKSServerState.BIND_WAITING
    server.reply_success("198.51.100.1", 6000)
    assert client.receive_data(server.data_to_send()) == [BindConnected("198.51.100.1", 6000)]
    assert seen.client_events[-1] == Succeeded("192.0.2.1", 5000)
    assert client.state is SOCKSClientState.TUNNEL


def test_udp_associate_round_trip() -> None:
    client = SOCKSClient(V5, "0.0.0.0", 0, command=SOCKSCommand.UDP_ASSOCIATE)
    server = SOCKSServer()
    seen = run_pair(client, server, answer=lambda s, r: s.reply_success("127.0.0.1", 40000))
    assert seen.server_events[0] == CommandRequested(V5, SOCKSCommand.UDP_ASSOCIATE, "0.0.0.0", 0)
    assert seen.client_events[-1] == Succeeded("127.0.0.1", 40000)
