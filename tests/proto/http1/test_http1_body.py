"""Body framing: lengths, chunks, trailers, writers and content codings."""

from __future__ import annotations

import gzip
import zlib

import pytest

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    Data,
    EndOfMessage,
    HTTP1Config,
    Request,
    Response,
)
from sockit.proto.http1.body import content_length, transfer_codings
from sockit.proto.http1.coding import (
    Decoder,
    Encoder,
    decoder_for,
    parse_content_encoding,
    supported_codings,
)
from tests.support.feeding import split_feed

HEAD = b"POST / HTTP/1.1\r\nHost: a\r\n"


def chunked(body: bytes) -> bytes:
    return HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body


def server(**limits: int) -> Connection:
    return Connection(Role.SERVER, HTTP1Config(limits=HTTP1Limits(**limits)))


def body_of(data: bytes, **limits: int) -> tuple[bytes, EndOfMessage]:
    result = split_feed(lambda: server(**limits), data, data_type=Data)
    assert result.error is None, result.error
    events = result.events
    assert isinstance(events[0], Request)
    assert isinstance(events[-1], EndOfMessage)
    payload = b"".join(e.data for e in events if isinstance(e, Data))
    return payload, events[-1]


def error_of(data: bytes, **limits: int) -> tuple[type[BaseException], str | None, int | None]:
    # a body error after the Request event surfaces on the next call
    result = split_feed(lambda: server(**limits), data, data_type=Data, eof=True)
    assert result.error is not None, result.events
    return result.error


# -- Content-Length -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "length"),
    [([b"0"], 0), ([b"42"], 42), ([b"7, 7"], 7), ([b"7", b"7"], 7), ([b"007"], 7)],
)
def test_content_length_accepted(values: list[bytes], length: int) -> None:
    assert content_length(values) == length


@pytest.mark.parametrize(
    "values",
    [[b"+5"], [b"-5"], [b"5 5"], [b"0x5"], [b""], [b"5,"], [b"5", b"6"], [b"5, 05"], [b"5.0"]],
)
def test_content_length_refused(values: list[bytes]) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        content_length(values)
    assert info.value.http_status == 400


def test_content_length_too_many_digits_is_413() -> None:
    assert content_length([b"0" * 30 + b"1"]) == 1
    with pytest.raises(RemoteProtocolError) as info:
        content_length([b"9" * 20])
    assert info.value.http_status == 413


def test_content_length_body_split_any_way() -> None:
    payload, _ = body_of(HEAD + b"Content-Length: 11\r\n\r\nhello world")
    assert payload == b"hello world"


def test_max_body_size_from_content_length() -> None:
    data = HEAD + b"Content-Length: 11\r\n\r\nhello world"
    assert body_of(data, max_body_size=11)[0] == b"hello world"
    conn = server(max_body_size=10)
    with pytest.raises(LimitExceeded) as info:
        conn.receive_data(data[: data.index(b"\r\n\r\n") + 4])  # decided from the head
    assert (info.value.limit, info.value.http_status) == ("max_body_size", 413)


# -- Transfer-Encoding -------------------------------------------------------------


def test_transfer_codings_parsing() -> None:
    assert transfer_codings([b"gzip, chunked"]) == [b"gzip", b"chunked"]
    assert transfer_codings([b"CHUNKED"]) == [b"chunked"]
    assert transfer_codings([b", chunked ,"]) == [b"chunked"]
    for bad in ([b","], [b"chunked;a=b"], [b"chu nked"], [b'"chunked"']):
        with pytest.raises(RemoteProtocolError):
            transfer_codings(bad)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
        (b"Transfer-Encoding: gzip\r\n", 400),
        (b"Transfer-Encoding: chunked, gzip\r\n", 400),
        (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400),
        (b"Transfer-Encoding: gzip, chunked\r\n", 501),
        (b"Transfer-Encoding: foo, chunked\r\n", 501),
    ],
)
def test_transfer_encoding_refusals(fields: bytes, status: int) -> None:
    assert error_of(HEAD + fields + b"\r\n")[2] == status


def test_transfer_encoding_in_http10_request() -> None:
    data = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert error_of(data)[2] == 400


# -- chunked ------------------------------------------------------------------------


def test_chunked_body_with_extensions_and_trailers() -> None:
    body = b'5;a=b;c="d e"\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Sum: 1\r\nY: 2 \r\n\r\n'
    payload, end = body_of(chunked(body))
    assert payload == b"hello world"
    assert end.trailers.raw_items() == [(b"X-Sum", b"1"), (b"Y", b"2")]


def test_chunked_leading_zeros_and_uppercase_hex() -> None:
    assert body_of(chunked(b"0000A\r\n0123456789\r\n00\r\n\r\n"))[0] == b"0123456789"


@pytest.mark.parametrize(
    "body",
    [
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"+5\r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b"g\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"5;\r\nhello\r\n0\r\n\r\n",
        b"5;a=\r\nhello\r\n0\r\n\r\n",
        b'5;a="b\r\nhello\r\n0\r\n\r\n',
        b"5;a b\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\rX0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n",
        b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"5\r\nhello\r\n0\r\nHost: b\r\n\r\n",
        b"5\r\nhello\r\n0\r\nBad Name: x\r\n\r\n",
        b"5\r\nhello\r\n0\r\nX: y\r\n folded\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\n",
    ],
)
def test_chunked_refusals(body: bytes) -> None:
    error = error_of(chunked(body))
    assert error[0] is RemoteProtocolError
    assert error[2] == 400


def test_junk_after_chunk_data_is_caught_at_its_byte() -> None:
    conn = server()
    events = conn.receive_data(chunked(b"5\r\nhello"))
    assert [type(e) for e in events] == [Request, Data]
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"X")


def test_chunk_size_bound_is_413() -> None:
    assert body_of(chunked(b"10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"), max_chunk_size=16)
    error = error_of(chunked(b"11\r\n" + b"x" * 17 + b"\r\n0\r\n\r\n"), max_chunk_size=16)
    assert error == (LimitExceeded, "max_chunk_size", 413)


def test_chunk_extension_bound() -> None:
    ext = b";" + b"e" * 9  # 10 bytes
    assert body_of(chunked(b"1" + ext + b"\r\nx\r\n0\r\n\r\n"), max_chunk_extension_size=10)
    error = error_of(chunked(b"1" + ext + b"e\r\nx\r\n0\r\n\r\n"), max_chunk_extension_size=10)
    assert error == (LimitExceeded, "max_chunk_extension_size", 400)
    # an endless chunk-size line is refused once it passes the line bound
    conn = server(max_chunk_extension_size=10)
    conn.receive_data(chunked(b"1;" + b"e" * 26))
    with pytest.raises(LimitExceeded):
        conn.receive_data(b"e")


def test_trailer_bound() -> None:
    trailer = b"X: " + b"v" * 13 + b"\r\n"  # 18 bytes
    ok = chunked(b"0\r\n" + trailer + b"\r\n")
    assert body_of(ok, max_trailer_size=18)[1].trailers.raw_items() == [(b"X", b"v" * 13)]
    error = error_of(ok, max_trailer_size=17)
    assert error == (LimitExceeded, "max_trailer_size", 431)
    # incomplete and over the bound: refused without waiting for the end
    conn = server(max_trailer_size=17)
    conn.receive_data(chunked(b"0\r\n" + trailer + b"Y"))  # 19 = 17 + the final CRLF
    with pytest.raises(LimitExceeded):
        conn.receive_data(b"Y")


def test_max_body_size_counts_chunks() -> None:
    assert body_of(chunked(b"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), max_body_size=10)
    error = error_of(chunked(b"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n"), max_body_size=10)
    assert error == (LimitExceeded, "max_body_size", 413)


def test_eof_inside_bodies() -> None:
    for data in (HEAD + b"Content-Length: 5\r\n\r\nhel", chunked(b"5\r\nhel")):
        conn = server()
        conn.receive_data(data)
        with pytest.raises(RemoteProtocolError):
            conn.receive_eof()


# -- writers ---------------------------------------------------------------------


def responder(request: bytes = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n") -> Connection:
    conn = server()
    conn.receive_data(request)
    return conn


def test_content_length_is_enforced_when_sending() -> None:
    conn = responder()
    conn.send(Response(200, Headers([("Content-Length", "5")])))
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"toolong"))
    conn = responder()
    conn.send(Response(200, Headers([("Content-Length", "5")])))
    conn.send(Data(b"hel"))
    with pytest.raises(LocalProtocolError):
        conn.send(EndOfMessage())


def test_chunked_writer_with_trailers() -> None:
    conn = responder()
    conn.send(Response(200, Headers([("Transfer-Encoding", "chunked")])))
    conn.send(Data(b"hello"))
    conn.send(Data(b""))
    conn.send(EndOfMessage(Headers([("X-Sum", "1")])))
    assert conn.data_to_send().endswith(b"\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n")


def test_forbidden_trailers_are_not_sent() -> None:
    conn = responder()
    conn.send(Response(200))
    with pytest.raises(LocalProtocolError):
        conn.send(EndOfMessage(Headers([("Content-Length", "1")])))


def test_trailers_need_chunked() -> None:
    conn = responder()
    conn.send(Response(200, Headers([("Content-Length", "0")])))
    with pytest.raises(LocalProtocolError):
        conn.send(EndOfMessage(Headers([("X", "1")])))


def test_unknown_length_is_close_delimited_for_http10() -> None:
    conn = responder(b"GET / HTTP/1.0\r\n\r\n")
    conn.send(Response(200, Headers([("Transfer-Encoding", "chunked")])))
    conn.send(Data(b"abc"))
    conn.send(EndOfMessage())
    out = conn.data_to_send()
    assert out == b"HTTP/1.1 200 \r\nConnection: close\r\n\r\nabc"
    assert not conn.keep_alive


def test_head_response_body_is_not_sent() -> None:
    conn = responder(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn.send(Response(200, Headers([("Content-Length", "5")])))
    conn.send(Data(b"hello"))
    conn.send(EndOfMessage())
    assert conn.data_to_send() == b"HTTP/1.1 200 \r\nContent-Length: 5\r\n\r\n"


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(status: int) -> None:
    conn = responder()
    conn.send(Response(status))
    with pytest.raises(LocalProtocolError):
        conn.send(Data(b"x"))


def test_header_injection_is_refused() -> None:
    conn = responder()
    bad = Headers.from_raw([(b"X", b"a\r\nSet-Cookie: evil")])
    with pytest.raises(LocalProtocolError):
        conn.send(Response(200, bad))
    conn = responder()
    with pytest.raises(LocalProtocolError):
        conn.send(Response(200, reason=b"OK\r\nX: y"))


# -- content codings -----------------------------------------------------------------

RAW = b"The quick brown fox jumps over the lazy dog. " * 200


def encoded(coding: str) -> bytes:
    enc = Encoder(coding)
    return enc.compress(RAW[:1000]) + enc.compress(RAW[1000:]) + enc.flush()


@pytest.mark.parametrize("coding", supported_codings())
def test_codings_round_trip_incrementally(coding: str) -> None:
    data = encoded(coding)
    dec = Decoder(coding)
    out = b"".join(dec.decompress(data[i : i + 13]) for i in range(0, len(data), 13))
    assert out + dec.flush() == RAW


def test_raw_deflate_and_gzip_members() -> None:
    raw_deflate = zlib.compress(RAW)[2:-4]
    dec = Decoder("deflate")
    assert dec.decompress(raw_deflate) + dec.flush() == RAW
    dec = Decoder("x-gzip")
    assert dec.decompress(gzip.compress(b"ab") + gzip.compress(b"cd")) + dec.flush() == b"abcd"


@pytest.mark.parametrize("coding", supported_codings())
def test_decompressed_size_cap(coding: str) -> None:
    data = encoded(coding)
    dec = Decoder(coding, max_size=len(RAW))
    assert dec.decompress(data) + dec.flush() == RAW
    dec = Decoder(coding, max_size=len(RAW) - 1)
    with pytest.raises(LimitExceeded) as info:
        for i in range(0, len(data), 100):
            dec.decompress(data[i : i + 100])
        dec.flush()
    assert (info.value.limit, info.value.http_status) == ("max_decompressed_size", 413)


def test_bomb_never_inflates_past_the_cap() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
    dec = decoder_for("gzip", HTTP1Limits(max_decompressed_size=1024))
    with pytest.raises(LimitExceeded):
        dec.decompress(bomb)


@pytest.mark.parametrize("coding", supported_codings())
def test_corrupt_and_truncated_input(coding: str) -> None:
    data = encoded(coding)
    with pytest.raises(RemoteProtocolError):
        dec = Decoder(coding)
        dec.decompress(b"\x00garbage" * 20)
        dec.flush()
    dec = Decoder(coding)
    dec.decompress(data[: len(data) // 2])
    with pytest.raises(RemoteProtocolError):
        dec.flush()


def test_data_after_a_deflate_stream() -> None:
    dec = Decoder("deflate")
    with pytest.raises(RemoteProtocolError):
        dec.decompress(zlib.compress(b"x") + b"junk")


def test_unsupported_coding_is_415() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        Decoder("compress")
    assert info.value.http_status == 415
    with pytest.raises(LocalProtocolError):
        Encoder("compress")


def test_multiple_codings_are_undone_in_reverse() -> None:
    assert parse_content_encoding([b"gzip, identity", "X-GZIP"]) == ["gzip", "identity", "gzip"]
    data = Encoder("deflate").compress(b"")  # warm up the API
    enc1, enc2 = Encoder("gzip"), Encoder("deflate")
    inner = enc1.compress(RAW) + enc1.flush()
    data = enc2.compress(inner) + enc2.flush()
    dec = decoder_for([b"gzip", b"deflate"])
    assert dec.decompress(data) + dec.flush() == RAW


def test_identity_and_empty_bodies() -> None:
    assert Decoder("identity").decompress(b"abc") == b"abc"
    assert Decoder("gzip").flush() == b""


# -- whole chunks in one buffer take one pass each -----------------------------------


def test_whole_chunked_body_gives_one_data_per_chunk() -> None:
    chunks = [b"a" * 10, b"b" * 4096, b"c", b"d" * 300]
    body = b"".join(b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    events = server().receive_data(chunked(body))
    assert [type(e) for e in events] == [Request, Data, Data, Data, Data, EndOfMessage]
    assert [e.data for e in events[1:-1]] == chunks  # type: ignore[attr-defined]
    assert events[-1] == EndOfMessage()


@pytest.mark.parametrize(
    ("third", "limits", "datas", "expected"),
    [
        (b"11\r\n" + b"x" * 17 + b"\r\n", {"max_chunk_size": 16}, 2, (LimitExceeded, 413)),
        (b"9\r\n" + b"x" * 9 + b"\r\n", {"max_body_size": 16}, 2, (LimitExceeded, 413)),
        (b"3\r\nxyzXX", {}, 3, (RemoteProtocolError, 400)),  # the data, then its bad CRLF
        (b"3;a b\r\nxyz\r\n", {}, 2, (RemoteProtocolError, 400)),
        (b"3\nxyz\r\n", {}, 2, (RemoteProtocolError, 400)),
    ],
)
def test_an_error_inside_a_run_of_chunks_comes_after_the_earlier_data(
    third: bytes, limits: dict[str, int], datas: int, expected: tuple[type[Exception], int]
) -> None:
    data = chunked(b"4\r\nabcd\r\n4\r\nefgh\r\n" + third + b"0\r\n\r\n")
    conn = server(**limits)
    events = conn.receive_data(data)
    assert [type(e) for e in events] == [Request] + [Data] * datas
    with pytest.raises(expected[0]) as info:
        conn.receive_data(b"")
    assert type(info.value) is expected[0]
    assert info.value.http_status == expected[1]  # type: ignore[attr-defined]
    # and the same however the bytes come
    error = error_of(data, **limits)
    assert (error[0], error[2]) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"4\r\nabcd\r\n00000000000000004\r\nefgh\r\n0\r\n\r\n",  # 17 digits: the general way
        b"4;x=1\r\nabcd\r\nA\r\n0123456789\r\n0;y\r\nT: 1\r\n\r\n",
        b"a\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n",
    ],
)
def test_runs_of_chunks_agree_with_the_states(body: bytes) -> None:
    result = split_feed(server, chunked(body), data_type=Data)
    assert result.error is None
    whole = server().receive_data(chunked(body))
    assert [type(e) for e in whole][-1] is EndOfMessage
    assert b"".join(e.data for e in whole if isinstance(e, Data)) == b"".join(
        e.data for e in result.events if isinstance(e, Data)
    )


def test_leftover_bytes_in_a_bytearray_still_read_right() -> None:
    conn = server()
    assert [type(e) for e in conn.receive_data(chunked(b"5\r"))] == [Request]
    events = conn.receive_data(b"\nhello\r\n5\r\nworld\r\n0\r\n\r\n")
    assert [e.data for e in events if isinstance(e, Data)] == [b"hello", b"world"]
    assert isinstance(events[-1], EndOfMessage)


def test_body_bytes_before_an_error_answer_the_100_continue() -> None:
    conn = server()
    head = HEAD + b"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn.receive_data(head)
    assert conn.they_are_waiting_for_100_continue
    events = conn.receive_data(b"3\r\nabc\r\nzz")
    assert [type(e) for e in events] == [Data]
    assert not conn.they_are_waiting_for_100_continue
    conn = server()
    conn.receive_data(head)
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"zz\r\n")
    assert conn.they_are_waiting_for_100_continue  # no body byte came


# -- validated headers are not checked twice when sent ------------------------------


def test_from_raw_headers_are_checked_when_sent_and_api_headers_are_trusted() -> None:
    assert Headers([("X", "y")]).validated
    assert Headers().validated
    assert not Headers.from_raw([(b"X", b"y")]).validated
    assert not Headers(Headers.from_raw([(b"X", b"y")])).validated  # a copy keeps it
    conn = responder()
    conn.send(Response(200, Headers.from_raw([(b"Content-Length", b"0")])))
    assert conn.data_to_send() == b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"
    conn = responder()
    with pytest.raises(LocalProtocolError):
        conn.send(Response(200, Headers.from_raw([(b"Bad Name", b"x")])))
