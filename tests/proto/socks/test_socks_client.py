"""SOCKSClient: the bytes it sends, every reply it can get, splits, limits, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, ProxyError, RemoteProtocolError, SockitError
from sockit.limits import ProxyLimits
from sockit.proto.socks import (
    Authenticated,
    BindConnected,
    MethodSelected,
    SOCKS4Reply,
    SOCKS5Reply,
    SOCKSAuthError,
    SOCKSClient,
    SOCKSClientState,
    SOCKSCommand,
    SOCKSError,
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    SOCKSVersion,
    Succeeded,
)
from tests.support.feeding import split_feed

V4, V4A, V5 = SOCKSVersion.SOCKS4, SOCKSVersion.SOCKS4A, SOCKSVersion.SOCKS5
OK5 = b"\x05\x00\x00\x01\xc0\x00\x02\x01\x10\x92"  # succeeded, bound 192.0.2.1:4242
OK4 = b"\x00\x5a\x10\x92\xc0\x00\x02\x01"


def drain(client: SOCKSClient) -> list[object]:
    client.data_to_send()  # the driver would send it
    return []


# -- what goes on the wire ---------------------------------------------------------------


def test_socks5_greeting_is_queued_at_construction() -> None:
    client = SOCKSClient(V5, "example.com", 443)
    assert client.state is SOCKSClientState.AWAIT_METHOD
    assert client.data_to_send() == b"\x05\x01\x00"
    assert client.data_to_send() == b""


def test_socks5_greeting_offers_both_methods_with_credentials() -> None:
    client = SOCKSClient(V5, "example.com", 443, username="u", password="p")
    assert client.data_to_send() == b"\x05\x02\x00\x02"


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("example.com", b"\x03\x0bexample.com"),
        ("192.0.2.7", b"\x01\xc0\x00\x02\x07"),
        ("2001:db8::1", b"\x04" + bytes.fromhex("20010db8000000000000000000000001")),
        ("[2001:db8::1]", b"\x04" + bytes.fromhex("20010db8000000000000000000000001")),
        ("bücher.example", b"\x03\x15xn--bcher-kva.example"),
    ],
)
def test_socks5_request_address_forms(host: str, address: bytes) -> None:
    client = SOCKSClient(V5, host, 80)
    client.data_to_send()
    client.receive_data(b"\x05\x00")
    assert client.data_to_send() == b"\x05\x01\x00" + address + b"\x00\x50"
    assert client.state is SOCKSClientState.AWAIT_REPLY


def test_socks4_request_bytes() -> None:
    client = SOCKSClient(V4, "192.0.2.7", 80, user_id="alice")
    assert client.state is SOCKSClientState.AWAIT_REPLY
    assert client.data_to_send() == b"\x04\x01\x00\x50\xc0\x00\x02\x07alice\x00"


def test_socks4a_sends_names_after_the_marker_and_literals_as_socks4() -> None:
    named = SOCKSClient(V4A, "example.com", 80)
    assert named.data_to_send() == b"\x04\x01\x00\x50\x00\x00\x00\x01\x00example.com\x00"
    literal = SOCKSClient(V4A, "192.0.2.7", 80)
    assert literal.data_to_send() == b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00"


def test_socks4_bind_command_byte() -> None:
    client = SOCKSClient(V4, "192.0.2.7", 21, command=SOCKSCommand.BIND)
    assert client.data_to_send()[:2] == b"\x04\x02"


# -- the happy paths, split every way ------------------------------------------------------


def test_socks5_no_auth_connect_with_trailing_data() -> None:
    result = split_feed(
        lambda: SOCKSClient(V5, "example.com", 443), b"\x05\x00" + OK5 + b"TLS", drain=drain
    )
    assert result.error is None
    assert result.events == (MethodSelected(0), Succeeded("192.0.2.1", 4242))
    client = SOCKSClient(V5, "example.com", 443)
    client.receive_data(b"\x05\x00" + OK5[:5])
    client.receive_data(OK5[5:] + b"TL")
    client.receive_data(b"S")
    assert client.state is SOCKSClientState.TUNNEL
    assert client.trailing_data == b"TLS"
    assert client.receive_eof() == []


def test_socks5_auth_flow_sends_credentials_then_request() -> None:
    client = SOCKSClient(V5, "example.com", 443, username="user", password="secret")
    client.data_to_send()
    assert client.receive_data(b"\x05\x02") == [MethodSelected(2)]
    assert client.state is SOCKSClientState.AWAIT_AUTH
    assert client.data_to_send() == b"\x01\x04user\x06secret"
    assert client.receive_data(b"\x01\x00") == [Authenticated()]
    assert client.data_to_send().startswith(b"\x05\x01\x00\x03")
    assert client.receive_data(OK5) == [Succeeded("192.0.2.1", 4242)]
    assert client.state is SOCKSClientState.TUNNEL


def test_socks5_auth_flow_split() -> None:
    def make() -> SOCKSClient:
        return SOCKSClient(V5, "example.com", 443, username="user", password="secret")

    result = split_feed(make, b"\x05\x02\x01\x00" + OK5 + b"rest", drain=drain)
    assert result.events == (MethodSelected(2), Authenticated(), Succeeded("192.0.2.1", 4242))


def test_socks5_no_auth_selected_although_credentials_offered() -> None:
    client = SOCKSClient(V5, "example.com", 443, username="u", password="p")
    client.data_to_send()
    assert client.receive_data(b"\x05\x00") == [MethodSelected(0)]
    assert client.data_to_send().startswith(b"\x05\x01\x00")


@pytest.mark.parametrize(
    ("reply", "bound"),
    [
        (b"\x05\x00\x00\x03\x09proxy.lan\x00\x50", ("proxy.lan", 80)),
        (b"\x05\x00\x00\x04" + bytes(15) + b"\x01\x00\x50", ("::1", 80)),
        (b"\x05\x00\x00\x03\x00\x00\x50", None),
    ],
)
def test_socks5_bound_address_forms(reply: bytes, bound: tuple[str, int] | None) -> None:
    result = split_feed(lambda: SOCKSClient(V5, "example.com", 1), b"\x05\x00" + reply, eof=True)
    if bound is None:  # an empty name is malformed
        assert result.error is not None and result.error[0] is SOCKSProtocolError
    else:
        assert result.error is None
        assert result.events[-1] == Succeeded(*bound)


def test_socks4_connect_split_with_trailing_data() -> None:
    result = split_feed(lambda: SOCKSClient(V4, "192.0.2.7", 80), OK4 + b"HTTP", eof=True)
    assert result.error is None
    assert result.events == (Succeeded("192.0.2.1", 4242),)
    client = SOCKSClient(V4A, "example.com", 80)
    client.receive_data(OK4 + b"HT")
    client.receive_data(b"TP")
    assert client.trailing_data == b"HTTP"


@pytest.mark.parametrize("version", [V4, V5])
def test_bind_waits_for_the_second_reply(version: SOCKSVersion) -> None:
    client = SOCKSClient(version, "192.0.2.7", 21, command=SOCKSCommand.BIND)
    client.data_to_send()
    if version is V5:
        first = b"\x05\x00" + OK5
        second = b"\x05\x00\x00\x01\xc6\x33\x64\x09\x04\xd2"
    else:
        first = OK4
        second = b"\x00\x5a\x04\xd2\xc6\x33\x64\x09"
    events = client.receive_data(first)
    assert events[-1] == Succeeded("192.0.2.1", 4242)
    assert client.state is SOCKSClientState.AWAIT_BIND_PEER
    assert client.receive_data(second + b"x") == [BindConnected("198.51.100.9", 1234)]
    assert client.state is SOCKSClientState.TUNNEL
    assert client.trailing_data == b"x"


def test_udp_associate_success_is_the_relay() -> None:
    client = SOCKSClient(V5, "0.0.0.0", 0, command=SOCKSCommand.UDP_ASSOCIATE)
    client.data_to_send()
    client.receive_data(b"\x05\x00")
    assert client.data_to_send() == b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"
    assert client.receive_data(OK5) == [Succeeded("192.0.2.1", 4242)]
    assert client.state is SOCKSClientState.TUNNEL


# -- refusals: every reply code ------------------------------------------------------------


@pytest.mark.parametrize("code", [c for c in SOCKS5Reply if c] + [9, 0x42, 0xFF])
def test_every_socks5_refusal_is_a_socks_error_with_its_code(code: int) -> None:
    reply = b"\x05\x00\x05" + bytes((code,)) + OK5[2:]
    result = split_feed(lambda: SOCKSClient(V5, "example.com", 443), reply, eof=True)
    assert result.events == (MethodSelected(0),)
    assert result.error is not None and result.error[0] is SOCKSError
    client = SOCKSClient(V5, "example.com", 443)
    with pytest.raises(SOCKSError) as info:
        client.receive_data(b"\x05\x00")
        client.receive_data(reply[2:])
    assert info.value.reply_code == code
    assert info.value.version is V5
    assert isinstance(info.value, ProxyError)
    if code in SOCKS5Reply._value2member_map_:
        assert f"0x{code:02x}" in str(info.value)
    assert client.state is SOCKSClientState.FAILED
    with pytest.raises(SOCKSError):  # sticky
        client.receive_data(b"")


@pytest.mark.parametrize("code", [c for c in SOCKS4Reply if c != SOCKS4Reply.GRANTED])
def test_every_socks4_refusal_is_a_socks_error_with_its_code(code: int) -> None:
    client = SOCKSClient(V4A, "example.com", 80)
    with pytest.raises(SOCKSError) as info:
        client.receive_data(b"\x00" + bytes((code,)) + bytes(6))
    assert type(info.value) is SOCKSError
    assert info.value.reply_code == code
    assert str(code) in str(info.value)
    with pytest.raises(SOCKSError):
        client.receive_eof()


@pytest.mark.parametrize("code", [0, 89, 94, 255])
def test_socks4_unknown_reply_code_is_a_protocol_error(code: int) -> None:
    client = SOCKSClient(V4, "192.0.2.7", 80)
    with pytest.raises(SOCKSProtocolError) as info:
        client.receive_data(b"\x00" + bytes((code,)) + bytes(6))
    assert info.value.reply_code == code
    assert isinstance(info.value, RemoteProtocolError)


def test_no_acceptable_methods_is_an_auth_error() -> None:
    client = SOCKSClient(V5, "example.com", 443)
    with pytest.raises(SOCKSAuthError) as info:
        client.receive_data(b"\x05\xff")
    assert info.value.reply_code == 0xFF
    assert "credentials" in str(info.value)


@pytest.mark.parametrize("status", [1, 2, 0xFF])
def test_rejected_credentials_are_an_auth_error(status: int) -> None:
    client = SOCKSClient(V5, "example.com", 443, username="u", password="wrong")
    client.receive_data(b"\x05\x02")
    with pytest.raises(SOCKSAuthError) as info:
        client.receive_data(b"\x01" + bytes((status,)))
    assert info.value.reply_code == status
    assert client.state is SOCKSClientState.FAILED


def test_events_before_a_refusal_come_first_and_the_error_next() -> None:
    client = SOCKSClient(V5, "example.com", 443)
    assert client.receive_data(b"\x05\x00\x05\x05\x00\x01" + bytes(6)) == [MethodSelected(0)]
    with pytest.raises(SOCKSError) as info:
        client.receive_data(b"")
    assert info.value.reply_code == SOCKS5Reply.CONNECTION_REFUSED


# -- malformed answers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "data"),
    [
        (V5, b"\x04\x00"),  # wrong version in the method selection
        (V5, b"\x05\x02"),  # a method we did not offer
        (V5, b"\x05\x00\x04\x00\x00\x01" + bytes(6)),  # wrong reply version
        (V5, b"\x05\x00\x05\x00\x00\x07" + bytes(6)),  # unknown address type
        (V5, b"\x05\x00\x05\x00\x00\x03\x03a b\x00\x01"),  # a name with a space
        (V4, b"\x04\x5a" + bytes(6)),  # reply version must be 0
    ],
)
def test_malformed_answers_are_protocol_errors(version: SOCKSVersion, data: bytes) -> None:
    host = "192.0.2.7"
    result = split_feed(lambda: SOCKSClient(version, host, 80), data, eof=True)
    assert result.error is not None and result.error[0] is SOCKSProtocolError


def test_rfc1929_status_with_wrong_version() -> None:
    client = SOCKSClient(V5, "h", 1, username="u", password="p")
    client.receive_data(b"\x05\x02")
    with pytest.raises(SOCKSProtocolError):
        client.receive_data(b"\x05\x00")


@pytest.mark.parametrize("cut", [0, 1, 2, 5])
def test_eof_before_the_tunnel_is_a_protocol_error(cut: int) -> None:
    client = SOCKSClient(V5, "example.com", 443)
    client.receive_data((b"\x05\x00" + OK5)[:cut])
    with pytest.raises(SOCKSProtocolError) as info:
        client.receive_eof()
    assert "closed" in str(info.value)
    assert client.state is SOCKSClientState.FAILED


def test_reply_name_over_the_hostname_bound() -> None:
    small = ProxyLimits(max_hostname_size=10)
    ok = b"\x05\x00\x05\x00\x00\x03\x0a" + b"a" * 10 + b"\x00\x01"
    over = b"\x05\x00\x05\x00\x00\x03\x0b" + b"a" * 11 + b"\x00\x01"
    assert split_feed(lambda: SOCKSClient(V5, "h", 1, limits=small), ok, eof=True).error is None
    result = split_feed(lambda: SOCKSClient(V5, "h", 1, limits=small), over, eof=True)
    assert result.error == (SOCKSLimitExceeded, "max_hostname_size", None)


# -- our own mistakes: LocalProtocolError -------------------------------------------------


def test_socks4_needs_an_ipv4_literal() -> None:
    with pytest.raises(LocalProtocolError, match="SOCKS4A"):
        SOCKSClient(V4, "example.com", 80)
    with pytest.raises(LocalProtocolError, match="IPv6"):
        SOCKSClient(V4A, "::1", 80)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"username": "u"},
        {"password": "p"},
        {"username": "", "password": "p"},
        {"command": SOCKSCommand.UDP_ASSOCIATE, "version": V4},
        {"username": "u", "password": "p", "version": V4},
        {"user_id": "a\0b", "version": V4},
        {"host": "exa\0mple.com"},
        {"host": "exa mple.com"},
        {"host": ""},
        {"port": 65536},
        {"port": -1},
    ],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"version": V5, "host": "192.0.2.7", "port": 80}
    args.update(kwargs)
    with pytest.raises(LocalProtocolError):
        SOCKSClient(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["username", "password"])
def test_credentials_of_255_bytes_pass_and_256_fail(field: str) -> None:
    creds = {"username": "u", "password": "p"}
    creds[field] = "é" * 127 + "x"  # 255 bytes of UTF-8
    client = SOCKSClient(V5, "h", 1, **creds)  # type: ignore[arg-type]
    client.receive_data(b"\x05\x02")
    assert b"\xff" in client.data_to_send()  # a length byte of 255
    creds[field] = "é" * 128  # 256 bytes
    with pytest.raises(LocalProtocolError, match=f"max_{field}_size"):
        SOCKSClient(V5, "h", 1, **creds)  # type: ignore[arg-type]


def test_hostname_of_255_bytes_passes_and_256_fails() -> None:
    name = ".".join(["a" * 63] * 4)[:255]
    assert len(name) == 255
    SOCKSClient(V5, name, 1)
    SOCKSClient(V4A, name, 1)
    with pytest.raises(LocalProtocolError, match="max_hostname_size"):
        SOCKSClient(V5, name + "b", 1)


def test_send_is_refused() -> None:
    client = SOCKSClient(V5, "h", 1)
    with pytest.raises(LocalProtocolError):
        client.send(Succeeded("h", 1))
    assert client.next_deadline() is None
    assert client.handle_timeout(5.0) == []


# -- arbitrary bytes -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from(list(SOCKSVersion)),
    command=st.sampled_from(list(SOCKSCommand)),
    auth=st.booleans(),
    data=st.binary(max_size=300),
    cut=st.integers(min_value=0, max_value=300),
)
def test_arbitrary_bytes_give_events_or_sockit_errors(
    version: SOCKSVersion, command: SOCKSCommand, auth: bool, data: bytes, cut: int
) -> None:
    if version is not V5:
        auth = False
        if command is SOCKSCommand.UDP_ASSOCIATE:
            command = SOCKSCommand.CONNECT
    creds = {"username": "u", "password": "p"} if auth else {}
    client = SOCKSClient(version, "192.0.2.7", 80, command=command, **creds)  # type: ignore[arg-type]
    try:
        client.receive_data(data[:cut])
        client.data_to_send()
        client.receive_data(data[cut:])
        client.receive_eof()
    except SockitError:
        assert client.state is SOCKSClientState.FAILED
    else:
        assert client.state is SOCKSClientState.TUNNEL
