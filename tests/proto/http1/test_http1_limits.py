"""Every HTTP1Limits bound, exactly: N is accepted, N + 1 is refused.

Each case builds the smallest message that puts exactly ``n`` units against
one bound, with a configuration where no other bound is near. At ``N`` the
message parses (same events however it is split); at ``N + 1`` it is refused
with :class:`LimitExceeded` naming the field and carrying the status a server
answers with, again identically however it is split.

What each bound measures (the definitions the implementation documents):

* header name / value: the octets of one name / one value (OWS excluded);
* header count: field lines in the head, Host included;
* header block: the whole head, from the first octet of the request line
  through the CRLF of the empty line that ends it;
* request / status line: the line without its CRLF; URI: the request-target;
  method: the method token;
* chunk size: the declared size of one chunk; chunk extension: the octets
  between the chunk size and the CRLF;
* trailers: the trailer field lines, each with its CRLF (the final empty line
  excluded);
* body: the payload octets of one message, Content-Length or chunked;
* decompressed size: the output of the content-coding decoders in
  ``sockit.proto.http1.coding`` (the connection itself never decodes).

Statuses: 431 for field sizes and counts, trailers included (RFC 6585 §5);
414 for the URI and the request line (RFC 9112 §3); 501 for an over-long
method (RFC 9112 §3); 413 for the body and a chunk larger than we accept
(RFC 9110 §15.5.14); 400 for chunk extensions.

The last part is a property: any bytes, and any mutation of valid requests,
either parse or raise a SockitError subclass, never anything else.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, SockitError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    Request,
    Response,
)
from sockit.proto.http1.coding import decoder_for
from tests.support.feeding import split_feed


def poll(conn: Connection) -> list[object]:
    """Drain for split_feed: surfaces an error held back behind earlier events."""
    return list(conn.receive_data(b""))

HOST = b"Host: a\r\n"


def req(line: bytes = b"GET / HTTP/1.1", fields: bytes = HOST, body: bytes = b"") -> bytes:
    return line + b"\r\n" + fields + b"\r\n" + body


def chunked(body: bytes) -> bytes:
    return req(b"POST / HTTP/1.1", HOST + b"Transfer-Encoding: chunked\r\n", body)


def header_count(n: int) -> bytes:
    return req(fields=HOST + b"".join(b"X-%d:v\r\n" % i for i in range(n - 1)))


def header_block(n: int) -> bytes:
    # "GET / HTTP/1.1\r\n" (16) + HOST (9) + "X:<pad>\r\n" (4 + pad) + "\r\n" (2)
    raw = req(fields=HOST + b"X:" + b"v" * (n - 31) + b"\r\n")
    assert len(raw) == n
    return raw


def request_line(n: int) -> bytes:
    # "GET " + target + " HTTP/1.1" = 13 + len(target)
    return req(b"GET /" + b"a" * (n - 14) + b" HTTP/1.1")


def trailers(n: int) -> bytes:
    # one trailer line "X-T:<pad>\r\n" = 6 + pad octets
    return chunked(b"1\r\nz\r\n0\r\nX-T:" + b"t" * (n - 6) + b"\r\n\r\n")


def chunk_ext(n: int) -> bytes:
    return chunked(b"1;" + b"e" * (n - 1) + b"\r\nz\r\n0\r\n\r\n")


def chunk_of(n: int) -> bytes:
    return chunked(format(n, "x").encode() + b"\r\n" + b"c" * n + b"\r\n0\r\n\r\n")


def body_chunked(n: int) -> bytes:
    half = n // 2
    rest = n - half
    return chunked(b"%x\r\n" % half + b"b" * half + b"\r\n%x\r\n" % rest + b"b" * rest
                   + b"\r\n0\r\n\r\n")


@dataclass(frozen=True)
class Case:
    name: str
    limit: str
    n: int
    build: Callable[[int], bytes]
    status: int
    extra: tuple[tuple[str, int], ...] = ()


CASES = [
    Case("name", "max_header_name_size", 40,
         lambda n: req(fields=HOST + b"N" * n + b":v\r\n"), 431),
    Case("value", "max_header_value_size", 300,
         lambda n: req(fields=HOST + b"X:" + b"v" * n + b"\r\n"), 431),
    Case("count", "max_header_count", 12, header_count, 431),
    Case("block", "max_header_block_size", 200, header_block, 431,
         (("max_header_name_size", 64),)),
    Case("request_line", "max_request_line_size", 120, request_line, 414,
         (("max_uri_size", 120),)),
    Case("uri", "max_uri_size", 100, lambda n: req(b"GET /" + b"u" * (n - 1) + b" HTTP/1.1"),
         414),
    Case("method", "max_method_size", 10, lambda n: req(b"M" * n + b" / HTTP/1.1"), 501),
    Case("chunk_size", "max_chunk_size", 100, chunk_of, 413),
    Case("chunk_ext", "max_chunk_extension_size", 50, chunk_ext, 400),
    Case("trailers", "max_trailer_size", 80, trailers, 431),
    Case("body_length", "max_body_size", 64,
         lambda n: req(b"POST / HTTP/1.1", HOST + b"Content-Length: %d\r\n" % n, b"b" * n), 413),
    Case("body_chunked", "max_body_size", 64, body_chunked, 413),
    # the defaults themselves
    Case("default_name", "max_header_name_size", 256,
         lambda n: req(fields=HOST + b"N" * n + b":v\r\n"), 431, (("max_header_name_size", 0),)),
    Case("default_count", "max_header_count", 100, header_count, 431,
         (("max_header_count", 0),)),
    Case("default_value", "max_header_value_size", 8192,
         lambda n: req(fields=HOST + b"X:" + b"v" * n + b"\r\n"), 431,
         (("max_header_value_size", 0),)),
]


def make_server(case: Case, n: int) -> Callable[[], Connection]:
    settings: dict[str, int] = {case.limit: n}
    for key, value in case.extra:
        if value == 0:  # "use the default"
            settings.pop(key, None)
        else:
            settings[key] = value
    limits = HTTP1Limits(**settings)  # type: ignore[arg-type]
    return lambda: Connection(Role.SERVER, config=HTTP1Config(limits=limits))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_limit_exact(case: Case) -> None:
    make = make_server(case, case.n)
    ok = case.build(case.n)
    too_big = case.build(case.n + 1)
    assert len(too_big) > len(ok)

    accepted = split_feed(make, ok, drain=poll, data_type=Data, seed=case.n)
    assert accepted.error is None, f"{case.name}: N={case.n} refused: {accepted.error}"
    assert isinstance(accepted.events[0], Request)
    assert isinstance(accepted.events[-1], EndOfMessage)

    refused = split_feed(make, too_big, drain=poll, data_type=Data, seed=case.n)
    assert refused.error is not None, f"{case.name}: N+1 accepted"
    err_type, limit, status = refused.error
    assert issubclass(err_type, LimitExceeded), refused.error
    assert limit == case.limit
    assert status == case.status
    assert not any(isinstance(ev, EndOfMessage) for ev in refused.events)


@pytest.mark.parametrize("case", CASES[:3], ids=[c.name for c in CASES[:3]])
def test_limit_exception_carries_value(case: Case) -> None:
    conn = make_server(case, case.n)()
    with pytest.raises(LimitExceeded) as info:
        conn.receive_data(case.build(case.n + 1))
    assert info.value.limit == case.limit
    assert info.value.value == case.n
    assert conn.their_state is ConnectionState.ERROR


def test_limits_hold_for_the_second_pipelined_request() -> None:
    limits = HTTP1Limits(max_header_count=3)
    conn = Connection(Role.SERVER, config=HTTP1Config(limits=limits))
    ok = req(fields=HOST + b"A:1\r\nB:2\r\n")
    bad = req(fields=HOST + b"A:1\r\nB:2\r\nC:3\r\n")
    events = conn.receive_data(ok + bad)
    assert [type(ev) for ev in events] == [Request, EndOfMessage]
    conn.send(Response(status_code=200, reason=b"OK", headers=Headers([("Content-Length", "0")])))
    conn.send(EndOfMessage())
    conn.start_next_cycle()
    with pytest.raises(LimitExceeded) as info:
        conn.receive_data(b"")
    assert info.value.limit == "max_header_count"


def test_body_limit_counts_per_message() -> None:
    limits = HTTP1Limits(max_body_size=4)
    conn = Connection(Role.SERVER, config=HTTP1Config(limits=limits))
    one = req(b"POST / HTTP/1.1", HOST + b"Content-Length: 4\r\n", b"abcd")
    for _ in range(3):
        events = conn.receive_data(one)
        assert events[1:] == [Data(data=b"abcd"), EndOfMessage()]
        conn.send(Response(status_code=204, reason=b"No Content"))
        conn.send(EndOfMessage())
        conn.start_next_cycle()


def decode_all(coding: str, blob: bytes, cap: int, step: int) -> bytes:
    dec = decoder_for(coding, HTTP1Limits(max_decompressed_size=cap))
    out = b""
    for i in range(0, len(blob), step):
        out += dec.decompress(blob[i : i + step])
    return out + dec.flush()


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
@pytest.mark.parametrize("step", [1, 7, 1 << 20])
def test_decompressed_size_exact(coding: str, step: int) -> None:
    """``max_decompressed_size`` caps the content-coding decoders (coding.py)."""
    n = 5000
    payload = bytes(range(256)) * 20
    payload = payload[:n]

    def pack(data: bytes) -> bytes:
        if coding == "gzip":
            return gzip.compress(data)
        return zlib.compress(data)

    assert decode_all(coding, pack(payload), n, step) == payload
    with pytest.raises(LimitExceeded) as info:
        decode_all(coding, pack(payload + b"!"), n, step)
    assert info.value.limit == "max_decompressed_size"
    assert info.value.http_status == 413


def test_decompression_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (8 << 20))
    dec = decoder_for("gzip", HTTP1Limits(max_decompressed_size=1000))
    produced = 0
    with pytest.raises(LimitExceeded):
        for i in range(0, len(bomb), 512):
            produced += len(dec.decompress(bomb[i : i + 512]))
    assert produced <= 1000


def status_line(n: int) -> bytes:
    # "HTTP/1.1 200 " + reason = 13 + len(reason)
    return b"HTTP/1.1 200 " + b"r" * (n - 13) + b"\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("limit", "n", "build"),
    [
        ("max_status_line_size", 60, status_line),
        ("max_header_count", 5,
         lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
         + b"".join(b"X-%d:v\r\n" % i for i in range(n - 1)) + b"\r\n"),
        ("max_body_size", 32,
         lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n),
    ],
)
def test_client_limit_exact(limit: str, n: int, build: Callable[[int], bytes]) -> None:
    limits = HTTP1Limits(**{limit: n})  # type: ignore[arg-type]

    def make() -> Connection:
        conn = Connection(Role.CLIENT, config=HTTP1Config(limits=limits))
        conn.send(Request(method=b"GET", target=b"/", headers=Headers([("Host", "a")])))
        conn.send(EndOfMessage())
        conn.data_to_send()
        return conn

    accepted = split_feed(make, build(n), drain=poll, data_type=Data)
    assert accepted.error is None, accepted.error
    assert isinstance(accepted.events[-1], EndOfMessage)
    refused = split_feed(make, build(n + 1), drain=poll, data_type=Data)
    assert refused.error is not None
    assert issubclass(refused.error[0], LimitExceeded)
    assert refused.error[1] == limit


# --- never anything but SockitError ---------------------------------------------------

VALID = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nxyz",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nPRI",
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
]
SMALL = HTTP1Limits(max_header_count=8, max_header_block_size=256, max_request_line_size=64,
                    max_uri_size=48, max_chunk_size=64, max_chunk_extension_size=16,
                    max_trailer_size=32, max_body_size=128)


def drive(role: Role, chunks: list[bytes], limits: HTTP1Limits) -> None:
    """Feed ``chunks``; answer and cycle where the API allows; only SockitError may escape."""
    conn = Connection(role, config=HTTP1Config(limits=limits))
    if role is Role.CLIENT:
        conn.send(Request(method=b"GET", target=b"/", headers=Headers([("Host", "a")])))
        if conn.our_state is ConnectionState.SEND_BODY:
            conn.send(EndOfMessage())
        conn.data_to_send()
    try:
        for chunk in [*chunks, b""]:
            conn.receive_data(chunk)
            while (role is Role.SERVER and conn.their_state is ConnectionState.DONE
                   and conn.our_state is ConnectionState.SEND_RESPONSE):
                conn.send(Response(status_code=200, reason=b"OK",
                                   headers=Headers([("Content-Length", "0")])))
                conn.send(EndOfMessage())
                if conn.our_state is not ConnectionState.DONE:
                    break
                conn.start_next_cycle()
                conn.receive_data(b"")
        conn.receive_eof()
    except SockitError:
        pass


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=4),
       st.sampled_from([Role.SERVER, Role.CLIENT]), st.booleans())
def test_arbitrary_bytes_only_sockit_errors(
    data: bytes, points: list[int], role: Role, small: bool
) -> None:
    drive(role, cut(data, points), SMALL if small else HTTP1Limits())


mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "duplicate"]),
    st.integers(0, 10_000),
    st.binary(min_size=1, max_size=4)
    | st.sampled_from([b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b";", b"0", b"\x00", b"-"]),
)


def mutate(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    buf = bytearray(data)
    for op, where, piece in ops:
        i = where % (len(buf) + 1)
        if op == "insert":
            buf[i:i] = piece
        elif op == "delete":
            del buf[i : i + len(piece)]
        elif op == "replace":
            buf[i : i + len(piece)] = piece
        else:
            buf[i:i] = buf[i : i + 1 + len(piece) * 4]
    return bytes(buf)


@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=3),
       st.lists(mutation, min_size=1, max_size=6),
       st.lists(st.integers(0, 500), max_size=4), st.booleans())
def test_mutated_requests_only_sockit_errors(
    parts: list[bytes], ops: list[tuple[str, int, bytes]], points: list[int], small: bool
) -> None:
    data = mutate(b"".join(parts), ops)
    drive(Role.SERVER, cut(data, points), SMALL if small else HTTP1Limits())


@given(st.lists(mutation, min_size=1, max_size=6), st.lists(st.integers(0, 200), max_size=3))
def test_mutated_responses_only_sockit_errors(
    ops: list[tuple[str, int, bytes]], points: list[int]
) -> None:
    base = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
            b"X-A: b\r\n\r\n3;e\r\nabc\r\n0\r\nX-T: z\r\n\r\n")
    drive(Role.CLIENT, cut(mutate(base, ops), points), SMALL)


@pytest.mark.parametrize("raw", VALID)
def test_valid_corpus_parses(raw: bytes) -> None:
    result = split_feed(
        lambda: Connection(Role.SERVER, config=HTTP1Config(limits=HTTP1Limits())),
        raw, drain=poll, data_type=Data,
    )
    assert result.error is None, result.error
    assert isinstance(result.events[0], Request)
    assert isinstance(result.events[-1], EndOfMessage)
