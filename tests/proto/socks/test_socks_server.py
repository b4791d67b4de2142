"""SOCKSServer: requests of every dialect, the answers it queues, limits and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, RemoteProtocolError, SockitError
from sockit.limits import ProxyLimits
from sockit.proto.events import ConnectionTerminated
from sockit.proto.socks import (
    CommandRequested,
    CredentialsReceived,
    SOCKS5Reply,
    SOCKSAuthError,
    SOCKSCommand,
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    SOCKSServer,
    SOCKSServerState,
    SOCKSVersion,
)
from tests.support.feeding import feed, split_feed, splits

V4, V4A, V5 = SOCKSVersion.SOCKS4, SOCKSVersion.SOCKS4A, SOCKSVersion.SOCKS5
S = SOCKSServerState
GREETING = b"\x05\x01\x00"
CONNECT_NAME = b"\x05\x01\x00\x03\x0bexample.com\x01\xbb"
FAIL5 = b"\x05\x01\x00\x01" + bytes(6)


def request5(cmd: int = 1, address: bytes = b"\x03\x0bexample.com\x01\xbb") -> bytes:
    return b"\x05" + bytes((cmd, 0)) + address


# -- SOCKS5 ------------------------------------------------------------------------------


def test_socks5_connect_split_with_pipelined_client_bytes() -> None:
    wire = GREETING + CONNECT_NAME + b"\x16\x03\x01"
    result = split_feed(SOCKSServer, wire)
    assert result.error is None
    assert result.events == (CommandRequested(V5, SOCKSCommand.CONNECT, "example.com", 443),)
    for chunks in splits(wire):
        server = SOCKSServer()
        for chunk in chunks:
            server.receive_data(chunk)
        assert server.state is S.REQUEST_RECEIVED
        assert server.data_to_send() == b"\x05\x00"
        assert server.trailing_data == b""  # not yet a tunnel
        server.reply_success("10.1.2.3", 50000)
        assert server.data_to_send() == b"\x05\x00\x00\x01\x0a\x01\x02\x03\xc3\x50"
        assert server.state is S.TUNNEL
        assert server.trailing_data == b"\x16\x03\x01"
        server.receive_data(b"more")
        assert server.trailing_data == b"\x16\x03\x01more"
        assert server.receive_eof() == []


@pytest.mark.parametrize(
    ("address", "host"),
    [
        (b"\x01\xc0\x00\x02\x07\x00\x50", "192.0.2.7"),
        (b"\x04" + bytes(15) + b"\x01\x00\x50", "::1"),
        (b"\x03\x09localhost\x00\x50", "localhost"),
    ],
)
def test_socks5_address_types(address: bytes, host: str) -> None:
    server = SOCKSServer()
    events = server.receive_data(GREETING + request5(1, address))
    assert events == [CommandRequested(V5, SOCKSCommand.CONNECT, host, 80)]
    assert server.request == events[0]
    assert server.version is V5


@pytest.mark.parametrize(
    ("host", "wire"),
    [("::1", b"\x04" + bytes(15) + b"\x01"), ("relay.lan", b"\x03\x09relay.lan")],
)
def test_socks5_success_reply_address_forms(host: str, wire: bytes) -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + CONNECT_NAME)
    server.data_to_send()
    server.reply_success(host, 1)
    assert server.data_to_send() == b"\x05\x00\x00" + wire + b"\x00\x01"


def test_socks5_auth_accepted_then_pipelined_request() -> None:
    wire = b"\x05\x02\x00\x02" + b"\x01\x04user\x06secret" + CONNECT_NAME
    for chunks in splits(wire):
        server = SOCKSServer(require_auth=True)
        events = [e for chunk in chunks for e in server.receive_data(chunk)]
        assert events == [CredentialsReceived("user", "secret")]
        assert server.state is S.CREDENTIALS_RECEIVED
        assert server.data_to_send() == b"\x05\x02"
        server.accept_credentials(True)
        assert server.data_to_send() == b"\x01\x00"
        assert server.receive_data(b"") == [
            CommandRequested(V5, SOCKSCommand.CONNECT, "example.com", 443)
        ]


def test_socks5_auth_rejected_queues_failure_and_closes() -> None:
    server = SOCKSServer(require_auth=True)
    server.receive_data(b"\x05\x01\x02\x01\x01u\x01x" + CONNECT_NAME)
    server.accept_credentials(False)
    assert server.data_to_send() == b"\x05\x02\x01\x01"
    assert server.state is S.CLOSED
    assert server.receive_data(b"more") == []
    assert server.trailing_data == b""
    with pytest.raises(LocalProtocolError):
        server.reply_success()


def test_credentials_are_decoded_as_utf8_with_surrogateescape() -> None:
    server = SOCKSServer(require_auth=True)
    events = server.receive_data(b"\x05\x01\x02\x01\x02\xc3\xa9\x02\xff\xfe")
    assert events == [CredentialsReceived("é", "\udcff\udcfe")]


def test_empty_password_is_accepted() -> None:
    server = SOCKSServer(require_auth=True)
    assert server.receive_data(b"\x05\x01\x02\x01\x01u\x00") == [CredentialsReceived("u", "")]


def test_no_acceptable_method() -> None:
    server = SOCKSServer(require_auth=True)
    with pytest.raises(SOCKSAuthError) as info:
        server.receive_data(b"\x05\x01\x00")
    assert info.value.reply_code == 0xFF
    assert server.data_to_send() == b"\x05\xff"
    assert server.state is S.FAILED
    open_server = SOCKSServer()
    with pytest.raises(SOCKSAuthError):
        open_server.receive_data(b"\x05\x01\x02")
    assert open_server.data_to_send() == b"\x05\xff"


@pytest.mark.parametrize(
    ("wire", "answer", "code", "error"),
    [
        (b"\x05\x00", b"\x05\xff", 0xFF, SOCKSProtocolError),  # no methods
        (GREETING + request5(9), b"\x05\x00\x05\x07", 7, SOCKSProtocolError),
        (GREETING + request5(1, b"\x02abcd"), b"\x05\x00\x05\x08", 8, SOCKSProtocolError),
        (GREETING + b"\x05\x01\x01\x01" + bytes(6), b"\x05\x00\x05\x01", 1, SOCKSProtocolError),
        (GREETING + b"\x04\x01\x00\x01" + bytes(6), b"\x05\x00\x05\x01", 1, SOCKSProtocolError),
        (GREETING + request5(1, b"\x03\x00\x00\x50"), b"\x05\x00\x05\x01", 1, SOCKSProtocolError),
        (
            GREETING + request5(1, b"\x03\x03a\x00b\x00\x50"),
            b"\x05\x00\x05\x01",
            1,
            SOCKSProtocolError,
        ),
        (b"\x05\x01\x02\x05\x01u\x01p", b"\x05\x02\x01\x01", 1, SOCKSProtocolError),
    ],
)
def test_socks5_bad_input_queues_the_proper_refusal(
    wire: bytes, answer: bytes, code: int, error: type[Exception]
) -> None:
    auth = wire[:3] == b"\x05\x01\x02"
    result = split_feed(lambda: SOCKSServer(require_auth=auth), wire, eof=True)
    assert result.error is not None and result.error[0] is error
    server = SOCKSServer(require_auth=auth)
    with pytest.raises(error) as info:
        server.receive_data(wire)
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.reply_code == code  # type: ignore[attr-defined]
    assert server.data_to_send().startswith(answer)
    assert server.state is S.FAILED
    with pytest.raises(error):
        server.receive_data(b"")


def test_disabled_command_gets_reply_07() -> None:
    server = SOCKSServer(commands=frozenset({SOCKSCommand.CONNECT}))
    with pytest.raises(SOCKSProtocolError) as info:
        server.receive_data(GREETING + request5(3, b"\x01" + bytes(6)))
    assert info.value.reply_code == SOCKS5Reply.COMMAND_NOT_SUPPORTED
    assert server.data_to_send() == b"\x05\x00" + b"\x05\x07\x00\x01" + bytes(6)


def test_disabled_socks5_refuses_every_method() -> None:
    server = SOCKSServer(versions=frozenset({V4}))
    with pytest.raises(SOCKSProtocolError):
        server.receive_data(GREETING)
    assert server.data_to_send() == b"\x05\xff"


def test_unknown_version_byte_gets_no_answer() -> None:
    server = SOCKSServer()
    with pytest.raises(SOCKSProtocolError) as info:
        server.receive_data(b"GET / HTTP/1.1\r\n")
    assert info.value.reply_code is None
    assert server.data_to_send() == b""


def test_bind_gets_two_replies() -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + request5(2, b"\x01\xc0\x00\x02\x07\x00\x15"))
    server.data_to_send()
    server.reply_success("192.0.2.1", 4000)
    assert server.state is S.BIND_WAITING
    assert server.data_to_send() == b"\x05\x00\x00\x01\xc0\x00\x02\x01\x0f\xa0"
    server.receive_data(b"early")
    assert server.trailing_data == b""
    server.reply_success("192.0.2.7", 20)
    assert server.state is S.TUNNEL
    assert server.trailing_data == b"early"
    with pytest.raises(LocalProtocolError):
        server.reply_success("192.0.2.7", 20)


def test_bind_peer_never_came() -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + request5(2, b"\x01" + bytes(6)))
    server.reply_success()
    server.data_to_send()
    server.reply_failure(SOCKS5Reply.TTL_EXPIRED)
    assert server.data_to_send() == b"\x05\x06\x00\x01" + bytes(6)
    assert server.state is S.CLOSED


@pytest.mark.parametrize("code", [c for c in SOCKS5Reply if c])
def test_reply_failure_sends_every_socks5_code(code: int) -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + CONNECT_NAME)
    server.data_to_send()
    server.reply_failure(code)
    assert server.data_to_send() == bytes((5, code, 0, 1)) + bytes(6)
    assert server.state is S.CLOSED


@pytest.mark.parametrize("code", [0, 256, True])
def test_reply_failure_needs_a_failure_code(code: int) -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + CONNECT_NAME)
    with pytest.raises(LocalProtocolError):
        server.reply_failure(code)
    assert server.state is S.REQUEST_RECEIVED


def test_answers_out_of_turn_are_local_errors() -> None:
    server = SOCKSServer()
    with pytest.raises(LocalProtocolError):
        server.reply_success()
    with pytest.raises(LocalProtocolError):
        server.accept_credentials(True)
    assert server.state is S.AWAIT_GREETING


# -- limits at N and N+1 --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["username", "password"])
def test_credentials_at_and_over_the_bound(field: str) -> None:
    limits = ProxyLimits(max_username_size=8, max_password_size=8)

    def creds(user: bytes, password: bytes) -> bytes:
        return b"\x05\x01\x02\x01" + bytes((len(user),)) + user + bytes((len(password),)) + password

    ok = creds(b"u" * 8, b"p") if field == "username" else creds(b"u", b"p" * 8)
    over = creds(b"u" * 9, b"p") if field == "username" else creds(b"u", b"p" * 9)
    result = split_feed(lambda: SOCKSServer(require_auth=True, limits=limits), ok)
    assert result.error is None and len(result.events) == 1
    result = split_feed(lambda: SOCKSServer(require_auth=True, limits=limits), over, eof=True)
    assert result.error == (SOCKSLimitExceeded, f"max_{field}_size", None)
    server = SOCKSServer(require_auth=True, limits=limits)
    with pytest.raises(SOCKSLimitExceeded):
        server.receive_data(over)
    assert server.data_to_send() == b"\x05\x02\x01\x01"


def test_wire_maximum_credentials_pass_with_default_limits() -> None:
    server = SOCKSServer(require_auth=True)
    wire = b"\x05\x01\x02\x01\xff" + b"u" * 255 + b"\xff" + b"p" * 255
    assert server.receive_data(wire) == [CredentialsReceived("u" * 255, "p" * 255)]


def test_socks5_hostname_at_and_over_the_bound() -> None:
    limits = ProxyLimits(max_hostname_size=10)
    ok = GREETING + request5(1, b"\x03\x0a" + b"a" * 10 + b"\x00\x50")
    over = GREETING + request5(1, b"\x03\x0b" + b"a" * 11 + b"\x00\x50")
    assert split_feed(lambda: SOCKSServer(limits=limits), ok).events[0].host == "a" * 10
    result = split_feed(lambda: SOCKSServer(limits=limits), over, eof=True)
    assert result.error == (SOCKSLimitExceeded, "max_hostname_size", None)
    server = SOCKSServer()  # the wire maximum, 255, passes by default
    events = server.receive_data(GREETING + request5(1, b"\x03\xff" + b"a" * 255 + b"\x00\x50"))
    assert events[0] == CommandRequested(V5, SOCKSCommand.CONNECT, "a" * 255, 80)


# -- SOCKS4 / SOCKS4A --------------------------------------------------------------------------


def test_socks4_connect_and_reply() -> None:
    wire = b"\x04\x01\x00\x50\xc0\x00\x02\x07alice\x00" + b"GET"
    result = split_feed(SOCKSServer, wire)
    assert result.events == (CommandRequested(V4, SOCKSCommand.CONNECT, "192.0.2.7", 80, "alice"),)
    server = SOCKSServer()
    server.receive_data(wire)
    server.reply_success("10.0.0.1", 1080)
    assert server.data_to_send() == b"\x00\x5a\x04\x38\x0a\x00\x00\x01"
    assert server.trailing_data == b"GET"


def test_socks4a_names() -> None:
    wire = b"\x04\x02\x00\x15\x00\x00\x00\x09\x00example.com\x00"
    result = split_feed(SOCKSServer, wire)
    assert result.events == (CommandRequested(V4A, SOCKSCommand.BIND, "example.com", 21),)


def test_socks4_success_reply_needs_ipv4() -> None:
    server = SOCKSServer()
    server.receive_data(b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00")
    with pytest.raises(LocalProtocolError):
        server.reply_success("::1", 1)
    assert server.state is S.REQUEST_RECEIVED


@pytest.mark.parametrize(("code", "sent"), [(91, 91), (92, 92), (93, 93), (5, 91), (1, 91)])
def test_socks4_failure_codes(code: int, sent: int) -> None:
    server = SOCKSServer()
    server.receive_data(b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00")
    server.reply_failure(code)
    assert server.data_to_send() == b"\x00" + bytes((sent,)) + bytes(6)


@pytest.mark.parametrize(
    ("kwargs", "wire", "error"),
    [
        ({"require_auth": True}, b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00", SOCKSAuthError),
        (
            {"versions": frozenset({V5})},
            b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00",
            SOCKSProtocolError,
        ),
        (
            {"versions": frozenset({V4})},
            b"\x04\x01\x00\x50\x00\x00\x00\x01\x00a\x00",
            SOCKSProtocolError,
        ),
        (
            {"versions": frozenset({V4A})},
            b"\x04\x01\x00\x50\xc0\x00\x02\x07\x00",
            SOCKSProtocolError,
        ),
        ({}, b"\x04\x03\x00\x50\xc0\x00\x02\x07\x00", SOCKSProtocolError),
        (
            {"commands": frozenset({SOCKSCommand.CONNECT})},
            b"\x04\x02\x00\x50\xc0\x00\x02\x07\x00",
            SOCKSProtocolError,
        ),
        ({}, b"\x04\x01\x00\x50\x00\x00\x00\x01\x00a b\x00", SOCKSProtocolError),
        ({}, b"\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00", SOCKSProtocolError),
    ],
)
def test_socks4_refusals_answer_91(
    kwargs: dict[str, object], wire: bytes, error: type[Exception]
) -> None:
    server = SOCKSServer(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(error) as info:
        server.receive_data(wire)
    assert info.value.reply_code == 91  # type: ignore[attr-defined]
    assert server.data_to_send() == b"\x00\x5b" + bytes(6)


@pytest.mark.parametrize(
    ("field", "limit"), [("user_id", "max_username_size"), ("host", "max_hostname_size")]
)
def test_socks4_nul_terminated_fields_at_and_over_the_bound(field: str, limit: str) -> None:
    limits = ProxyLimits(max_username_size=8, max_hostname_size=8)

    def wire(size: int) -> bytes:
        if field == "user_id":
            return b"\x04\x01\x00\x50\xc0\x00\x02\x07" + b"u" * size + b"\x00"
        return b"\x04\x01\x00\x50\x00\x00\x00\x01\x00" + b"h" * size + b"\x00"

    ok = split_feed(lambda: SOCKSServer(limits=limits), wire(8))
    assert ok.error is None and len(ok.events) == 1
    over = split_feed(lambda: SOCKSServer(limits=limits), wire(9), eof=True)
    assert over.error == (SOCKSLimitExceeded, limit, None)
    # without its NUL the bound is decided at byte N+1, whatever the split
    unterminated = wire(9)[:-1]
    assert split_feed(lambda: SOCKSServer(limits=limits), unterminated).error == over.error
    assert feed(lambda: SOCKSServer(limits=limits), [wire(8)[:-1]]).error is None


# -- EOF, contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [0, 1, 3, 5])
def test_eof_before_the_tunnel_closes(cut: int) -> None:
    server = SOCKSServer()
    server.receive_data((GREETING + CONNECT_NAME)[:cut])
    assert server.receive_eof() == [ConnectionTerminated()]
    assert server.state is S.CLOSED
    assert server.receive_eof() == []


def test_eof_while_the_application_decides() -> None:
    server = SOCKSServer()
    server.receive_data(GREETING + CONNECT_NAME)
    assert server.receive_eof() == [ConnectionTerminated()]
    with pytest.raises(LocalProtocolError):
        server.reply_success()


def test_bad_constructor_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        SOCKSServer(versions=frozenset())
    with pytest.raises(LocalProtocolError):
        SOCKSServer(commands=frozenset({1}))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        SOCKSServer().receive_data("text")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400),
    prefix=st.sampled_from([b"", b"\x05", b"\x04", GREETING, b"\x05\x01\x02\x01"]),
    auth=st.booleans(),
    cut=st.integers(min_value=0, max_value=400),
)
def test_arbitrary_bytes_give_events_or_sockit_errors(
    data: bytes, prefix: bytes, auth: bool, cut: int
) -> None:
    server = SOCKSServer(require_auth=auth)
    wire = prefix + data
    try:
        events = server.receive_data(wire[:cut])
        for event in events + server.receive_data(wire[cut:]):
            if isinstance(event, CredentialsReceived):
                server.accept_credentials(True)
        server.receive_data(b"")
        if server.state is S.REQUEST_RECEIVED:
            server.reply_success()
        server.receive_eof()
    except SockitError:
        assert server.state is S.FAILED
        return
    assert server.state in (S.TUNNEL, S.CLOSED, S.BIND_WAITING)
