"""The client against servers that misbehave on the wire (issue 10, "Bad input").

Closes and resets mid-response, framing that lies (Content-Length, HEAD, 204
and 304 with bodies, both framings), bad chunking, bad status lines and
Content-Length values, heads and bodies that never end. Each: a specific
:mod:`sockit.errors` exception (or a Timeout naming its phase), then the same
client gets a normal answer with a healthy pool and no leaked socket (see
:mod:`tests.client.misbehaving`). Slow servers, bombs, redirects and early
answers are in ``test_client_misbehave_slow.py``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockit import HTTPClient
from sockit.client import Timeouts
from sockit.errors import (
    ConnectionClosed,
    LimitExceeded,
    NetworkError,
    Phase,
    RemoteProtocolError,
    SockitError,
    Timeout,
)
from sockit.limits import ClientLimits
from tests.client.misbehaving import (
    CHUNKED,
    OK_HEAD,
    Route,
    Scripted,
    Serve,
    answer,
    assert_healthy,
    client_sockets,
    endless,
    fds_all_closed,
    scripted_servers,
    send_then_close,
    send_then_reset,
    send_then_wait,
    stop_event,
    trickle,
)
from tests.client.rawserver import Peer, RawRequest


@pytest.fixture(autouse=True)
def no_fd_leak() -> Iterator[None]:
    yield from fds_all_closed()


@pytest.fixture
def stop(serve: Serve) -> Iterator[threading.Event]:
    yield from stop_event()


@pytest.fixture
def scripted(serve: Serve) -> Scripted:
    return scripted_servers(serve)



# -- the connection closes or resets mid-response --------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        OK_HEAD + b"Content-Length: 100\r\n\r\nonly ten b",  # Content-Length larger than sent
        CHUNKED + b"a\r\n0123456789\r\n10\r\nabc",  # mid-chunk
        CHUNKED + b"a\r\n0123456789\r\n",  # between chunks
        CHUNKED + b"a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n",  # in the trailers
        OK_HEAD + b"Content-Length: 10\r\n",  # in the head
    ],
    ids=["content-length", "mid-chunk", "between-chunks", "trailers", "head"],
)
def test_close_mid_response(
    scripted: Scripted, client: HTTPClient, wire: bytes
) -> None:
    server = scripted({"/bad": send_then_close(wire)})
    assert_healthy(client, server)  # the bad exchange runs on a reused connection
    with pytest.raises(ConnectionClosed, match="closed the connection"):
        client.get(server.url("/bad"))
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_close_mid_streamed_body(
    scripted: Scripted, client: HTTPClient
) -> None:
    wire = OK_HEAD + b"Content-Length: 9999\r\n\r\n" + bytes(3000)
    server = scripted({"/bad": send_then_close(wire)})
    with client.get(server.url("/bad"), stream=True) as r:
        got = bytearray()
        with pytest.raises(ConnectionClosed):
            for chunk in r.iter_bytes():
                got += chunk
        assert got == bytes(3000)
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


@pytest.mark.parametrize(
    "wire",
    [
        OK_HEAD + b"Content-Length: 100\r\n\r\n" + bytes(40),
        CHUNKED + b"40\r\n" + bytes(64) + b"\r\n",
        OK_HEAD + b"Content-Le",
    ],
    ids=["content-length", "chunked", "head"],
)
def test_reset_mid_response(
    scripted: Scripted, client: HTTPClient, wire: bytes
) -> None:
    server = scripted({"/bad": send_then_reset(wire)})
    assert_healthy(client, server)
    with pytest.raises(NetworkError) as info:  # ConnectionClosed, or ECONNRESET as NetworkError
        client.get(server.url("/bad"))
    assert isinstance(info.value, SockitError)
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


# -- framing that lies --------------------------------------------------------------------


def _wait_then(event: threading.Event, route: Route) -> Route:
    def wrapped(req: RawRequest, peer: Peer) -> bool:
        try:
            return route(req, peer)
        finally:
            event.set()

    return wrapped


@pytest.mark.parametrize("late", [False, True], ids=["same-packet", "after-the-response"])
def test_content_length_smaller_than_body(
    scripted: Scripted, client: HTTPClient, late: bool
) -> None:
    """The bytes past Content-Length are junk: the connection must not carry another request."""
    sent = threading.Event()

    def route(req: RawRequest, peer: Peer) -> bool:
        if late:
            peer.send(OK_HEAD + b"Content-Length: 5\r\n\r\nhello")
            time.sleep(0.02)  # the client has the response and pooled the connection
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
        else:
            peer.send(OK_HEAD + b"Content-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\n"
                      b"Content-Length: 4\r\n\r\nEVIL")
        sent.set()
        return True  # keeps serving: a reuse would read EVIL as the next answer

    server = scripted({"/short": route})
    r = client.get(server.url("/short"))
    assert r.content == b"hello"
    assert sent.wait(5)
    time.sleep(0.01)  # let the late bytes land
    assert_healthy(client, server)
    assert server.accepted == 2


@pytest.mark.parametrize("late", [False, True], ids=["same-packet", "after-the-response"])
def test_head_response_with_a_body(
    scripted: Scripted, client: HTTPClient, late: bool
) -> None:
    sent = threading.Event()

    def route(req: RawRequest, peer: Peer) -> bool:
        assert req.method == "HEAD"
        head = OK_HEAD + b"Content-Length: 5\r\n\r\n"
        if late:
            peer.send(head)
            time.sleep(0.02)
            peer.send(b"hello")
        else:
            peer.send(head + b"hello")
        sent.set()
        return True

    server = scripted({"/head": route})
    r = client.head(server.url("/head"))
    assert (r.status_code, r.content, r.headers["content-length"]) == (200, b"", "5")
    assert sent.wait(5)
    time.sleep(0.01)
    assert_healthy(client, server)
    assert server.accepted == 2


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
    ],
    ids=["connection-close", "http-1.0", "both-framings"],
)
def test_connection_not_reused_when_the_server_says_so(
    scripted: Scripted, client: HTTPClient, head: bytes
) -> None:
    """The server keeps serving, but its answer forbids (or makes unsafe) a reuse.

    With both Content-Length and chunked, the body is read as chunked (RFC 9112
    6.3) or refused; either way the connection is not trusted again.
    """

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(head)
        return True

    server = scripted({"/once": route})
    try:
        r = client.get(server.url("/once"))
    except RemoteProtocolError:
        pass
    else:
        assert r.content == b"ok"
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)
    assert server.accepted == 2


@pytest.mark.parametrize("status", [b"204 No Content", b"304 Not Modified"])
def test_bodiless_status_with_a_body(
    scripted: Scripted, client: HTTPClient, status: bytes
) -> None:
    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\nhello")
        return True

    server = scripted({"/nobody": route})
    r = client.get(server.url("/nobody"))
    assert r.content == b""
    time.sleep(0.01)
    assert_healthy(client, server)
    assert server.accepted == 2


@pytest.mark.parametrize(
    "value",
    [b"-1", b"+5", b"0x5", b"5_0", b"5.0", b"1e3", b"5 5", b"5, 6", b"", b"\xd9\xa5",
     b"99999999999999999999999999"],
)
def test_bad_content_length(
    scripted: Scripted, client: HTTPClient, value: bytes
) -> None:
    wire = OK_HEAD + b"Content-Length: " + value + b"\r\n\r\n" + bytes(80)
    server = scripted({"/bad": send_then_wait(wire)})
    with pytest.raises(RemoteProtocolError):
        client.get(server.url("/bad"), timeout=Timeouts(read=1.0))
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


@pytest.mark.parametrize(
    "line",
    [
        b"HTTP/1.1 99 Low",
        b"HTTP/1.1 1000 High",
        b"HTTP/1.1 +20 Plus",
        b"HTTP/1.1 2_0 U",
        b"HTTP/1.1 \xd9\xa5\xd9\xa5\xd9\xa5 Arabic-Indic digits",
        b"HTTP/1.1  200 Space",
        b"HTTP/1.12 200 OK",
    ],
)
def test_bad_status_line(
    scripted: Scripted, client: HTTPClient, line: bytes
) -> None:
    server = scripted({"/bad": send_then_wait(line + b"\r\nContent-Length: 0\r\n\r\n")})
    with pytest.raises(RemoteProtocolError):
        client.get(server.url("/bad"), timeout=Timeouts(read=1.0))
    assert_healthy(client, server)


@pytest.mark.parametrize(("count", "ok"), [(99, True), (100, False)])
def test_header_count_n_and_n_plus_one(
    scripted: Scripted, client: HTTPClient, count: int, ok: bool
) -> None:
    """100 fields (99 plus Content-Length) pass, 101 are refused."""
    fields = [(f"X-{i}", "v") for i in range(count)]
    server = scripted({"/h": answer(b"h", fields)})
    if ok:
        assert client.get(server.url("/h")).content == b"h"
    else:
        with pytest.raises(LimitExceeded) as info:
            client.get(server.url("/h"))
        assert info.value.limit == "max_header_count"
    assert_healthy(client, server)


# -- bad chunking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5_0\r\n" + bytes(80) + b"\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"g\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the data
        b"5\r\nhello0\r\n\r\n",
        b"5;\x00\r\nhello\r\n0\r\n\r\n",  # NUL in a chunk extension
        b"5;a\x7fb\r\nhello\r\n0\r\n\r\n",
        b"5\x00\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
    ],
)
def test_bad_chunking(
    scripted: Scripted, client: HTTPClient, body: bytes
) -> None:
    server = scripted({"/bad": send_then_wait(CHUNKED + body)})
    with pytest.raises(RemoteProtocolError) as info:
        client.get(server.url("/bad"), timeout=Timeouts(read=1.0))
    assert not isinstance(info.value, LimitExceeded)
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_chunked_end_cut_short_waits_for_the_read_timeout(
    scripted: Scripted, client: HTTPClient
) -> None:
    server = scripted({"/bad": send_then_wait(CHUNKED + b"5\r\nhello\r\n0\r\n\r")})
    with pytest.raises(Timeout) as info:
        client.get(server.url("/bad"), timeout=Timeouts(read=0.2))
    assert info.value.phase is Phase.BODY
    assert_healthy(client, server)


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        (b"f" * 40 + b"\r\n", "max_chunk_size"),
        (b"1000001\r\n", "max_chunk_size"),  # 16 MiB + 1
        (b"5;" + b"a" * 2000 + b"\r\nhello\r\n0\r\n\r\n", "max_chunk_extension_size"),
        (b"5\r\nhello\r\n0\r\nX-T: " + b"a" * 5000 + b"\r\n\r\n", "max_trailer_size"),
    ],
    ids=["huge-size", "size-over-limit", "extension", "trailer"],
)
def test_chunking_limits(
    scripted: Scripted, client: HTTPClient, body: bytes, limit: str
) -> None:
    server = scripted({"/bad": send_then_wait(CHUNKED + body)})
    with pytest.raises(LimitExceeded) as info:
        client.get(server.url("/bad"), timeout=Timeouts(read=1.0))
    assert info.value.limit == limit
    assert_healthy(client, server)


def test_chunk_at_the_size_limit_is_fine(
    scripted: Scripted,
) -> None:
    """N passes where N + 1 (the test above) is refused."""
    size = 16 * 1024 * 1024

    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(CHUNKED + b"%x\r\n" % size + bytes(size) + b"\r\n0\r\n\r\n")
        return True

    server = scripted({"/max": route})
    with HTTPClient(limits=ClientLimits(max_response_size=size)) as c:
        assert len(c.get(server.url("/max")).content) == size
        assert_healthy(c, server)
        assert server.accepted == 1


# -- heads that never end, bodies that never end ------------------------------------------


@pytest.mark.parametrize(
    ("first", "piece"),
    [
        (OK_HEAD, b"X-Fill: 0123456789abcdef\r\n"),  # endless header lines
        (OK_HEAD + b"X-Long: ", b"a" * 1024),  # one endless header value
        (b"HTTP/1.1 200 ", b"O" * 1024),  # an endless status line
    ],
    ids=["lines", "value", "status-line"],
)
def test_header_block_never_ends(
    scripted: Scripted,
    client: HTTPClient,
    stop: threading.Event,
    first: bytes,
    piece: bytes,
) -> None:
    server = scripted({"/bad": endless(first, piece, stop)})
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as info:
        client.get(server.url("/bad"))
    assert info.value.limit.startswith("max_")
    assert time.monotonic() - started < 5
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_header_block_trickles_past_the_total_deadline(
    scripted: Scripted, client: HTTPClient, stop: threading.Event
) -> None:
    """Each header line arrives within the read timeout; the total deadline ends it."""
    lines = OK_HEAD + b"X: y\r\n" * 1000
    server = scripted({"/bad": trickle(lines, 0.01, stop)})
    with pytest.raises(Timeout) as info:
        client.get(server.url("/bad"), timeout=Timeouts(read=0.5, total=0.3))
    assert info.value.phase is Phase.TOTAL
    assert_healthy(client, server)


@pytest.mark.parametrize(
    ("first", "piece"),
    [
        (CHUNKED, b"10000\r\n" + bytes(65536) + b"\r\n"),
        (OK_HEAD + b"Connection: close\r\n\r\n", bytes(65536)),  # delimited by close
    ],
    ids=["chunked", "until-close"],
)
def test_endless_body_past_max_response_size(
    scripted: Scripted,
    client: HTTPClient,
    stop: threading.Event,
    first: bytes,
    piece: bytes,
) -> None:
    server = scripted({"/bad": endless(first, piece, stop)})
    with pytest.raises(LimitExceeded) as info:
        client.get(server.url("/bad"))
    assert (info.value.limit, info.value.value) == (
        "max_response_size", ClientLimits().max_response_size
    )
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


def test_endless_stream_closed_early(
    scripted: Scripted, client: HTTPClient, stop: threading.Event
) -> None:
    """Streaming has no size cap; closing the response is how the caller stops it."""
    server = scripted({"/bad": endless(CHUNKED, b"400\r\n" + bytes(1024) + b"\r\n", stop)})
    with client.get(server.url("/bad"), stream=True) as r:
        got = 0
        for chunk in r.iter_bytes():
            got += len(chunk)
            if got > 1 << 20:
                break
    assert r.is_closed
    assert client_sockets(server.port) == 0
    assert_healthy(client, server)


# -- anything at all ------------------------------------------------------------------------


_FIELDS = [
    b"Content-Length: 3", b"Content-Length: -3", b"Content-Length: 3, 3", b"Content-Length: 99",
    b"Transfer-Encoding: chunked", b"Transfer-Encoding: gzip, chunked",
    b"Transfer-Encoding: chunked, identity", b"Content-Encoding: gzip", b"Content-Encoding: br",
    b"Content-Encoding: deflate, gzip", b"Connection: close", b"Connection: keep-alive, upgrade",
    b"Upgrade: h2c", b"X: \x00", b"X:\ty", b" X: folded", b"X : y", b"\xff: y", b"X: \xff",
    b"Location: /good", b"Trailer: X", b"Content-Type: text/plain; charset=\xff",
]
_BODIES = [b"", b"abc", b"3\r\nabc\r\n0\r\n\r\n", b"\x1f\x8b\x08\x00junk", b"ffffffff\r\n"]

_response = st.builds(
    lambda status, fields, sep, body: status + b"\r\n" + b"\r\n".join(fields) + sep + body,
    st.sampled_from([b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 100 Continue\r\n\r\n"
                     b"HTTP/1.1 200 OK", b"HTTP/1.1 204 No Content", b"HTTP/1.1 304 Not Modified",
                     b"HTTP/1.1 302 Found", b"HTTP/1.1 999 Odd", b"HTTP/1.1 200"]),
    st.lists(st.sampled_from(_FIELDS), max_size=4),
    st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n"]),
    st.sampled_from(_BODIES),
)


def test_any_response_is_an_answer_or_a_sockit_error(scripted: Scripted) -> None:
    """Arbitrary and structured-but-wrong responses, each followed by the server's close."""
    wire = {"next": b""}
    server = scripted({"/any": send_then_close_from(wire)})
    with HTTPClient() as c:

        @settings(max_examples=int(os.environ.get("SOCKIT_FUZZ_EXAMPLES", "150")), deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.one_of(st.binary(max_size=200), _response))
        def one(data: bytes) -> None:
            wire["next"] = data
            try:
                c.get(server.url("/any"), timeout=Timeouts(total=2), follow_redirects=False)
            except SockitError as exc:
                assert not isinstance(exc, Timeout), exc  # the server always closes at once
            assert client_sockets(server.port) <= 1

        one()
        assert_healthy(c, server)


def send_then_close_from(wire: dict[str, bytes]) -> Route:
    def route(req: RawRequest, peer: Peer) -> bool:
        peer.send(wire["next"])
        return False

    return route
