"""Differential test: sockit and h11 read the same valid HTTP/1.1 messages alike.

The messages are generated here as raw bytes (not by either library's
serializer), with the liberties RFC 9112 allows a sender: any field-name case,
optional whitespace around values, leading zeros and either case in chunk
sizes, chunk extensions, trailers, 1xx responses. h11 lowercases field names,
so names are compared lowercased; values, bodies and trailers must be equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h11
from hypothesis import given
from hypothesis import strategies as st

from sockit.limits import HTTP1Limits
from sockit.proto.events import Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    Data,
    EndOfMessage,
    HTTP1Config,
    InformationalResponse,
    Request,
    Response,
)

TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
PCHARS = "abcxyzABC0189-._~!$&'()*+,;=:@/?"
RESERVED = {
    b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"expect",
    b"te", b"trailer", b"keep-alive", b"proxy-connection",
}
VALUE_CHARS = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))


@dataclass
class Summary:
    """What a parser made of one message, in comparable form."""

    head: tuple[object, ...] = ()
    informational: list[tuple[object, ...]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    ended: bool = False


def normal(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """Lowercased name; h11 also lowercases Transfer-Encoding values, so do we here."""
    name = name.lower()
    return name, value.lower() if name == b"transfer-encoding" else value


def pairs(items: object) -> list[tuple[bytes, bytes]]:
    return [normal(bytes(n), bytes(v)) for n, v in items]  # type: ignore[attr-defined]


# --- generation -------------------------------------------------------------------

tokens = st.text(alphabet=TCHARS, min_size=1, max_size=10).map(str.encode)
names = tokens.filter(lambda n: n.lower() not in RESERVED)
value_words = st.binary(min_size=1, max_size=8).map(
    lambda b: bytes(VALUE_CHARS[x % len(VALUE_CHARS)] for x in b)
)
values = st.lists(value_words, max_size=3).flatmap(
    lambda words: st.sampled_from([b" ", b"\t", b" \t "]).map(lambda sep: sep.join(words))
)
ows = st.sampled_from([b"", b" ", b"\t", b"  ", b" \t"])


@st.composite
def field_lines(draw: st.DrawFn, name_strategy: st.SearchStrategy[bytes] = names,
                max_size: int = 6) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Wire field lines and the (lowercased name, value) pairs they mean."""
    wire = b""
    meaning = []
    for name, value in draw(st.lists(st.tuples(name_strategy, values), max_size=max_size)):
        wire += name + b":" + draw(ows) + value + draw(ows) + b"\r\n"
        meaning.append((name.lower(), value))
    return wire, meaning


def case_variant(draw: st.DrawFn, word: bytes) -> bytes:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    both = zip(word, flips, strict=True)
    return bytes(c ^ 0x20 if f and chr(c).isalpha() else c for c, f in both)


@st.composite
def chunked_body(draw: st.DrawFn) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """Wire chunked body, the payload it carries, and its trailers."""
    wire = b""
    payload = b""
    for piece in draw(st.lists(st.binary(min_size=1, max_size=40), max_size=4)):
        size = format(len(piece), "x").encode()
        size = b"0" * draw(st.integers(0, 3)) + case_variant(draw, size)
        ext = draw(st.sampled_from([b"", b";a", b";name=value", b';q="x y"', b";a=1;b"]))
        wire += size + ext + b"\r\n" + piece + b"\r\n"
        payload += piece
    trailer_wire, trailers = draw(field_lines(tokens.map(lambda t: b"X-T-" + t), 2))
    wire += b"0" + draw(st.sampled_from([b"", b";end"])) + b"\r\n" + trailer_wire + b"\r\n"
    return wire, payload, trailers


Pairs = list[tuple[bytes, bytes]]


@st.composite
def framed_body(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, Pairs, Pairs]:
    """(framing field lines, body wire, payload, framing pairs, trailers)."""
    kind = draw(st.sampled_from(["none", "length", "chunked"]))
    if kind == "none":
        return b"", b"", b"", [], []
    if kind == "length":
        payload = draw(st.binary(max_size=80))
        name = case_variant(draw, b"content-length")
        value = str(len(payload)).encode()
        line = name + b":" + draw(ows) + value + draw(ows) + b"\r\n"
        return line, payload, payload, [(b"content-length", value)], []
    name = case_variant(draw, b"transfer-encoding")
    value = case_variant(draw, b"chunked")
    line = name + b":" + draw(ows) + value + draw(ows) + b"\r\n"
    wire, payload, trailers = draw(chunked_body())
    return line, wire, payload, [(b"transfer-encoding", b"chunked")], trailers


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, Summary]:
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"OPTIONS"])
                  | tokens.filter(lambda m: m not in (b"HEAD", b"CONNECT")))
    target = b"/" + draw(st.text(alphabet=PCHARS, max_size=30)).encode()
    version = draw(st.sampled_from([b"1.1", b"1.1", b"1.0"]))
    before, fields_before = draw(field_lines())
    after, fields_after = draw(field_lines())
    framing, body, payload, framing_pairs, trailers = draw(framed_body())
    if version == b"1.0" and framing_pairs and framing_pairs[0][0] == b"transfer-encoding":
        framing, body, payload, framing_pairs, trailers = b"", b"", b"", [], []
    host_line, host_pairs = b"", []
    if version == b"1.1" or draw(st.booleans()):
        host_name = case_variant(draw, b"host")
        host_line = host_name + b": example.com:8080\r\n"
        host_pairs = [(b"host", b"example.com:8080")]
    raw = (method + b" " + target + b" HTTP/" + version + b"\r\n" + before + host_line
           + framing + after + b"\r\n" + body)
    headers = fields_before + host_pairs + framing_pairs + fields_after
    expected = Summary(head=(method, target, version, headers), body=payload,
                       trailers=trailers, ended=True)
    return raw, expected


# --- parsing with each library ------------------------------------------------------


def h11_events(conn: h11.Connection, raw: bytes, eof: bool) -> list[object]:
    conn.receive_data(raw)
    if eof:
        conn.receive_data(b"")
    out: list[object] = []
    while True:
        ev = conn.next_event()
        if ev in (h11.NEED_DATA, h11.PAUSED) or isinstance(ev, h11.ConnectionClosed):
            return out
        out.append(ev)


def summarize_h11(events: list[object]) -> Summary:
    s = Summary()
    for ev in events:
        if isinstance(ev, h11.Request):
            s.head = (ev.method, ev.target, ev.http_version, pairs(ev.headers))
        elif isinstance(ev, h11.InformationalResponse):
            s.informational.append((ev.status_code, ev.reason, pairs(ev.headers)))
        elif isinstance(ev, h11.Response):
            s.head = (ev.status_code, ev.reason, ev.http_version, pairs(ev.headers))
        elif isinstance(ev, h11.Data):
            s.body += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            s.trailers = pairs(ev.headers)
            s.ended = True
    return s


def raw_pairs(headers: Headers) -> list[tuple[bytes, bytes]]:
    return [normal(n, v) for n, v in headers.raw_items()]


def summarize_sockit(events: list[object]) -> Summary:
    s = Summary()
    for ev in events:
        if isinstance(ev, Request):
            s.head = (ev.method, ev.target, ev.http_version, raw_pairs(ev.headers))
        elif isinstance(ev, InformationalResponse):
            s.informational.append((ev.status_code, ev.reason, raw_pairs(ev.headers)))
        elif isinstance(ev, Response):
            s.head = (ev.status_code, ev.reason, ev.http_version, raw_pairs(ev.headers))
        elif isinstance(ev, Data):
            s.body += ev.data
        elif isinstance(ev, EndOfMessage):
            s.trailers = raw_pairs(ev.trailers)
            s.ended = True
        else:
            assert isinstance(ev, ConnectionClosed), ev
    return s


def feed_sockit(conn: Connection, raw: bytes, cut: int, eof: bool) -> list[object]:
    events: list[object] = []
    for i in range(0, len(raw), cut):
        events.extend(conn.receive_data(raw[i : i + cut]))
    if eof:
        events.extend(conn.receive_eof())
    return events


@given(requests(), st.integers(1, 64))
def test_requests_parse_like_h11(message: tuple[bytes, Summary], cut: int) -> None:
    raw, expected = message
    theirs = summarize_h11(h11_events(h11.Connection(h11.SERVER), raw, eof=False))
    conn = Connection(Role.SERVER, config=HTTP1Config(limits=HTTP1Limits()))
    ours = summarize_sockit(feed_sockit(conn, raw, cut, eof=False))
    assert theirs == expected  # the generator itself is right
    assert ours == theirs


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, bool, Summary]:
    raw = b""
    informational = []
    for _ in range(draw(st.integers(0, 2))):
        code = draw(st.sampled_from([100, 102, 103]))
        lines, meaning = draw(field_lines(max_size=2))
        raw += b"HTTP/1.1 %d Info\r\n" % code + lines + b"\r\n"
        informational.append((code, b"Info", meaning))
    status = draw(st.integers(200, 599))
    reason = b" ".join(draw(st.lists(tokens, max_size=3)))
    version = draw(st.sampled_from([b"1.1", b"1.0"]))
    before, fields_before = draw(field_lines())
    framing, body, payload, framing_pairs, trailers = draw(framed_body())
    eof = not framing_pairs
    if status in (204, 304):
        # no body whatever the framing says; keep framing fields out of 204
        framing, body, payload, framing_pairs, trailers = b"", b"", b"", [], []
        eof = False
    elif version == b"1.0" and framing_pairs and framing_pairs[0][0] == b"transfer-encoding":
        framing, payload, framing_pairs, trailers = b"", body, [], []
        eof = True
    if eof and payload == b"" and body == b"":
        payload = body = draw(st.binary(max_size=40))
    raw += (b"HTTP/" + version + b" %d " % status + reason + b"\r\n" + before + framing
            + b"\r\n" + body)
    expected = Summary(head=(status, reason, version, fields_before + framing_pairs),
                       informational=informational, body=payload, trailers=trailers,
                       ended=True)
    return raw, eof, expected


@given(responses(), st.integers(1, 64))
def test_responses_parse_like_h11(message: tuple[bytes, bool, Summary], cut: int) -> None:
    raw, eof, expected = message
    theirs_conn = h11.Connection(h11.CLIENT)
    theirs_conn.send(h11.Request(method="GET", target="/", headers=[("Host", "a")]))
    theirs_conn.send(h11.EndOfMessage())
    theirs = summarize_h11(h11_events(theirs_conn, raw, eof=eof))

    conn = Connection(Role.CLIENT, config=HTTP1Config(limits=HTTP1Limits()))
    conn.send(Request(method=b"GET", target=b"/", headers=Headers([("Host", "a")])))
    conn.send(EndOfMessage())
    conn.data_to_send()
    ours = summarize_sockit(feed_sockit(conn, raw, cut, eof=eof))
    assert theirs == expected
    assert ours == theirs
