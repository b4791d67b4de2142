"""socksio as an in-memory peer: its client against our server, its requests against ours.

socksio has only the client role, so our SOCKSClient is checked by comparing
the bytes it sends with socksio's for the same request, and by feeding our
server's answers to socksio's parser.
"""

from __future__ import annotations

import pytest

socksio = pytest.importorskip("socksio")

from socksio import (  # noqa: E402
    SOCKS4ARequest,
    SOCKS4Command,
    SOCKS4Connection,
    SOCKS4ReplyCode,
    SOCKS4Request,
    SOCKS5AuthMethod,
    SOCKS5AuthMethodsRequest,
    SOCKS5Command,
    SOCKS5CommandRequest,
    SOCKS5Connection,
    SOCKS5ReplyCode,
    SOCKS5UsernamePasswordRequest,
)

from sockit.proto.socks import (  # noqa: E402
    CommandRequested,
    CredentialsReceived,
    SOCKS5Reply,
    SOCKSClient,
    SOCKSCommand,
    SOCKSServer,
    SOCKSServerState,
    SOCKSVersion,
)

V4, V4A, V5 = SOCKSVersion.SOCKS4, SOCKSVersion.SOCKS4A, SOCKSVersion.SOCKS5


@pytest.mark.parametrize("host", ["example.com", "192.0.2.7", "2001:db8::7"])
def test_socksio_socks5_client_against_our_server(host: str) -> None:
    peer = SOCKS5Connection()
    server = SOCKSServer(require_auth=True)
    peer.send(SOCKS5AuthMethodsRequest([SOCKS5AuthMethod.USERNAME_PASSWORD]))
    assert server.receive_data(peer.data_to_send()) == []
    reply = peer.receive_data(server.data_to_send())
    assert reply.method is SOCKS5AuthMethod.USERNAME_PASSWORD
    peer.send(SOCKS5UsernamePasswordRequest(b"user", b"pass"))
    assert server.receive_data(peer.data_to_send()) == [CredentialsReceived("user", "pass")]
    server.accept_credentials(True)
    assert peer.receive_data(server.data_to_send()).success
    peer.send(SOCKS5CommandRequest.from_address(SOCKS5Command.CONNECT, (host, 443)))
    events = server.receive_data(peer.data_to_send())
    assert events == [CommandRequested(V5, SOCKSCommand.CONNECT, host, 443)]
    bound = host if host[0].isdigit() else "10.0.0.1"  # socksio misreads bound names
    server.reply_success(bound, 1234)
    answer = peer.receive_data(server.data_to_send())
    assert answer.reply_code is SOCKS5ReplyCode.SUCCEEDED
    assert (answer.addr, answer.port) == (bound, 1234)
    assert server.state is SOCKSServerState.TUNNEL


@pytest.mark.parametrize("code", [c for c in SOCKS5Reply if c])
def test_socksio_reads_our_socks5_refusals(code: int) -> None:
    peer = SOCKS5Connection()
    server = SOCKSServer()
    peer.send(SOCKS5AuthMethodsRequest([SOCKS5AuthMethod.NO_AUTH_REQUIRED]))
    server.receive_data(peer.data_to_send())
    peer.receive_data(server.data_to_send())
    peer.send(SOCKS5CommandRequest.from_address(SOCKS5Command.CONNECT, ("example.com", 80)))
    server.receive_data(peer.data_to_send())
    server.reply_failure(code)
    answer = peer.receive_data(server.data_to_send())
    assert answer.reply_code.value == bytes((code,))


@pytest.mark.parametrize(
    ("request_cls", "host", "version"),
    [(SOCKS4Request, "192.0.2.7", V4), (SOCKS4ARequest, "example.com", V4A)],
)
def test_socksio_socks4_clients_against_our_server(
    request_cls: type[SOCKS4Request], host: str, version: SOCKSVersion
) -> None:
    peer = SOCKS4Connection(user_id=b"bob")
    server = SOCKSServer()
    peer.send(request_cls.from_address(SOCKS4Command.CONNECT, (host, 80)))
    events = server.receive_data(peer.data_to_send())
    assert events == [CommandRequested(version, SOCKSCommand.CONNECT, host, 80, "bob")]
    server.reply_success("10.0.0.1", 8080)
    answer = peer.receive_data(server.data_to_send())
    assert answer.reply_code is SOCKS4ReplyCode.REQUEST_GRANTED
    assert (answer.addr, answer.port) == ("10.0.0.1", 8080)


@pytest.mark.parametrize("host", ["example.com", "192.0.2.7", "2001:db8::7"])
def test_our_socks5_client_sends_what_socksio_sends(host: str) -> None:
    ours = SOCKSClient(V5, host, 443, username="user", password="pass")
    peer = SOCKS5Connection()
    peer.send(
        SOCKS5AuthMethodsRequest(
            [SOCKS5AuthMethod.NO_AUTH_REQUIRED, SOCKS5AuthMethod.USERNAME_PASSWORD]
        )
    )
    assert ours.data_to_send() == peer.data_to_send()
    ours.receive_data(b"\x05\x02")
    peer.receive_data(b"\x05\x02")
    peer.send(SOCKS5UsernamePasswordRequest(b"user", b"pass"))
    assert ours.data_to_send() == peer.data_to_send()
    ours.receive_data(b"\x01\x00")
    peer.receive_data(b"\x01\x00")
    peer.send(SOCKS5CommandRequest.from_address(SOCKS5Command.CONNECT, (host, 443)))
    assert ours.data_to_send() == peer.data_to_send()


def test_our_socks4_client_sends_what_socksio_sends() -> None:
    ours = SOCKSClient(V4, "192.0.2.7", 80, user_id="bob")
    peer = SOCKS4Connection(user_id=b"bob")
    peer.send(SOCKS4Request.from_address(SOCKS4Command.CONNECT, ("192.0.2.7", 80)))
    assert ours.data_to_send() == peer.data_to_send()


def test_socksio_socks4a_marker_is_accepted_and_ours_is_standard() -> None:
    # socksio marks a SOCKS4A name with 0.0.0.255, we send 0.0.0.1: both are 0.0.0.x, x != 0
    peer = SOCKS4Connection(user_id=b"me")
    peer.send(SOCKS4ARequest.from_address(SOCKS4Command.CONNECT, ("example.com", 80)))
    theirs = peer.data_to_send()
    ours = SOCKSClient(V4A, "example.com", 80, user_id="me").data_to_send()
    assert theirs[:7] == ours[:7] and theirs[7] == 0xFF and ours[7] == 1
    assert theirs[8:] == ours[8:]
