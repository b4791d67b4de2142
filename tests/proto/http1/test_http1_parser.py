"""Head parsing: the fast and slow paths agree, every bound is exact, every rule has a status."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http1 import Connection, HTTP1Config, LenientRules, Request, Response
from sockit.proto.http1.parser import HeadParser, check_target
from tests.support.feeding import split_feed

LIMITS = HTTP1Limits()
PARSER = HeadParser(LIMITS)


def server(**limits: int) -> Connection:
    return Connection(Role.SERVER, HTTP1Config(limits=HTTP1Limits(**limits)))


def refused(data: bytes, **limits: int) -> RemoteProtocolError:
    conn = server(**limits)
    with pytest.raises(RemoteProtocolError) as info:
        conn.receive_data(data)
    return info.value


def request(*fields: bytes, line: bytes = b"GET / HTTP/1.1") -> bytes:
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"


HOST = b"Host: example.com"


# -- fast path == slow path -----------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
names = st.text(TCHAR, min_size=1, max_size=12).map(str.encode)
value_bytes = st.binary(max_size=20).map(
    lambda b: bytes(x for x in b if x == 9 or 0x20 <= x != 0x7F).strip(b" \t")
)
ows = st.sampled_from([b"", b" ", b"\t", b"  "])


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    fields = [HOST]
    for _ in range(draw(st.integers(0, 6))):
        fields.append(draw(names) + b":" + draw(ows) + draw(value_bytes) + draw(ows))
    target = draw(st.sampled_from([b"/", b"/a?b=c", b"*", b"http://h/x", b"h:1"]))
    method = draw(st.sampled_from([b"GET", b"OPTIONS", b"CONNECT", b"X-Y"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]))
    return request(*fields, line=method + b" " + target + b" " + version)


def outcome(fn: object, head: bytes) -> object:
    try:
        return fn(head)  # type: ignore[operator]
    except RemoteProtocolError as exc:
        return (type(exc), exc.http_status, getattr(exc, "limit", None), str(exc))


@given(heads())
def test_fast_and_slow_paths_agree_on_valid_heads(head: bytes) -> None:
    assert outcome(PARSER.parse_request, head) == outcome(PARSER._slow_request, head)


@given(heads(), st.integers(0, 10_000), st.binary(min_size=1, max_size=3))
def test_fast_and_slow_paths_agree_on_mutated_heads(head: bytes, at: int, junk: bytes) -> None:
    at %= len(head) - 3  # keep the final empty line
    mutated = head[:at] + junk + head[at:]
    if b"\n\n" in mutated[:-2] or b"\n\r\n" in mutated[:-3]:
        return  # the head would end earlier: not a complete head any more
    assert outcome(PARSER.parse_request, mutated) == outcome(PARSER._slow_request, mutated)


@pytest.mark.parametrize(
    "head",
    [
        request(HOST),
        request(HOST, b"X: a  "),
        request(HOST, b"X:"),
        request(HOST, b"X:   "),
        request(HOST, b"X: \tv\t "),
        request(HOST, b"X: caf\xc3\xa9"),
        request(line=b"GET / HTTP/1.0"),
    ],
)
def test_fast_path_result_equals_slow_path(head: bytes) -> None:
    assert PARSER.parse_request(head) == PARSER._slow_request(head)


def test_values_are_stripped_of_ows() -> None:
    _, _, _, fields = PARSER.parse_request(request(HOST, b"X: \t a b \t", b"Y:"))
    assert fields == [(b"Host", b"example.com"), (b"X", b"a b"), (b"Y", b"")]


def test_response_paths_agree() -> None:
    for head in [
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 404 \r\n\r\n",
        b"HTTP/1.0 599 Odd reason \t\r\nX: y \r\n\r\n",
    ]:
        assert PARSER.parse_response(head) == PARSER._slow_response(head)


# -- bounds: exact at N, refused at N + 1 ---------------------------------------


def test_header_name_bound() -> None:
    ok = request(HOST, b"N" * 256 + b": v")
    assert isinstance(server().receive_data(ok)[0], Request)
    err = refused(request(HOST, b"N" * 257 + b": v"))
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_header_name_size", 431)


def test_header_value_bound_applies_to_the_stripped_value() -> None:
    conn = server(max_header_value_size=20)
    assert conn.receive_data(request(HOST, b"X:   " + b"v" * 20 + b"   "))[0]
    err = refused(request(HOST, b"X: " + b"v" * 21), max_header_value_size=20)
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_header_value_size", 431)


def test_header_count_bound() -> None:
    fields = [HOST] + [b"X-%d: v" % i for i in range(9)]
    assert server(max_header_count=10).receive_data(request(*fields))[0]
    err = refused(request(*fields, b"X-last: v"), max_header_count=10)
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_header_count", 431)


def test_header_block_bound_complete_and_incomplete() -> None:
    head = request(HOST, b"X: " + b"v" * 40)
    size = len(head)
    assert server(max_header_block_size=size, max_header_name_size=16).receive_data(head)[0]
    # complete and one byte over; incomplete and one byte over
    for data, bound in ((head, size - 1), (head[:-1], size - 2)):
        err = refused(data, max_header_block_size=bound, max_header_name_size=16)
        assert isinstance(err, LimitExceeded)
        assert (err.limit, err.http_status) == ("max_header_block_size", 431)
    # exactly the bound, incomplete: not refused yet
    conn = server(max_header_block_size=size - 1, max_header_name_size=16)
    assert conn.receive_data(head[: size - 1]) == []


def test_request_line_and_uri_bounds() -> None:
    target = b"/" + b"a" * 99
    line = b"GET " + target + b" HTTP/1.1"
    assert server(max_uri_size=100).receive_data(request(HOST, line=line))[0]
    n = len(line)
    err = refused(request(HOST, line=line.replace(b"/", b"/a", 1)), max_uri_size=100)
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_uri_size", 414)
    assert server(max_request_line_size=n, max_uri_size=100).receive_data(request(HOST, line=line))
    err = refused(request(HOST, line=line), max_request_line_size=n - 1, max_uri_size=100)
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_request_line_size", 414)


def test_method_bound_is_501() -> None:
    assert server().receive_data(request(HOST, line=b"M" * 16 + b" / HTTP/1.1"))[0]
    err = refused(request(HOST, line=b"M" * 17 + b" / HTTP/1.1"))
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_method_size", 501)


def test_status_line_bound() -> None:
    line = b"HTTP/1.1 200 " + b"r" * 50
    limits = HTTP1Limits(max_status_line_size=len(line))
    client = Connection(Role.CLIENT, HTTP1Config(limits=limits))
    client.send(Request(b"GET", b"/", [(b"Host", b"a")]))  # type: ignore[arg-type]
    assert isinstance(client.receive_data(line + b"\r\n\r\n")[0], Response)
    limits = HTTP1Limits(max_status_line_size=len(line) - 1)
    client = Connection(Role.CLIENT, HTTP1Config(limits=limits))
    client.send(Request(b"GET", b"/", [(b"Host", b"a")]))  # type: ignore[arg-type]
    with pytest.raises(LimitExceeded) as info:
        client.receive_data(line + b"\r\n\r\n")
    assert info.value.limit == "max_status_line_size"


@pytest.mark.parametrize("size", [1, 100, 8 * 1024])
def test_limits_are_split_proof(size: int) -> None:
    data = request(HOST, b"X: " + b"v" * size)
    for bound in (max(len(data) - 1, 64), max(len(data), 64)):
        limits = HTTP1Limits(max_header_block_size=bound, max_header_name_size=16)
        config = HTTP1Config(limits)
        result = split_feed(lambda config=config: Connection(Role.SERVER, config), data)
        assert (result.error is None) == (bound >= len(data))


# -- the start line is validated as soon as its LF arrives ------------------------


def outcome_both_ways(data: bytes, **limits: int) -> tuple[object, ...]:
    """The error of ``data`` fed whole and however split (they must agree)."""
    make = lambda: server(**limits)  # noqa: E731
    result = split_feed(make, data)
    assert result.error is not None, result
    assert result.events == ()
    return result.error


def test_http09_request_line_is_refused_at_once() -> None:
    # no empty line will ever come: the request line alone decides
    err = refused(b"GET /\r\n")
    assert type(err) is RemoteProtocolError
    assert err.http_status == 400
    assert outcome_both_ways(b"GET /\r\n") == (RemoteProtocolError, None, 400)
    # the same line followed by the head's end gives the same answer
    assert outcome_both_ways(b"GET /\r\n\r\n") == (RemoteProtocolError, None, 400)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"GET / HTTP/9.9", (RemoteProtocolError, None, 505)),
        (b"GET / HTTP/1.1 x", (RemoteProtocolError, None, 400)),
        (b"M" * 17 + b" / HTTP/1.1", (LimitExceeded, "max_method_size", 501)),
    ],
)
def test_start_line_is_checked_before_the_block_bound(line: bytes, expected: tuple) -> None:
    huge = request(HOST, b"X: " + b"v" * 400, line=line)
    limits = {"max_header_block_size": 128, "max_header_name_size": 16}
    # complete and incomplete: the bad line wins over the 431 either way
    for data in (huge, huge[:-2], huge[: len(line) + 2 + 200]):
        err = refused(data, **limits)
        assert getattr(err, "limit", None) != "max_header_block_size"
        assert err.http_status == expected[2]
        assert outcome_both_ways(data, **limits) == expected


def test_valid_start_line_then_the_block_bound() -> None:
    huge = request(HOST, b"X: " + b"v" * 400)
    limits = {"max_header_block_size": 128, "max_header_name_size": 16}
    for data in (huge, huge[:-2]):
        assert outcome_both_ways(data, **limits) == (LimitExceeded, "max_header_block_size", 431)


def test_incomplete_overlong_request_line_is_414() -> None:
    data = b"GET /" + b"a" * 200  # no LF yet, and already too long
    limits = {"max_request_line_size": 100, "max_uri_size": 100}
    err = refused(data, **limits)
    assert isinstance(err, LimitExceeded)
    assert (err.limit, err.http_status) == ("max_request_line_size", 414)
    assert outcome_both_ways(data, **limits) == (LimitExceeded, "max_request_line_size", 414)
    # a complete overlong line gives the same answer
    whole = request(HOST, line=data + b" HTTP/1.1")
    assert outcome_both_ways(whole, **limits) == (LimitExceeded, "max_request_line_size", 414)
    # exactly the bound plus its CR, still incomplete: not decided yet
    assert server(**limits).receive_data(b"GET /" + b"a" * 95 + b"\r") == []


def test_request_line_bound_larger_than_block_bound() -> None:
    # the ordering still decides: the line's own checks come first
    limits = {
        "max_header_block_size": 64,
        "max_header_name_size": 16,
        "max_request_line_size": 1000,
        "max_uri_size": 1000,
    }
    long_line = b"GET /" + b"a" * 200 + b" HTTP/1.1"
    assert server(**limits).receive_data(long_line[:150]) == []  # no 431 yet
    assert outcome_both_ways(long_line[:150] + b"#\r\n", **limits) == (
        RemoteProtocolError,
        None,
        400,
    )
    assert outcome_both_ways(long_line + b"\r\n", **limits) == (
        LimitExceeded,
        "max_header_block_size",
        431,
    )
    over = b"GET /" + b"a" * 1000
    assert outcome_both_ways(over, **limits) == (LimitExceeded, "max_request_line_size", 414)


def test_status_line_is_refused_at_once() -> None:
    def make() -> Connection:
        return client()

    assert split_feed(make, b"HTTP/1.1 2\r\n").error == (RemoteProtocolError, None, 400)
    limits = HTTP1Limits(max_status_line_size=40)

    def small() -> Connection:
        conn = Connection(Role.CLIENT, HTTP1Config(limits=limits))
        conn.send(Request(b"GET", b"/", [(b"Host", b"a")]))  # type: ignore[arg-type]
        return conn

    error = split_feed(small, b"HTTP/1.1 200 " + b"r" * 60).error
    assert error == (LimitExceeded, "max_status_line_size", 431)


# -- rules and their statuses ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (request(HOST, line=b"GET / HTTP/2.0"), 505),
        (request(HOST, line=b"GET / HTTP/0.9"), 505),
        (request(HOST, line=b"GET / HTTP/1.10"), 400),
        (request(HOST, line=b"GET / http/1.1"), 400),
        (request(HOST, line=b"GET  / HTTP/1.1"), 400),
        (request(HOST, line=b"GET /"), 400),
        (request(HOST, line=b" GET / HTTP/1.1"), 400),
        (request(HOST, line=b"GET / HTTP/1.1 "), 400),
        (request(HOST, line=b"GET /a#b HTTP/1.1"), 400),
        (request(HOST, line=b"GET /\x7f HTTP/1.1"), 400),
        (request(HOST, line=b"GET /\xff HTTP/1.1"), 400),
        (request(HOST, line=b"G(T / HTTP/1.1"), 400),
        (request(HOST, line=b"GET * HTTP/1.1"), 400),
        (request(HOST, line=b"CONNECT / HTTP/1.1"), 400),
        (request(HOST, line=b"GET a.com:80 HTTP/1.1"), 400),
        (request(HOST, line=b"GET http://user@h/ HTTP/1.1"), 400),
        (request(HOST, line=b"GET http:///x HTTP/1.1"), 400),
        (request(HOST, b"X : y"), 400),
        (request(HOST, b"X\t: y"), 400),
        (request(b" X: y", HOST), 400),
        (request(HOST, b"X: y", b" folded"), 400),
        (request(HOST, b"X: y", b"\tfolded"), 400),
        (request(HOST, b"X: a\rb"), 400),
        (request(HOST, b"X: a\x00b"), 400),
        (request(HOST, b"X: a\x1fb"), 400),
        (request(HOST, b"X: a\x7fb"), 400),
        (request(HOST, b"X\x00: y"), 400),
        (request(HOST, b": y"), 400),
        (request(HOST, b"no colon"), 400),
        (request(HOST, b"X\xe9: y"), 400),
        (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
        (request(), 400),
        (request(HOST, HOST), 400),
        (request(b"Host: a b"), 400),
        (request(b"Host: a/b"), 400),
        (request(b"Host: [::1"), 400),
        (b"\r\n" * 9 + request(HOST), 400),
    ],
)
def test_refusals(data: bytes, status: int) -> None:
    assert refused(data).http_status == status
    result = split_feed(lambda: Connection(Role.SERVER), data)
    assert result.error is not None
    assert result.error[2] == status
    assert result.events == ()  # a refused head never yields an event


@pytest.mark.parametrize(
    "data",
    [
        request(HOST, line=b"OPTIONS * HTTP/1.1"),
        request(HOST, line=b"CONNECT a.example:443 HTTP/1.1"),
        request(HOST, line=b"CONNECT [::1]:443 HTTP/1.1"),
        request(HOST, line=b"GET http://a/b?c HTTP/1.1"),
        request(HOST, line=b"GET /a/b?c=d&e=%20|{} HTTP/1.1"),
        request(line=b"GET / HTTP/1.0"),
        request(b"Host:"),
        request(b"Host: [::1]:8080"),
        request(b"Host: 127.0.0.1"),
        request(HOST, b"X: obs-text \x80\xff"),
        request(HOST, b"X: a\tb"),
        b"\r\n\r\n" + request(HOST),
    ],
)
def test_accepted(data: bytes) -> None:
    events = server().receive_data(data)
    assert isinstance(events[0], Request)


def test_absolute_form_keeps_the_target() -> None:
    event = server().receive_data(request(HOST, line=b"GET http://a:8/x?y HTTP/1.1"))[0]
    assert isinstance(event, Request)
    assert event.target == b"http://a:8/x?y"


def test_check_target_direct() -> None:
    check_target(b"GET", b"/x")
    check_target(b"OPTIONS", b"*")
    check_target(b"GET", b"ws://h/chat")
    with pytest.raises(RemoteProtocolError):
        check_target(b"GET", b"?q")


# -- lenient client rules ----------------------------------------------------------


def client(lenient: LenientRules | None = None, **config: object) -> Connection:
    conn = Connection(Role.CLIENT, HTTP1Config(lenient=lenient, **config))  # type: ignore[arg-type]
    conn.send(Request(b"GET", b"/", [(b"Host", b"a")]))  # type: ignore[arg-type]
    return conn


def test_lenient_rules_are_refused_by_servers() -> None:
    with pytest.raises(ValueError, match="client"):
        Connection(Role.SERVER, HTTP1Config(lenient=LenientRules()))


@pytest.mark.parametrize(
    ("head", "rules", "field"),
    [
        (b"HTTP/1.1 200 OK\nX: y\n\n", LenientRules(allow_bare_lf=True), (b"X", b"y")),
        (
            b"HTTP/1.1 200 OK\r\nX: a\r\n  b\r\n\r\n",
            LenientRules(allow_obs_fold=True),
            (b"X", b"a b"),
        ),
        (
            b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
            LenientRules(allow_space_before_colon=True),
            (b"X", b"y"),
        ),
        (b"HTTP/1.1 200\r\nX: y\r\n\r\n", LenientRules(allow_missing_reason=True), (b"X", b"y")),
    ],
)
def test_lenient_rules(head: bytes, rules: LenientRules, field: tuple[bytes, bytes]) -> None:
    with pytest.raises(RemoteProtocolError):
        client().receive_data(head + b"0")
    event = client(rules).receive_data(head)[0]
    assert isinstance(event, Response)
    assert event.headers.raw_items()[-1] == field


def test_bare_lf_in_responses_by_config() -> None:
    event = client(allow_bare_lf_in_responses=True).receive_data(
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n"
    )[0]
    assert isinstance(event, Response)
    assert event.status_code == 200


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 99 Low\r\n\r\n",
        b"HTTP/1.1 600 High\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 20x OK\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 200 O\x00K\r\n\r\n",
        b"HTTP/3 200 OK\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
    ],
)
def test_bad_status_lines(head: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        client().receive_data(head)


def test_common_heads_take_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: HeadParser, head: bytes) -> None:
        raise AssertionError("slow path used")

    monkeypatch.setattr(HeadParser, "_slow_request", boom)
    monkeypatch.setattr(HeadParser, "_slow_response", boom)
    parser = HeadParser(LIMITS)
    head = request(
        HOST,
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0",
        b"Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
        b"Cookie: a=b; c=d",
        b"X-Empty:",
        line=b"GET /api/v1/items?x=1&y=%20 HTTP/1.1",
    )
    assert len(parser.parse_request(head)[3]) == 5
    assert parser.parse_request(request(line=b"GET / HTTP/1.0"))[3] == []
    assert parser.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")[1] == 200


# -- the in-place fast path -----------------------------------------------------------


@given(heads(), st.binary(max_size=8), st.binary(max_size=8), st.booleans())
def test_fast_request_in_place_agrees_with_parse_request(
    head: bytes, before: bytes, after: bytes, as_bytearray: bool
) -> None:
    data: bytes | bytearray = before + head + after
    if as_bytearray:
        data = bytearray(data)
    parsed = PARSER.fast_request(data, len(before), len(before) + len(head))
    if parsed is not None:
        assert parsed == PARSER.parse_request(head)
        assert all(type(part) is bytes for part in parsed[:3])
        assert all(type(n) is bytes and type(v) is bytes for n, v in parsed[3])


@given(heads(), st.integers(0, 10_000), st.binary(min_size=1, max_size=3))
def test_fast_request_never_accepts_what_parse_request_refuses(
    head: bytes, at: int, junk: bytes
) -> None:
    at %= len(head) - 3
    mutated = head[:at] + junk + head[at:]
    if not mutated.endswith(b"\r\n\r\n"):
        return
    parsed = PARSER.fast_request(mutated, 0, len(mutated))
    if parsed is not None:
        assert outcome(PARSER.parse_request, mutated) == parsed
        # and it really is one head: no earlier end
        assert mutated.find(b"\n\n") < 0 and mutated.find(b"\n\r\n") == len(mutated) - 3


def test_fast_request_leaves_unusual_targets_to_the_general_way() -> None:
    for line in (b"OPTIONS * HTTP/1.1", b"GET http://a/ HTTP/1.1", b"CONNECT a:1 HTTP/1.1"):
        head = request(HOST, line=line)
        assert PARSER.fast_request(head, 0, len(head)) is None
        assert PARSER.parse_request(head)[0] == line.split(b" ")[0]


def test_fast_response_in_place() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    data = b"xx" + head + b"yy"
    assert PARSER.fast_response(data, 2, 2 + len(head)) == PARSER.parse_response(head)
    assert PARSER.fast_response(b"HTTP/1.1 200 OK\nX: y\r\n\r\n", 0, 23) is None
