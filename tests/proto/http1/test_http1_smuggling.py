"""Request smuggling and framing attacks against the HTTP/1.1 server parser.

Every vector is a complete request a front end and a back end could disagree
about. Each must be refused with :class:`RemoteProtocolError` and the status a
server would answer with, identically whole, byte by byte and in random cuts
(``split_feed``), must leave the connection in ``ERROR``, and must not affect
a fresh connection parsing a valid request afterwards.

The ``ACCEPT`` table holds near-misses that RFC 9112 / RFC 9110 allow, so a
parser that refuses everything fails here too.

Status precedence chosen where two rules apply: a request whose final transfer
coding is not ``chunked`` gets 400 (RFC 9112 §6.3, a MUST) even when the coding
is also unknown; 501 (RFC 9112 §6.1, a SHOULD) is for unknown codings that
precede a final ``chunked``. A Content-Length that is a valid numeral but
larger than anything we could accept is refused as 413.
"""

from __future__ import annotations

import pytest

from sockit.errors import LimitExceeded, RemoteProtocolError
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
)
from tests.support.feeding import split_feed

HOST = b"Host: example.com"
H = HOST + b"\r\n"
VALID = b"GET /ok HTTP/1.1\r\nHost: example.com\r\n\r\n"


def post(*fields: bytes, body: bytes = b"", version: bytes = b"1.1") -> bytes:
    """A POST with a Host line, the given field lines and body."""
    head = b"POST / HTTP/" + version + b"\r\n" + H + b"".join(f + b"\r\n" for f in fields)
    return head + b"\r\n" + body


def chunked(body: bytes) -> bytes:
    return post(b"Transfer-Encoding: chunked", body=body)


def get(*fields: bytes, line: bytes = b"GET / HTTP/1.1") -> bytes:
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


# (name, raw request, expected http_status)
REFUSE: list[tuple[str, bytes, int]] = [
    # --- Content-Length and Transfer-Encoding together (CL.TE / TE.CL) ---
    ("cl_then_te", post(b"Content-Length: 5", b"Transfer-Encoding: chunked",
                        body=b"0\r\n\r\n"), 400),
    ("te_then_cl", post(b"Transfer-Encoding: chunked", b"Content-Length: 5",
                        body=b"0\r\n\r\n"), 400),
    ("cl_te_classic_prefix", post(b"Content-Length: 6", b"Transfer-Encoding: chunked",
                                  body=b"0\r\n\r\nG"), 400),
    ("te_cl_classic", post(b"Content-Length: 3", b"Transfer-Encoding: chunked",
                           body=b"8\r\nSMUGGLED\r\n0\r\n\r\n"), 400),
    ("cl_zero_and_te", post(b"Content-Length: 0", b"Transfer-Encoding: chunked",
                            body=b"0\r\n\r\n"), 400),
    # --- TE.TE obfuscations ---
    ("te_xchunked", post(b"Transfer-Encoding: xchunked", body=b"0\r\n\r\n"), 400),
    ("te_chunked_identity", post(b"Transfer-Encoding: chunked, identity",
                                 body=b"0\r\n\r\n"), 400),
    ("te_identity_alone", post(b"Transfer-Encoding: identity"), 400),
    ("te_space_before_colon", post(b"Transfer-Encoding : chunked", body=b"0\r\n\r\n"), 400),
    ("te_tab_before_colon", post(b"Transfer-Encoding\t: chunked", body=b"0\r\n\r\n"), 400),
    ("te_two_lines", post(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked",
                          body=b"0\r\n\r\n"), 400),
    ("te_chunked_twice_in_list", post(b"Transfer-Encoding: chunked, chunked",
                                      body=b"0\r\n\r\n"), 400),
    ("te_lines_chunked_then_gzip", post(b"Transfer-Encoding: chunked",
                                        b"Transfer-Encoding: gzip", body=b"0\r\n\r\n"), 400),
    ("te_gzip_chunked_unknown_coding", post(b"Transfer-Encoding: gzip, chunked",
                                            body=b"0\r\n\r\n"), 501),
    ("te_xgzip_chunked_unknown_coding", post(b"Transfer-Encoding: x-custom, chunked",
                                             body=b"0\r\n\r\n"), 501),
    ("te_empty_value", post(b"Transfer-Encoding:", body=b"0\r\n\r\n"), 400),
    ("te_comma_only", post(b"Transfer-Encoding: ,", body=b"0\r\n\r\n"), 400),
    ("te_quoted_chunked", post(b'Transfer-Encoding: "chunked"', body=b"0\r\n\r\n"), 400),
    ("te_obs_fold_value", post(b"Transfer-Encoding:\r\n chunked", body=b"0\r\n\r\n"), 400),
    ("te_vtab_before_value", post(b"Transfer-Encoding: \x0bchunked", body=b"0\r\n\r\n"), 400),
    ("te_formfeed_after_value", post(b"Transfer-Encoding: chunked\x0c", body=b"0\r\n\r\n"),
     400),
    ("te_nul_after_value", post(b"Transfer-Encoding: chunked\x00", body=b"0\r\n\r\n"), 400),
    ("te_in_http10_request", post(b"Transfer-Encoding: chunked", body=b"0\r\n\r\n",
                                  version=b"1.0"), 400),
    # --- Content-Length syntax ---
    ("cl_plus_sign", post(b"Content-Length: +5", body=b"hello"), 400),
    ("cl_negative", post(b"Content-Length: -1"), 400),
    ("cl_negative_zero", post(b"Content-Length: -0"), 400),
    ("cl_hex", post(b"Content-Length: 0x10", body=b"0123456789abcdef"), 400),
    ("cl_space_inside", post(b"Content-Length: 1 0", body=b"0123456789"), 400),
    ("cl_tab_inside", post(b"Content-Length: 1\t0", body=b"0123456789"), 400),
    ("cl_underscore", post(b"Content-Length: 1_0", body=b"0123456789"), 400),
    ("cl_decimal_point", post(b"Content-Length: 5.0", body=b"hello"), 400),
    ("cl_exponent", post(b"Content-Length: 1e1", body=b"0123456789"), 400),
    ("cl_list_different", post(b"Content-Length: 5,6", body=b"hello!"), 400),
    ("cl_list_different_spaced", post(b"Content-Length: 5, 6", body=b"hello!"), 400),
    ("cl_two_lines_different", post(b"Content-Length: 5", b"Content-Length: 6",
                                    body=b"hello!"), 400),
    ("cl_empty_value", post(b"Content-Length:"), 400),
    ("cl_vtab_after_digits", post(b"Content-Length: 5\x0b", body=b"hello"), 400),
    ("cl_formfeed_before_digits", post(b"Content-Length: \x0c5", body=b"hello"), 400),
    ("cl_arabic_indic_digit", post(b"Content-Length: \xd9\xa5", body=b"hello"), 400),
    ("cl_fullwidth_digit", post("Content-Length: \uff15".encode(), body=b"hello"), 400),
    ("cl_space_before_colon", post(b"Content-Length : 5", body=b"hello"), 400),
    ("cl_twenty_digits", post(b"Content-Length: 99999999999999999999"), 413),
    ("cl_hundred_digits", post(b"Content-Length: " + b"9" * 100), 413),
    # --- chunk-size lines ---
    ("chunk_size_overflow", chunked(b"ffffffffffffffffff\r\nx\r\n0\r\n\r\n"), 413),
    ("chunk_size_0x_prefix", chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_plus", chunked(b"+5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_minus", chunked(b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_underscore", chunked(b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n"), 400),
    ("chunk_size_leading_space", chunked(b" 5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_inner_space", chunked(b"5 5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_trailing_space", chunked(b"5 \r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_empty", chunked(b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_not_hex", chunked(b"g\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_bare_lf", chunked(b"5\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_bare_cr", chunked(b"5\rhello\r\n0\r\n\r\n"), 400),
    ("chunk_junk_after_data", chunked(b"5\r\nhelloXX\r\n0\r\n\r\n"), 400),
    ("chunk_data_then_bare_lf", chunked(b"5\r\nhello\n0\r\n\r\n"), 400),
    ("chunk_data_too_short", chunked(b"6\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_last_bare_lf", chunked(b"5\r\nhello\r\n0\n\n"), 400),
    ("chunk_ext_nul", chunked(b"5;a\x00b\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_ext_bare_cr", chunked(b"5;a\rb\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_ext_too_long", chunked(b"5;" + b"a" * 2048 + b"\r\nhello\r\n0\r\n\r\n"), 400),
    # --- trailers ---
    ("trailer_content_length", chunked(b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"), 400),
    ("trailer_transfer_encoding",
     chunked(b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400),
    ("trailer_host", chunked(b"5\r\nhello\r\n0\r\nHost: evil.example\r\n\r\n"), 400),
    ("trailer_obs_fold", chunked(b"0\r\nX-A: a\r\n b\r\n\r\n"), 400),
    ("trailer_bare_lf", chunked(b"0\r\nX-A: a\n\r\n"), 400),
    ("trailer_space_before_colon", chunked(b"0\r\nX-A : a\r\n\r\n"), 400),
    # --- field syntax ---
    ("obs_fold_space", get(HOST, b"X-A: a", b" b"), 400),
    ("obs_fold_tab", get(HOST, b"X-A: a", b"\tb"), 400),
    ("whitespace_before_first_field", get(b" Host: example.com"), 400),
    ("tab_before_first_field", get(b"\tX-A: a", HOST), 400),
    ("bare_cr_in_value", get(HOST, b"X-A: a\rb"), 400),
    ("bare_cr_before_crlf", get(HOST, b"X-A: a\r"), 400),
    ("bare_cr_in_name", get(HOST, b"X-\rA: a"), 400),
    ("bare_lf_after_field", b"GET / HTTP/1.1\r\nHost: example.com\nX-A: a\r\n\r\n", 400),
    ("bare_lf_end_of_head", b"GET / HTTP/1.1\r\nHost: example.com\r\n\n", 400),
    ("bare_lf_everywhere", b"GET / HTTP/1.1\nHost: example.com\n\n", 400),
    ("nul_in_name", get(HOST, b"X-\x00A: a"), 400),
    ("nul_in_value", get(HOST, b"X-A: a\x00b"), 400),
    ("ctl_soh_in_value", get(HOST, b"X-A: a\x01b"), 400),
    ("del_in_value", get(HOST, b"X-A: a\x7fb"), 400),
    ("vtab_in_value", get(HOST, b"X-A: a\x0bb"), 400),
    ("formfeed_in_value", get(HOST, b"X-A: a\x0cb"), 400),
    ("escape_in_value", get(HOST, b"X-A: \x1b[31m"), 400),
    ("space_before_colon", get(b"Host : example.com"), 400),
    ("tab_before_colon", get(HOST, b"X-A\t: a"), 400),
    ("empty_field_name", get(HOST, b": a"), 400),
    ("field_without_colon", get(HOST, b"X-A a"), 400),
    ("space_in_field_name", get(HOST, b"X A: a"), 400),
    ("paren_in_field_name", get(HOST, b"X(A): a"), 400),
    ("non_ascii_field_name", get(HOST, b"X-\xc3\xa9: a"), 400),
    # --- Host ---
    ("missing_host", get(), 400),
    ("two_hosts_different", get(HOST, b"Host: evil.example"), 400),
    ("two_hosts_identical", get(HOST, HOST), 400),
    ("host_with_space", get(b"Host: exa mple.com"), 400),
    ("absolute_form_without_host", get(line=b"GET http://example.com/ HTTP/1.1"), 400),
    # --- request line ---
    ("double_space_after_method", get(HOST, line=b"GET  / HTTP/1.1"), 400),
    ("double_space_before_version", get(HOST, line=b"GET /  HTTP/1.1"), 400),
    ("lowercase_version", get(HOST, line=b"GET / http/1.1"), 400),
    ("version_1_10", get(HOST, line=b"GET / HTTP/1.10"), 400),
    ("version_trailing_junk", get(HOST, line=b"GET / HTTP/1.1x"), 400),
    ("missing_version", get(HOST, line=b"GET /"), 400),
    ("http09_request", b"GET /\r\n", 400),
    ("leading_space_request_line", get(HOST, line=b" GET / HTTP/1.1"), 400),
    ("trailing_space_request_line", get(HOST, line=b"GET / HTTP/1.1 "), 400),
    ("tabs_in_request_line", get(HOST, line=b"GET\t/\tHTTP/1.1"), 400),
    ("space_in_target", get(HOST, line=b"GET /a b HTTP/1.1"), 400),
    ("fragment_in_target", get(HOST, line=b"GET /a#b HTTP/1.1"), 400),
    ("nul_in_target", get(HOST, line=b"GET /a\x00b HTTP/1.1"), 400),
    ("ctl_in_target", get(HOST, line=b"GET /a\x01b HTTP/1.1"), 400),
    ("non_ascii_in_target", get(HOST, line=b"GET /caf\xc3\xa9 HTTP/1.1"), 400),
    ("bare_cr_in_request_line", get(HOST, line=b"GET /\r HTTP/1.1"), 400),
    ("non_token_method", get(HOST, line=b"G(T / HTTP/1.1"), 400),
    ("version_2_0", get(HOST, line=b"GET / HTTP/2.0"), 505),
    ("version_3_0", get(HOST, line=b"GET / HTTP/3.0"), 505),
    ("version_0_9", get(HOST, line=b"GET / HTTP/0.9"), 505),
    # --- sizes (default limits) ---
    ("uri_too_long", get(HOST, line=b"GET /" + b"a" * 8192 + b" HTTP/1.1"), 414),
    ("field_value_too_large", get(HOST, b"X-A: " + b"a" * (8 * 1024 + 1)), 431),
    ("too_many_fields", get(HOST, *[b"X-%d: a" % i for i in range(100)]), 431),
]

# (name, raw request, expected target, expected body, expected trailers)
ACCEPT: list[tuple[str, bytes, bytes, bytes, list[tuple[bytes, bytes]]]] = [
    ("te_tab_before_value", post(b"Transfer-Encoding:\tchunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
     b"/", b"hello", []),
    ("te_two_spaces_before_value",
     post(b"Transfer-Encoding:  chunked", body=b"5\r\nhello\r\n0\r\n\r\n"), b"/", b"hello", []),
    ("te_trailing_ows", post(b"Transfer-Encoding: chunked \t", body=b"5\r\nhello\r\n0\r\n\r\n"),
     b"/", b"hello", []),
    ("te_mixed_case_value", post(b"Transfer-Encoding: Chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
     b"/", b"hello", []),
    ("te_upper_case_name_and_value",
     post(b"TRANSFER-ENCODING: CHUNKED", body=b"5\r\nhello\r\n0\r\n\r\n"), b"/", b"hello", []),
    ("te_underscore_name_is_not_te",
     post(b"Transfer_Encoding: chunked", b"Content-Length: 0"), b"/", b"", []),
    ("cl_identical_lines", post(b"Content-Length: 5", b"Content-Length: 5", body=b"hello"),
     b"/", b"hello", []),
    ("cl_identical_list", post(b"Content-Length: 5, 5", body=b"hello"), b"/", b"hello", []),
    ("cl_leading_zeros", post(b"Content-Length: 005", body=b"hello"), b"/", b"hello", []),
    ("cl_many_leading_zeros", post(b"Content-Length: " + b"0" * 30 + b"5", body=b"hello"),
     b"/", b"hello", []),
    ("chunk_size_many_leading_zeros", chunked(b"0" * 30 + b"5\r\nhello\r\n0\r\n\r\n"),
     b"/", b"hello", []),
    ("cl_ows_around", post(b"Content-Length: \t5 ", body=b"hello"), b"/", b"hello", []),
    ("chunk_upper_hex", chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), b"/", b"0123456789", []),
    ("chunk_leading_zero", chunked(b"05\r\nhello\r\n000\r\n\r\n"), b"/", b"hello", []),
    ("chunk_ext_within_bounds", chunked(b'5;name=value;q="a b"\r\nhello\r\n0;last\r\n\r\n'),
     b"/", b"hello", []),
    ("chunk_ext_bws", chunked(b"5 ; a = b\r\nhello\r\n0\r\n\r\n"), b"/", b"hello", []),
    ("trailer_ordinary_field", chunked(b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"),
     b"/", b"hello", [(b"X-Checksum", b"abc")]),
    ("htab_inside_value", get(HOST, b"X-A: a\tb"), b"/", b"", []),
    ("obs_text_in_value", get(HOST, b"X-A: caf\xe9"), b"/", b"", []),
    ("empty_value", get(HOST, b"X-A:"), b"/", b"", []),
    ("all_tchars_name", get(HOST, b"!#$%&'*+-.^_`|~09AZaz: x"), b"/", b"", []),
    ("leading_empty_line", b"\r\n" + get(HOST), b"/", b"", []),
    ("absolute_form_host_mismatch", get(b"Host: other.example",
                                        line=b"GET http://example.com/x HTTP/1.1"),
     b"http://example.com/x", b"", []),
    ("http10_without_host", get(line=b"GET /old HTTP/1.0"), b"/old", b"", []),
    ("query_with_reserved_chars", get(HOST, line=b"GET /a?b=c&d=%20;e:f@g!$'()*+,~ HTTP/1.1"),
     b"/a?b=c&d=%20;e:f@g!$'()*+,~", b"", []),
    ("asterisk_form_options", get(HOST, line=b"OPTIONS * HTTP/1.1"), b"*", b"", []),
    ("authority_form_connect", get(b"Host: example.com:443",
                                   line=b"CONNECT example.com:443 HTTP/1.1"),
     b"example.com:443", b"", []),
]


def server() -> Connection:
    return Connection(Role.SERVER, config=HTTP1Config(limits=HTTP1Limits()))


def poll(conn: Connection) -> list[object]:
    """Drain for split_feed: surfaces an error held back behind earlier events."""
    return list(conn.receive_data(b""))


def assert_fresh_connection_unaffected() -> None:
    conn = server()
    events = conn.receive_data(VALID)
    assert len(events) == 2
    assert isinstance(events[0], Request)
    assert events[0].method == b"GET"
    assert events[0].target == b"/ok"
    assert events[0].headers.get("host") == "example.com"
    assert events[1] == EndOfMessage()
    assert conn.their_state is ConnectionState.DONE


def test_corpus_is_big_and_names_are_unique() -> None:
    assert len(REFUSE) >= 60
    names = [v[0] for v in REFUSE] + [v[0] for v in ACCEPT]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("name", "raw", "status"), REFUSE, ids=[v[0] for v in REFUSE])
def test_vector_refused(name: str, raw: bytes, status: int) -> None:
    conn = server()
    with pytest.raises(RemoteProtocolError) as info:
        # every vector is complete: the bytes alone must be refused, no EOF needed.
        # An error found after some events is raised by the next call (b"" will do).
        conn.receive_data(raw)
        conn.receive_data(b"")
    assert info.value.http_status == status, f"{name}: {info.value!r}"
    assert conn.their_state is ConnectionState.ERROR
    # a broken connection stays broken
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(VALID)
    assert_fresh_connection_unaffected()


@pytest.mark.parametrize(("name", "raw", "status"), REFUSE, ids=[v[0] for v in REFUSE])
def test_vector_refused_however_split(name: str, raw: bytes, status: int) -> None:
    result = split_feed(server, raw, drain=poll, data_type=Data, seed=len(raw))
    assert result.error is not None, f"{name} accepted: {result.events}"
    err_type, limit, got = result.error
    assert issubclass(err_type, RemoteProtocolError)
    assert got == status
    if issubclass(err_type, LimitExceeded):
        assert limit is not None
    # nothing but (at most) the head got through: no body data was accepted
    assert not any(isinstance(ev, EndOfMessage) for ev in result.events)
    assert_fresh_connection_unaffected()


@pytest.mark.parametrize(
    ("name", "raw", "target", "body", "trailers"), ACCEPT, ids=[v[0] for v in ACCEPT]
)
def test_near_miss_accepted(
    name: str, raw: bytes, target: bytes, body: bytes, trailers: list[tuple[bytes, bytes]]
) -> None:
    result = split_feed(server, raw, drain=poll, data_type=Data, seed=len(raw))
    assert result.error is None, f"{name} refused: {result.error}"
    events = list(result.events)
    assert isinstance(events[0], Request)
    assert events[0].target == target
    expected_tail: list[object] = [Data(data=body)] if body else []
    expected_tail.append(EndOfMessage(trailers=Headers(trailers)))
    assert events[1:] == expected_tail


def test_near_miss_values_are_stripped_and_kept() -> None:
    conn = server()
    events = conn.receive_data(get(HOST, b"X-A:  \ta\tb \t", b"X-B: caf\xe9"))
    req = events[0]
    assert isinstance(req, Request)
    assert req.headers.get_raw("x-a") == b"a\tb"
    assert req.headers.get_raw("x-b") == b"caf\xe9"


def test_identical_content_lengths_frame_the_body_once() -> None:
    # the second request must start exactly after 5 body bytes
    conn = server()
    raw = post(b"Content-Length: 5", b"Content-Length: 5", body=b"hello") + VALID
    events = conn.receive_data(raw)
    assert events[1:] == [Data(data=b"hello"), EndOfMessage()]


def test_smuggled_prefix_never_becomes_a_request() -> None:
    # CL.TE: if we framed by CL the "G" would prefix the next request
    conn = server()
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(
            post(b"Content-Length: 6", b"Transfer-Encoding: chunked", body=b"0\r\n\r\nG")
            + VALID
        )
    assert conn.their_state is ConnectionState.ERROR


# --- client role: responses a client must refuse ----------------------------

RESPONSES_REFUSED: list[tuple[str, bytes]] = [
    ("resp_cl_and_te", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("resp_two_cls", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("resp_cl_plus", b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello"),
    ("resp_chunk_size_0x", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("resp_obs_fold", b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    ("resp_nul_in_value", b"HTTP/1.1 200 OK\r\nX-A: a\x00\r\nContent-Length: 0\r\n\r\n"),
    ("resp_bare_cr", b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n"),
    ("resp_status_two_digits", b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
    ("resp_status_four_digits", b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
    ("resp_status_not_digits", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"),
    ("resp_lowercase_version", b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ("resp_space_before_colon", b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
]


def client_after_get() -> Connection:
    conn = Connection(Role.CLIENT, config=HTTP1Config(limits=HTTP1Limits()))
    conn.send(Request(method=b"GET", target=b"/", headers=Headers([("Host", "example.com")])))
    conn.send(EndOfMessage())
    conn.data_to_send()
    return conn


@pytest.mark.parametrize(
    ("name", "raw"), RESPONSES_REFUSED, ids=[v[0] for v in RESPONSES_REFUSED]
)
def test_client_refuses_response(name: str, raw: bytes) -> None:
    result = split_feed(client_after_get, raw, drain=poll, data_type=Data, eof=True,
                        seed=len(raw))
    assert result.error is not None, f"{name} accepted: {result.events}"
    assert issubclass(result.error[0], RemoteProtocolError)
    assert not any(isinstance(ev, EndOfMessage) for ev in result.events)
