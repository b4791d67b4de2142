"""HTTP CONNECT machines: client against server in memory, against h11, refusals, 407."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, ProxyError, RemoteProtocolError, SockitError
from sockit.limits import HTTP1Limits
from sockit.proto.connect import (
    ConnectClient,
    ConnectServer,
    ConnectState,
    ProxyAuthenticationRequired,
    TunnelEstablished,
    TunnelRequested,
    basic_credentials,
    format_authority,
    parse_authority,
)
from sockit.proto.http1 import ConnectionClosed
from tests.support.feeding import split_feed

OK = b"HTTP/1.1 200 Connection established\r\n\r\n"


# -- client ------------------------------------------------------------------------------


def test_request_bytes() -> None:
    client = ConnectClient("example.com", 443, headers=[("User-Agent", "sockit")])
    assert client.data_to_send() == (
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nUser-Agent: sockit\r\n\r\n"
    )
    assert client.state is ConnectState.AWAIT_RESPONSE


def test_request_with_basic_credentials_and_ipv6() -> None:
    client = ConnectClient("2001:db8::1", 8443, proxy_auth=("Aladdin", "open sesame"))
    wire = client.data_to_send()
    assert wire.startswith(b"CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n")
    assert b"Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n" in wire


def test_tunnel_with_trailing_data_split_every_way() -> None:
    result = split_feed(lambda: ConnectClient("example.com", 443), OK + b"\x16\x03\x03", eof=True)
    assert result.error is None
    assert [type(e) for e in result.events] == [TunnelEstablished]
    assert result.events[0].status == 200
    client = ConnectClient("example.com", 443)
    client.receive_data(OK[:10])
    assert client.receive_data(OK[10:] + b"\x16") == [TunnelEstablished(200, client_headers(OK))]
    client.receive_data(b"\x03")
    assert client.trailing_data == b"\x16\x03"
    assert client.state is ConnectState.TUNNEL


def client_headers(head: bytes) -> object:
    probe = ConnectClient("h", 1)
    (event,) = probe.receive_data(head)
    assert isinstance(event, TunnelEstablished)
    return event.headers


def test_interim_responses_are_skipped() -> None:
    client = ConnectClient("h", 1)
    events = client.receive_data(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
    assert [type(e) for e in events] == [TunnelEstablished]


def test_any_2xx_opens_the_tunnel() -> None:
    client = ConnectClient("h", 1)
    (event,) = client.receive_data(b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n")
    assert isinstance(event, TunnelEstablished) and event.status == 204
    assert event.headers.get("x-a") == "b"


@pytest.mark.parametrize("status", [301, 400, 403, 404, 500, 502, 503])
def test_refusals_raise_proxy_error_with_an_excerpt(status: int) -> None:
    body = b"<html>  access\r\n denied  by policy</html>"
    wire = b"HTTP/1.1 %d Nope\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
    result = split_feed(lambda: ConnectClient("example.com", 443), wire, eof=True)
    assert result.error is not None and result.error[0] is ProxyError
    client = ConnectClient("example.com", 443)
    with pytest.raises(ProxyError) as info:
        client.receive_data(wire)
    assert info.value.reply_code == status
    assert f"{status} Nope" in str(info.value)
    assert "access denied by policy" in str(info.value)
    assert client.state is ConnectState.FAILED
    with pytest.raises(ProxyError):
        client.receive_data(b"")


def test_refusal_body_is_read_only_up_to_the_bound() -> None:
    client = ConnectClient("h", 1, max_refusal_body=10)
    with pytest.raises(ProxyError) as info:
        client.receive_data(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 1000000\r\n\r\n")
        client.receive_data(b"0123456789abcdef")
    assert "0123456789" in str(info.value) and "abc" not in str(info.value)


def test_close_delimited_refusal_ends_at_eof() -> None:
    client = ConnectClient("h", 1)
    assert client.receive_data(b"HTTP/1.1 502 Bad Gateway\r\n\r\nupstream down") == []
    with pytest.raises(ProxyError) as info:
        client.receive_eof()
    assert info.value.reply_code == 502 and "upstream down" in str(info.value)


def test_407_lists_the_challenges() -> None:
    wire = (
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        b'Proxy-Authenticate: Basic realm="corp"\r\nProxy-Authenticate: Negotiate\r\n'
        b"Content-Length: 0\r\n\r\n"
    )
    client = ConnectClient("h", 1)
    with pytest.raises(ProxyAuthenticationRequired) as info:
        client.receive_data(wire)
    assert info.value.reply_code == 407
    assert info.value.authenticate == ['Basic realm="corp"', "Negotiate"]
    assert isinstance(info.value, ProxyError)


@pytest.mark.parametrize(
    "wire",
    [b"garbage\r\n\r\n", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"],
)
def test_malformed_answers_are_remote_protocol_errors(wire: bytes) -> None:
    client = ConnectClient("h", 1)
    with pytest.raises(RemoteProtocolError):
        client.receive_data(wire)
    assert client.state is ConnectState.FAILED


def test_eof_before_an_answer() -> None:
    client = ConnectClient("h", 1)
    client.receive_data(b"HTTP/1.1 2")
    with pytest.raises(RemoteProtocolError):
        client.receive_eof()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("h", 0), {}),
        (("h", 65536), {}),
        (("", 1), {}),
        (("a b", 1), {}),
        (("h", 1), {"proxy_auth": ("a:b", "c")}),
        (("h", 1), {"headers": [("Host", "x")]}),
        (("h", 1), {"headers": [("Bad Name", "x")]}),
    ],
)
def test_bad_client_arguments(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(LocalProtocolError):
        ConnectClient(*args, **kwargs)  # type: ignore[arg-type]


# -- server ------------------------------------------------------------------------------


def test_server_reports_the_request_and_accepts() -> None:
    wire = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nHELLO"
    result = split_feed(ConnectServer, wire)
    (event,) = result.events
    assert isinstance(event, TunnelRequested)
    assert (event.host, event.port, event.credentials) == ("example.com", 443, None)
    server = ConnectServer()
    server.receive_data(wire)
    assert server.state is ConnectState.REQUEST_RECEIVED
    assert server.trailing_data == b""
    server.accept([("Via", "1.1 sockit")])
    assert (
        server.data_to_send() == b"HTTP/1.1 200 Connection established\r\nVia: 1.1 sockit\r\n\r\n"
    )
    assert server.state is ConnectState.TUNNEL
    assert server.trailing_data == b"HELLO"
    server.receive_data(b" WORLD")
    assert server.trailing_data == b"HELLO WORLD"
    assert server.receive_eof() == []


def test_server_reads_basic_credentials() -> None:
    server = ConnectServer()
    (event,) = server.receive_data(
        b"CONNECT [::1]:22 HTTP/1.1\r\nHost: [::1]:22\r\n"
        b"Proxy-Authorization: basic dXNlcjpwYTpzcw==\r\n\r\n"
    )
    assert isinstance(event, TunnelRequested)
    assert (event.host, event.port, event.credentials) == ("::1", 22, ("user", "pa:ss"))


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", 405),
        (b"CONNECT /path HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"CONNECT h:0 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"CONNECT h:99999 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"CONNECT ::1:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        (b"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 400),
        (b"NOT HTTP\r\n\r\n", 400),
    ],
)
def test_server_answers_bad_requests(wire: bytes, status: int) -> None:
    server = ConnectServer()
    with pytest.raises(RemoteProtocolError) as info:
        server.receive_data(wire)
    assert info.value.http_status == status
    answer = server.data_to_send()
    assert answer.startswith(b"HTTP/1.1 %d " % status)
    assert b"Connection: close" in answer
    if status == 405:
        assert b"Allow: CONNECT" in answer
    assert server.state is ConnectState.FAILED
    with pytest.raises(RemoteProtocolError):
        server.receive_data(b"")


def test_server_head_limits_apply() -> None:
    limits = HTTP1Limits(max_header_value_size=32)
    server = ConnectServer(limits=limits)
    with pytest.raises(RemoteProtocolError):
        server.receive_data(b"CONNECT h:1 HTTP/1.1\r\nHost: h\r\nX: " + b"v" * 33 + b"\r\n\r\n")
    assert server.data_to_send().startswith(b"HTTP/1.1 4")


def test_server_refuse_closes() -> None:
    server = ConnectServer()
    server.receive_data(b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n")
    server.refuse(403, "Forbidden", [("X-Why", "policy")])
    wire = server.data_to_send()
    assert wire.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Connection: close" in wire and b"X-Why: policy" in wire
    assert server.state is ConnectState.CLOSED
    assert server.receive_data(b"more") == []
    with pytest.raises(LocalProtocolError):
        server.accept()


@pytest.mark.parametrize("status", [200, 299, 600, True])
def test_refuse_needs_a_refusal_status(status: int) -> None:
    server = ConnectServer()
    server.receive_data(b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\n")
    with pytest.raises(LocalProtocolError):
        server.refuse(status)
    assert server.state is ConnectState.REQUEST_RECEIVED


def test_answers_out_of_turn() -> None:
    server = ConnectServer()
    for answer in (server.accept, lambda: server.refuse(403), lambda: server.require_auth("r")):
        with pytest.raises(LocalProtocolError):
            answer()
    with pytest.raises(LocalProtocolError):
        server.require_auth("bad\nrealm")


def test_eof_before_a_request() -> None:
    server = ConnectServer()
    assert server.receive_eof() == [ConnectionClosed()]
    assert server.state is ConnectState.CLOSED


# -- both machines together: the 407 flow -----------------------------------------------------


def test_407_then_retry_with_credentials_on_the_same_connection() -> None:
    server = ConnectServer()
    first = ConnectClient("example.com", 443)
    (request,) = server.receive_data(first.data_to_send())
    assert isinstance(request, TunnelRequested) and request.credentials is None
    server.require_auth('proxy "one"')
    challenge = server.data_to_send()
    assert b'Proxy-Authenticate: Basic realm="proxy \\"one\\"", charset="UTF-8"' in challenge
    with pytest.raises(ProxyAuthenticationRequired) as info:
        first.receive_data(challenge)
    assert info.value.authenticate == ['Basic realm="proxy \\"one\\"", charset="UTF-8"']
    assert server.state is ConnectState.AWAIT_RESPONSE  # keep-alive: a second try
    second = ConnectClient("example.com", 443, proxy_auth=("alice", "wonder land"))
    (request,) = server.receive_data(second.data_to_send())
    assert isinstance(request, TunnelRequested)
    assert request.credentials == ("alice", "wonder land")
    server.accept()
    assert second.receive_data(server.data_to_send() + b"x") == [
        TunnelEstablished(200, client_headers(b"HTTP/1.1 200 Connection established\r\n\r\n"))
    ]
    assert second.trailing_data == b"x"


def test_407_closes_when_the_client_pipelined_tunnel_bytes() -> None:
    server = ConnectServer()
    server.receive_data(ConnectClient("h", 1).data_to_send() + b"\x16\x03")
    server.require_auth("r")
    assert server.state is ConnectState.CLOSED


def test_407_closes_when_the_client_asked_to() -> None:
    server = ConnectServer()
    server.receive_data(b"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n")
    server.require_auth("r")
    assert server.state is ConnectState.CLOSED


# -- h11 as the peer ---------------------------------------------------------------------------


def test_our_client_against_an_h11_proxy() -> None:
    client = ConnectClient("example.com", 443, proxy_auth=("u", "p"))
    proxy = h11.Connection(h11.SERVER)
    proxy.receive_data(client.data_to_send())
    request = proxy.next_event()
    assert isinstance(request, h11.Request)
    assert request.method == b"CONNECT" and request.target == b"example.com:443"
    assert (b"proxy-authorization", b"Basic dTpw") in list(request.headers)
    assert isinstance(proxy.next_event(), h11.EndOfMessage)
    wire = proxy.send(h11.Response(status_code=200, headers=[], reason=b"OK"))
    assert wire is not None
    events = client.receive_data(wire + b"target bytes")
    assert [type(e) for e in events] == [TunnelEstablished]
    assert client.trailing_data == b"target bytes"


def test_our_client_reads_an_h11_refusal() -> None:
    client = ConnectClient("example.com", 443)
    proxy = h11.Connection(h11.SERVER)
    proxy.receive_data(client.data_to_send())
    proxy.next_event()
    proxy.next_event()
    body = b"blocked by rule 7"
    head = proxy.send(h11.Response(status_code=403, headers=[("content-length", str(len(body)))]))
    data = proxy.send(h11.Data(data=body))
    end = proxy.send(h11.EndOfMessage())
    assert head is not None and data is not None and end is not None
    with pytest.raises(ProxyError) as info:
        client.receive_data(head + data + end)
    assert info.value.reply_code == 403 and "blocked by rule 7" in str(info.value)


def test_h11_client_against_our_server() -> None:
    peer = h11.Connection(h11.CLIENT)
    wire = peer.send(
        h11.Request(method="CONNECT", target="example.com:443", headers=[("Host", "example.com")])
    )
    assert wire is not None
    wire += peer.send(h11.EndOfMessage()) or b""
    server = ConnectServer()
    (event,) = server.receive_data(wire + b"early")
    assert isinstance(event, TunnelRequested) and (event.host, event.port) == ("example.com", 443)
    server.accept()
    peer.receive_data(server.data_to_send())
    response = peer.next_event()
    assert isinstance(response, h11.Response) and response.status_code == 200
    assert peer.our_state is h11.SWITCHED_PROTOCOL
    assert server.trailing_data == b"early"


# -- helpers and arbitrary bytes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "parsed"),
    [
        (b"example.com:443", ("example.com", 443)),
        (b"[::1]:80", ("::1", 80)),
        (b"10.0.0.1:1", ("10.0.0.1", 1)),
        (b"example.com", None),
        (b":443", None),
        (b"h:", None),
        (b"h:+1", None),
        (b"h:000080", None),
        (b"[h]:1", None),
        (b"\xff:1", None),
    ],
)
def test_parse_authority(target: bytes, parsed: tuple[str, int] | None) -> None:
    assert parse_authority(target) == parsed


def test_format_authority_idna() -> None:
    assert format_authority("bücher.example", 443) == "xn--bcher-kva.example:443"
    assert format_authority("[::1]", 1) == "[::1]:1"


@pytest.mark.parametrize(
    ("value", "creds"),
    [
        (b"Basic dTpw", ("u", "p")),
        (b"Basic dTo=", ("u", "")),
        (b"Bearer abc", None),
        (b"Basic !!!", None),
        (b"Basic dQ==", None),  # no colon
    ],
)
def test_basic_credentials(value: bytes, creds: tuple[str, str] | None) -> None:
    assert basic_credentials(value) == creds


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), prefix=st.sampled_from([b"", b"HTTP/1.1 ", b"CONNECT "]))
def test_arbitrary_bytes_to_both_roles(data: bytes, prefix: bytes) -> None:
    for machine in (ConnectClient("h", 1), ConnectServer()):
        try:
            machine.receive_data(prefix + data)
            if (
                isinstance(machine, ConnectServer)
                and machine.state is ConnectState.REQUEST_RECEIVED
            ):
                machine.accept()
            machine.receive_eof()
        except SockitError:
            assert machine.state in (ConnectState.FAILED, ConnectState.CLOSED)


def test_http10_connect_is_served() -> None:
    # `nc -X connect` and other old clients send HTTP/1.0; the answer may still switch
    server = ConnectServer()
    wire = b"CONNECT example.com:443 HTTP/1.0\r\n\r\nhello"
    (event,) = server.receive_data(wire)
    assert isinstance(event, TunnelRequested) and event.port == 443
    server.accept()
    assert server.data_to_send().startswith(b"HTTP/1.1 200 ")
    assert server.state is ConnectState.TUNNEL
    assert server.trailing_data == b"hello"
    refused = ConnectServer()
    refused.receive_data(wire)
    refused.require_auth("r")  # no keep-alive on HTTP/1.0: closes after the 407
    assert refused.state is ConnectState.CLOSED


def test_http10_answer_from_an_old_proxy() -> None:
    client = ConnectClient("example.com", 443)
    (event,) = client.receive_data(b"HTTP/1.0 200 Connection established\r\n\r\nx")
    assert isinstance(event, TunnelEstablished)
    assert client.trailing_data == b"x"
