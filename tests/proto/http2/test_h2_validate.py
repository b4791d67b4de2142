"""Field-section rules (RFC 9113 §8.2, §8.3) in both directions."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http2.validate import (
    MalformedHeaders,
    check_trailer_fields,
    parse_request_fields,
    parse_response_fields,
)

GET = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":authority", b"example.com"),
    (b":path", b"/index.html"),
]


def req(
    *extra: tuple[bytes, bytes], base: list[tuple[bytes, bytes]] = GET
) -> list[tuple[bytes, bytes]]:
    return [*base, *extra]


def test_plain_request_parts() -> None:
    fields = req((b"user-agent", b"x"), (b"cookie", b"a=1"), (b"cookie", b"b=2"))
    method, scheme, authority, path, protocol, regular, length, priority = parse_request_fields(
        fields
    )
    assert (method, scheme, authority, path, protocol) == (
        b"GET",
        b"https",
        b"example.com",
        b"/index.html",
        None,
    )
    # cookies stay separate fields (the server layer joins them)
    assert regular == [(b"user-agent", b"x"), (b"cookie", b"a=1"), (b"cookie", b"b=2")]
    assert length is None and priority is None


def test_priority_and_content_length_are_reported() -> None:
    out = parse_request_fields(req((b"priority", b"u=1, i"), (b"content-length", b"12")))
    assert out[6] == 12
    assert out[7] == b"u=1, i"
    assert (b"priority", b"u=1, i") in out[5]


@pytest.mark.parametrize(
    "fields",
    [
        # pseudo-header after a regular field
        [(b":method", b"GET"), (b"x", b"1"), (b":scheme", b"https"), (b":path", b"/")],
        # undefined pseudo-header, response pseudo in a request
        req((b":foo", b"bar")),
        [(b":status", b"200"), *GET],
        # duplicates
        [*GET, (b":path", b"/again")],
        [(b":method", b"GET"), *GET[1:], (b":method", b"GET")],
        [GET[0], GET[1], GET[1], GET[3]],
        [GET[0], GET[1], GET[2], GET[2], GET[3]],
        # missing required
        GET[1:],
        [GET[0], GET[2], GET[3]],
        [GET[0], GET[1], GET[2]],
        [GET[0], GET[1], GET[2], (b":path", b"")],
        [GET[0], GET[1], GET[2], (b":path", b"index.html")],
        # uppercase and invalid names
        req((b"User-Agent", b"x")),
        req((b"bad name", b"x")),
        req((b"", b"x")),
        req((b"x\x00y", b"1")),
        # connection-specific fields
        req((b"connection", b"keep-alive")),
        req((b"keep-alive", b"5")),
        req((b"proxy-connection", b"x")),
        req((b"transfer-encoding", b"chunked")),
        req((b"upgrade", b"websocket")),
        # TE other than trailers
        req((b"te", b"gzip")),
        req((b"te", b"trailers, gzip")),
        # values with CR, LF, NUL, edge whitespace
        req((b"x", b"a\rb")),
        req((b"x", b"a\nb")),
        req((b"x", b"a\x00b")),
        req((b"x", b" a")),
        req((b"x", b"a\t")),
        [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/ x\r\n")],
        # content-length
        req((b"content-length", b"abc")),
        req((b"content-length", b"-1")),
        req((b"content-length", b"1"), (b"content-length", b"2")),
        req((b"content-length", b"1, 2")),
        # host disagreeing with :authority
        req((b"host", b"other.example")),
        # :protocol without the setting
        [(b":method", b"CONNECT"), (b":protocol", b"websocket"), *GET[1:]],
        # bad method token
        [(b":method", b"GE T"), *GET[1:]],
    ],
)
def test_malformed_requests(fields: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(MalformedHeaders) as info:
        parse_request_fields(fields)
    assert info.value.error_code == 1
    with pytest.raises(LocalProtocolError):
        parse_request_fields(fields, outbound=True)


def test_te_trailers_and_matching_host_are_fine() -> None:
    parse_request_fields(req((b"te", b"trailers"), (b"host", b"EXAMPLE.com")))
    parse_request_fields(req((b"te", b"Trailers")))
    parse_request_fields(req((b"content-length", b"5"), (b"content-length", b"5")))
    parse_request_fields(req((b"x", b"")))  # empty values are allowed
    parse_request_fields(req((b"x", b"a\x01b")))  # RFC 9113 forbids only NUL, CR, LF


def test_options_star_only_for_options() -> None:
    star = [(b":method", b"OPTIONS"), (b":scheme", b"https"), (b":path", b"*")]
    assert parse_request_fields(star)[3] == b"*"
    with pytest.raises(MalformedHeaders):
        parse_request_fields([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"*")])


def test_connect_rules() -> None:
    ok = [(b":method", b"CONNECT"), (b":authority", b"example.com:443")]
    method, scheme, authority, path, protocol, *_ = parse_request_fields(ok)
    assert (method, authority, scheme, path, protocol) == (
        b"CONNECT",
        b"example.com:443",
        b"",
        b"",
        None,
    )
    with pytest.raises(MalformedHeaders):
        parse_request_fields([(b":method", b"CONNECT")])
    with pytest.raises(MalformedHeaders):
        parse_request_fields([*ok, (b":path", b"/")])
    with pytest.raises(MalformedHeaders):
        parse_request_fields([*ok, (b":scheme", b"https")])


def test_extended_connect_rules() -> None:
    ws = [
        (b":method", b"CONNECT"),
        (b":protocol", b"websocket"),
        (b":scheme", b"https"),
        (b":path", b"/chat"),
        (b":authority", b"example.com"),
    ]
    assert parse_request_fields(ws, extended_connect=True)[4] == b"websocket"
    with pytest.raises(MalformedHeaders):
        parse_request_fields(ws)  # not enabled
    with pytest.raises(MalformedHeaders):
        parse_request_fields([(b":method", b"GET"), *ws[1:]], extended_connect=True)
    with pytest.raises(MalformedHeaders):
        parse_request_fields([f for f in ws if f[0] != b":path"], extended_connect=True)
    with pytest.raises(MalformedHeaders):
        parse_request_fields([f for f in ws if f[0] != b":authority"], extended_connect=True)


def test_responses() -> None:
    status, regular, length = parse_response_fields(
        [(b":status", b"200"), (b"content-length", b"3"), (b"set-cookie", b"a=1")]
    )
    assert (status, length) == (200, 3)
    assert regular == [(b"content-length", b"3"), (b"set-cookie", b"a=1")]
    assert parse_response_fields([(b":status", b"103")])[0] == 103
    for bad in (
        [],
        [(b"x", b"1")],
        [(b":status", b"20")],
        [(b":status", b"2000")],
        [(b":status", b"abc")],
        [(b":status", b"101")],
        [(b":status", b"200"), (b":status", b"200")],
        [(b":status", b"200"), (b":path", b"/")],
        [(b":method", b"GET")],
        [(b"x", b"1"), (b":status", b"200")],
        [(b":status", b"200"), (b"connection", b"close")],
        [(b":status", b"200"), (b"Content-Type", b"x")],
    ):
        with pytest.raises(MalformedHeaders):
            parse_response_fields(bad)


def test_trailers() -> None:
    assert check_trailer_fields([(b"grpc-status", b"0")]) == [(b"grpc-status", b"0")]
    assert check_trailer_fields([]) == []
    for bad in (
        [(b":status", b"200")],
        [(b"x", b"1"), (b":path", b"/")],
        [(b"X-Upper", b"1")],
        [(b"transfer-encoding", b"chunked")],
        [(b"x", b"a\r\nb")],
    ):
        with pytest.raises(MalformedHeaders):
            check_trailer_fields(bad)
        with pytest.raises(LocalProtocolError):
            check_trailer_fields(bad, outbound=True)


def test_name_cache_is_bounded_and_never_trusts_bad_names() -> None:
    from sockit.proto.http2 import validate

    for i in range(validate._NAMES_MAX + 100):
        parse_request_fields(req((b"x-%d" % i, b"v")))
    assert len(validate._NAMES) <= validate._NAMES_MAX
    with pytest.raises(MalformedHeaders):
        parse_request_fields(req((b"X-1", b"v")))


fields_st = st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=12)), max_size=8)


@given(fields_st)
def test_arbitrary_fields_parse_or_raise_sockit_errors(fields: list[tuple[bytes, bytes]]) -> None:
    for check in (
        parse_request_fields,
        lambda f: parse_request_fields(f, extended_connect=True),
        parse_response_fields,
        check_trailer_fields,
    ):
        with contextlib.suppress(SockitError):
            check(fields)


@given(fields_st)
def test_outbound_matches_inbound(fields: list[tuple[bytes, bytes]]) -> None:
    def outcome(outbound: bool) -> object:
        try:
            return parse_request_fields(GET + fields, outbound=outbound)
        except (MalformedHeaders, LocalProtocolError) as exc:
            return str(exc)

    assert outcome(False) == outcome(True)
