"""StaticFiles validators and conditional requests (RFC 9110 §8.8, §13)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.proto.http import Headers, format_http_date
from sockit.proto.http1 import Request
from sockit.server import HTTPServer, Response, ServerRequest, StaticFiles
from sockit.server._static_validators import (
    EntityTag,
    TagList,
    evaluate_preconditions,
    if_range_matches,
    make_etag,
    parse_etag_list,
)
from sockit.server.request import RequestOwner
from tests.server.harness import fd_count, running
from tests.server.rawclient import RawClient

DATA = b"0123456789" * 10
MTIME = 1_700_000_000
LM = format_http_date(MTIME)
EARLIER = format_http_date(MTIME - 1)
LATER = format_http_date(MTIME + 1)


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(
    app: StaticFiles, target: str, headers: list[tuple[str, str]], method: bytes = b"GET"
) -> tuple[Response, bytes]:
    event = Request(method, target.encode(), Headers([("Host", "t"), *headers]))
    request = ServerRequest(cast(RequestOwner, None), event, b"", None, ("127.0.0.1", 1))
    response = app(request)
    body = response.body
    if isinstance(body, bytes):
        return response, body
    read = getattr(body, "read", None)
    if read is not None:
        try:
            return response, cast(bytes, read())
        finally:
            body.close()  # type: ignore[union-attr]
    return response, b"".join(cast(Iterator[bytes], body))


def header(response: Response, name: str) -> str | None:
    return Headers(response.headers).get(name)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "f.txt").write_bytes(DATA)
    os.utime(tmp_path / "f.txt", (MTIME, MTIME))
    return tmp_path


@pytest.fixture
def clock() -> Clock:
    return Clock(MTIME + 3600)


@pytest.fixture
def app(root: Path, clock: Clock) -> StaticFiles:
    return StaticFiles(root, max_age=60, clock=clock)


@pytest.fixture
def etag(root: Path) -> str:
    return str(make_etag(os.stat(root / "f.txt"), weak=False))


# (name, headers with {etag} placeholders, method, expected status)
TABLE = [
    ("plain", [], b"GET", 200),
    ("inm exact", [("If-None-Match", "{etag}")], b"GET", 304),
    ("inm weak form", [("If-None-Match", "W/{etag}")], b"GET", 304),
    ("inm other", [("If-None-Match", '"nope"')], b"GET", 200),
    ("inm list", [("If-None-Match", '"a", W/"b",{etag}')], b"GET", 304),
    ("inm two lines", [("If-None-Match", '"a"'), ("If-None-Match", "{etag}")], b"GET", 304),
    ("inm star", [("If-None-Match", "*")], b"GET", 304),
    ("inm malformed", [("If-None-Match", "nope")], b"GET", 200),
    ("inm empty", [("If-None-Match", "")], b"GET", 200),
    ("inm head", [("If-None-Match", "{etag}")], b"HEAD", 304),
    ("inm wins over ims", [("If-None-Match", '"nope"'), ("If-Modified-Since", LATER)], b"GET", 200),
    ("inm match, ims old", [("If-None-Match", "{etag}"), ("If-Modified-Since", EARLIER)], b"GET",
     304),
    ("ims equal", [("If-Modified-Since", LM)], b"GET", 304),
    ("ims later", [("If-Modified-Since", LATER)], b"GET", 304),
    ("ims earlier", [("If-Modified-Since", EARLIER)], b"GET", 200),
    ("ims invalid", [("If-Modified-Since", "yesterday")], b"GET", 200),
    ("ims twice", [("If-Modified-Since", LM), ("If-Modified-Since", LM)], b"GET", 200),
    ("ims rfc850", [("If-Modified-Since", "Tuesday, 14-Nov-23 22:13:20 GMT")], b"GET", 304),
    ("ims asctime", [("If-Modified-Since", "Tue Nov 14 22:13:20 2023")], b"GET", 304),
    ("im exact", [("If-Match", "{etag}")], b"GET", 200),
    ("im star", [("If-Match", "*")], b"GET", 200),
    ("im weak form", [("If-Match", "W/{etag}")], b"GET", 412),  # strong comparison
    ("im other", [("If-Match", '"nope"')], b"GET", 412),
    ("im list", [("If-Match", '"nope", {etag}')], b"GET", 200),
    ("im malformed", [("If-Match", "nope")], b"GET", 412),
    ("im head", [("If-Match", '"nope"')], b"HEAD", 412),
    ("im beats ius", [("If-Match", "{etag}"), ("If-Unmodified-Since", EARLIER)], b"GET", 200),
    ("im before inm", [("If-Match", '"nope"'), ("If-None-Match", "{etag}")], b"GET", 412),
    ("ius equal", [("If-Unmodified-Since", LM)], b"GET", 200),
    ("ius earlier", [("If-Unmodified-Since", EARLIER)], b"GET", 412),
    ("ius invalid", [("If-Unmodified-Since", "soon")], b"GET", 200),
    ("ius ok, inm match", [("If-Unmodified-Since", LM), ("If-None-Match", "*")], b"GET", 304),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fields", "method", "status"), TABLE, ids=[t[0] for t in TABLE])
def test_conditional_table(
    app: StaticFiles,
    etag: str,
    name: str,
    fields: list[tuple[str, str]],
    method: bytes,
    status: int,
) -> None:
    before = fd_count()
    headers = [(k, v.replace("{etag}", etag)) for k, v in fields]
    response, body = call(app, "/f.txt", headers, method)
    assert response.status == status, name
    if status == 304:
        assert body == b""
        assert header(response, "etag") == etag
        assert header(response, "last-modified") == LM
        assert header(response, "cache-control") == "max-age=60"
        assert header(response, "content-type") is None
    elif status == 200:
        assert body == (b"" if method == b"HEAD" else DATA)
        assert header(response, "etag") == etag
    else:
        assert body == b"412 Precondition Failed\n"
    assert fd_count() == before


def test_etag_is_strong_only_a_second_after_the_last_change(
    root: Path, clock: Clock, etag: str
) -> None:
    clock.now = MTIME + 0.5
    app = StaticFiles(root, clock=clock)
    response, _ = call(app, "/f.txt", [])
    assert header(response, "etag") == "W/" + etag
    # weak comparison still lets caches revalidate
    assert call(app, "/f.txt", [("If-None-Match", etag)])[0].status == 304
    clock.now = MTIME + 1
    assert header(call(app, "/f.txt", [])[0], "etag") == etag


def test_etag_options(root: Path, clock: Clock, etag: str) -> None:
    weak = StaticFiles(root, etag="weak", clock=clock)
    assert header(call(weak, "/f.txt", [])[0], "etag") == "W/" + etag
    assert call(weak, "/f.txt", [("If-Match", etag)])[0].status == 412
    none = StaticFiles(root, etag=None, clock=clock)
    response, _ = call(none, "/f.txt", [])
    assert header(response, "etag") is None
    assert call(none, "/f.txt", [("If-None-Match", etag)])[0].status == 200
    assert call(none, "/f.txt", [("If-None-Match", "*")])[0].status == 304
    with pytest.raises(ValueError, match="etag"):
        StaticFiles(root, etag="medium")  # type: ignore[arg-type]


def test_etag_changes_with_size_mtime_and_inode(root: Path) -> None:
    path = root / "f.txt"
    first = make_etag(os.stat(path), weak=False)
    os.utime(path, ns=(MTIME * 10**9 + 1, MTIME * 10**9 + 1))  # one nanosecond later
    second = make_etag(os.stat(path), weak=False)
    path.write_bytes(DATA + b"x")
    os.utime(path, ns=(MTIME * 10**9 + 1, MTIME * 10**9 + 1))
    third = make_etag(os.stat(path), weak=False)
    copy = root / "g.txt"
    copy.write_bytes(DATA + b"x")
    os.utime(copy, ns=(MTIME * 10**9 + 1, MTIME * 10**9 + 1))
    fourth = make_etag(os.stat(copy), weak=False)
    gzip = make_etag(os.stat(copy), weak=False, coding="gzip")
    assert len({first, second, third, fourth, gzip}) == 5
    assert str(os.stat(path).st_ino) not in str(first)  # the inode is not published


IF_RANGE = [
    ("{etag}", True, 206),
    ("W/{etag}", True, 200),  # a weak tag never matches strongly
    ('"other"', True, 200),
    (LM, True, 206),
    (LM, False, 200),  # Last-Modified is weak: changed less than a second ago
    (EARLIER, True, 200),  # a date must match exactly
    (LATER, True, 200),
    ("garbage", True, 200),
    ('"unterminated', True, 200),
    ("{etag} trailing", True, 200),
]


@pytest.mark.parametrize(("value", "old_file", "status"), IF_RANGE)
def test_if_range(
    root: Path, clock: Clock, etag: str, value: str, old_file: bool, status: int
) -> None:
    clock.now = MTIME + (3600 if old_file else 0.5)
    app = StaticFiles(root, clock=clock)
    if_range = value.replace("{etag}", etag)
    response, body = call(app, "/f.txt", [("Range", "bytes=0-4"), ("If-Range", if_range)])
    assert response.status == status
    assert body == (DATA[:5] if status == 206 else DATA)


def test_if_range_without_range_is_ignored(app: StaticFiles) -> None:
    response, body = call(app, "/f.txt", [("If-Range", '"other"')])
    assert (response.status, body) == (200, DATA)


def test_preconditions_come_before_range(app: StaticFiles, etag: str) -> None:
    fields = [("Range", "bytes=0-4"), ("If-None-Match", etag)]
    assert call(app, "/f.txt", fields)[0].status == 304
    fields = [("Range", "bytes=500-"), ("If-Match", '"nope"')]
    assert call(app, "/f.txt", fields)[0].status == 412


def test_state_changing_methods_fail_if_none_match_with_412() -> None:
    tag = EntityTag(b"abc")
    headers = Headers([("If-None-Match", '"abc"')])
    assert evaluate_preconditions(headers, method=b"PUT", etag=tag, last_modified=0) == 412
    assert evaluate_preconditions(headers, method=b"GET", etag=tag, last_modified=0) == 304
    ims = Headers([("If-Modified-Since", LM)])  # only for GET and HEAD
    assert evaluate_preconditions(ims, method=b"POST", etag=tag, last_modified=MTIME) is None


# -- the entity-tag grammar ------------------------------------------------------------------

PARSED = [
    (b'"abc"', TagList((EntityTag(b"abc"),))),
    (b'W/"abc"', TagList((EntityTag(b"abc", True),))),
    (b'""', TagList((EntityTag(b""),))),
    (b'"a,b", "c"', TagList((EntityTag(b"a,b"), EntityTag(b"c")))),  # commas inside tags
    (b' , "a" ,, W/"b" , ', TagList((EntityTag(b"a"), EntityTag(b"b", True)))),
    (b"*", TagList(any=True)),
    (b" * ", TagList(any=True)),
    (b'"\x80\xff"', TagList((EntityTag(b"\x80\xff"),))),
    (b"abc", None),
    (b'"a" "b"', None),
    (b'"a"x', None),
    (b'w/"a"', None),  # W is case-sensitive
    (b'W/ "a"', None),
    (b'"a b"', None),
    (b'"a\x7f"', None),
    (b'"a', None),
    (b'*, "a"', None),
    (b"", None),
    (b" , ", None),
]


@pytest.mark.parametrize(("value", "expected"), PARSED)
def test_parse_etag_list(value: bytes, expected: TagList | None) -> None:
    assert parse_etag_list(value) == expected


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=60))
def test_parse_etag_list_takes_any_bytes(value: bytes) -> None:
    result = parse_etag_list(value)
    assert result is None or isinstance(result, TagList)
    assert isinstance(if_range_matches(value, etag=EntityTag(b"x"), last_modified=0,
                                       last_modified_strong=True), bool)  # fmt: skip


ETAGC = st.binary(max_size=8).map(lambda b: bytes(c for c in b if c > 0x20 and c not in b'"\x7f'))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ETAGC, st.booleans()), min_size=1, max_size=5))
def test_etag_lists_round_trip(tags: list[tuple[bytes, bool]]) -> None:
    items = tuple(EntityTag(opaque, weak) for opaque, weak in tags)
    text = ", ".join(str(t) for t in items).encode("latin-1")
    assert parse_etag_list(text) == TagList(items)


# -- over the wire ---------------------------------------------------------------------------


@pytest.fixture
def server(root: Path) -> Iterator[HTTPServer]:
    with running(StaticFiles(root)) as srv:
        yield srv


def test_conditionals_over_the_wire(server: HTTPServer, etag: str) -> None:
    with RawClient(server.port) as client:
        full = client.get("/f.txt")
        cached = client.get("/f.txt", extra=f"If-None-Match: {full.header('etag')}\r\n")
        since = client.get("/f.txt", extra=f"If-Modified-Since: {LM}\r\n")
        failed = client.get("/f.txt", extra='If-Match: "nope"\r\n')
        ranged = client.get("/f.txt", extra=f"Range: bytes=0-4\r\nIf-Range: {etag}\r\n")
        after = client.get("/f.txt")
    assert full.status == 200 and full.header("etag") == etag
    assert (cached.status, cached.body) == (304, b"")
    assert since.status == 304
    assert failed.status == 412
    assert (ranged.status, ranged.body) == (206, DATA[:5])
    assert (after.status, after.body) == (200, DATA)  # the connection carried on after a 304
