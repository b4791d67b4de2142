"""StaticFiles Range handling: single, suffix, open, multiple, coalesced, 416, ignored."""

from __future__ import annotations

import email.parser
import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import NetworkError
from sockit.proto.http import Headers
from sockit.proto.http.range import DEFAULT_MAX_RANGES
from sockit.proto.http1 import Request
from sockit.server import HTTPServer, Response, ServerRequest, StaticFiles
from sockit.server._static_ranges import FileRange, MultipartRanges, plan_ranges
from sockit.server.request import RequestOwner
from tests.server.harness import fd_count, running
from tests.server.rawclient import RawClient

SIZE = 1000
DATA = bytes((i * 7 + 3) % 251 for i in range(SIZE))
MTIME = 1_700_000_000


def clock() -> float:
    return MTIME + 3600.0


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
    (tmp_path / "data.bin").write_bytes(DATA)
    (tmp_path / "empty.txt").write_bytes(b"")
    for name in ("data.bin", "empty.txt"):
        os.utime(tmp_path / name, (MTIME, MTIME))
    return tmp_path


@pytest.fixture
def app(root: Path) -> StaticFiles:
    return StaticFiles(root, clock=clock)


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str, bytes]]:
    """Parts as ``(Content-Type, Content-Range, data)``, parsed by the stdlib email parser."""
    message = email.parser.BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    assert message.is_multipart()
    parts = []
    for part in cast(list[email.message.Message], message.get_payload()):
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((part["Content-Type"], part["Content-Range"], payload))
    return parts


SINGLE = [
    ("bytes=0-99", (0, 99)),
    ("bytes=0-0", (0, 0)),
    ("bytes=-500", (500, 999)),
    ("bytes=500-", (500, 999)),
    ("bytes=999-", (999, 999)),
    ("bytes=-1", (999, 999)),
    ("bytes=990-2000", (990, 999)),
    ("bytes=-2000", (0, 999)),
    ("bytes=0-", (0, 999)),
    ("bytes=0-9,5-19", (0, 19)),  # overlapping: merged
    ("bytes=0-9,10-19", (0, 19)),  # adjacent: merged
    ("bytes=0-,0-,0-", (0, 999)),
    ("bytes=0-9,2000-3000", (0, 9)),  # the unsatisfiable one is dropped
    ("BYTES=0-9", (0, 9)),  # the unit is case-insensitive
    ("bytes=0-9,", (0, 9)),  # empty list elements are allowed
]


@pytest.mark.parametrize(("value", "span"), SINGLE, ids=[v for v, _ in SINGLE])
def test_single_range(app: StaticFiles, value: str, span: tuple[int, int]) -> None:
    before = fd_count()
    response, body = call(app, "/data.bin", [("Range", value)])
    first, last = span
    assert response.status == 206
    assert body == DATA[first : last + 1]
    assert header(response, "content-range") == f"bytes {first}-{last}/{SIZE}"
    assert header(response, "content-type") == "application/octet-stream"
    assert header(response, "accept-ranges") == "bytes"
    assert header(response, "etag") is not None
    length = header(response, "content-length")
    assert length is None or int(length) == len(body)  # None: a file, sized by the server
    assert fd_count() == before


MULTI = [
    ("bytes=0-9,20-29", [(0, 9), (20, 29)]),
    ("bytes=20-29,0-9", [(0, 9), (20, 29)]),  # sent in ascending order
    ("bytes=0-9, 20-29 ,\t40-", [(0, 9), (20, 29), (40, 999)]),
    ("bytes=-10,0-9", [(0, 9), (990, 999)]),
    ("bytes=0-9,5-15,100-110,105-120", [(0, 15), (100, 120)]),
    ("bytes=1-1,3-3,5-5", [(1, 1), (3, 3), (5, 5)]),
]


@pytest.mark.parametrize(("value", "spans"), MULTI, ids=[v for v, _ in MULTI])
def test_multiple_ranges_are_multipart(
    app: StaticFiles, value: str, spans: list[tuple[int, int]]
) -> None:
    before = fd_count()
    response, body = call(app, "/data.bin", [("Range", value)])
    assert response.status == 206
    ctype = header(response, "content-type")
    assert ctype is not None and ctype.startswith("multipart/byteranges; boundary=")
    assert header(response, "content-range") is None
    assert header(response, "content-length") == str(len(body))
    parts = parse_multipart(ctype, body)
    assert [(p[0], p[1]) for p in parts] == [
        ("application/octet-stream", f"bytes {a}-{b}/{SIZE}") for a, b in spans
    ]
    assert [p[2] for p in parts] == [DATA[a : b + 1] for a, b in spans]
    assert fd_count() == before


def test_multipart_layout_is_exact(root: Path) -> None:
    with open(root / "data.bin", "rb") as file:
        body = MultipartRanges(file, [(0, 1), (5, 5)], SIZE, "text/plain")
        data = b"".join(body)
    b = body.boundary.encode()
    assert data == (
        b"--" + b + b"\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/1000\r\n\r\n"
        + DATA[0:2]
        + b"\r\n--" + b + b"\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-5/1000\r\n\r\n"
        + DATA[5:6]
        + b"\r\n--" + b + b"--\r\n"
    )  # fmt: skip
    assert body.length == len(data)
    assert file.closed


UNSATISFIABLE = [
    "bytes=1000-",
    "bytes=1000-2000,3000-",
    "bytes=-0",
    "bytes=5000-5000",
    "bytes=-0,-0",
]


@pytest.mark.parametrize("value", UNSATISFIABLE)
def test_unsatisfiable_is_416(app: StaticFiles, value: str) -> None:
    before = fd_count()
    response, body = call(app, "/data.bin", [("Range", value)])
    assert response.status == 416
    assert header(response, "content-range") == f"bytes */{SIZE}"
    assert body == b"416 Range Not Satisfiable\n"
    assert fd_count() == before


IGNORED = [
    "bytes=abc",
    "bytes=9-1",  # last before first: the whole field is invalid
    "bytes=",
    "bytes=,",
    "bytes 0-9",
    "bytes=0-9;x",
    "bytes=--1",
    "bytes=1-2-3",
    "bytes=0x10-20",
    "bytes=0-9,abc",
    "0-9",
    "=0-9",
    "items=0-9",  # a unit we do not know: ignored (RFC 9110 §14.2)
    "bytes=\u0661-\u0662",  # Arabic-Indic digits are not DIGIT
]


@pytest.mark.parametrize("value", IGNORED)
def test_invalid_range_gives_the_whole_file(app: StaticFiles, value: str) -> None:
    response, body = call(app, "/data.bin", [("Range", value.encode().decode("latin-1"))])
    assert response.status == 200
    assert body == DATA
    assert header(response, "content-range") is None


def test_range_is_ignored_for_head(app: StaticFiles) -> None:
    response, _ = call(app, "/data.bin", [("Range", "bytes=0-9")], method=b"HEAD")
    assert response.status == 200
    assert header(response, "content-range") is None


def test_empty_file(app: StaticFiles) -> None:
    response, _ = call(app, "/empty.txt", [("Range", "bytes=0-")])
    assert response.status == 416
    assert header(response, "content-range") == "bytes */0"
    response, body = call(app, "/empty.txt", [("Range", "bytes=-5")])
    assert (response.status, body) == (200, b"")  # satisfiable, but empty: the whole (empty) file


@pytest.mark.parametrize("limit", [1, 4, DEFAULT_MAX_RANGES])
def test_range_count_at_and_over_the_cap(root: Path, limit: int) -> None:
    app = StaticFiles(root, max_ranges=limit, clock=clock)
    at = ",".join(f"{i * 3}-{i * 3}" for i in range(limit))  # disjoint, not adjacent
    response, body = call(app, "/data.bin", [("Range", "bytes=" + at)])
    assert response.status == 206
    if limit > 1:
        ctype = header(response, "content-type")
        assert ctype is not None
        assert len(parse_multipart(ctype, body)) == limit
    else:
        assert body == DATA[0:1]
    over = at + f",{limit * 3}-{limit * 3}"
    response, body = call(app, "/data.bin", [("Range", "bytes=" + over)])
    assert (response.status, body) == (200, DATA)  # over the cap: ignored, not refused


def test_max_ranges_is_checked(root: Path) -> None:
    for bad in (0, -1, True, DEFAULT_MAX_RANGES * 100 + 1):
        with pytest.raises(ValueError, match="max_ranges"):
            StaticFiles(root, max_ranges=bad)


def test_file_range_fails_loudly_if_the_file_shrinks(root: Path) -> None:
    path = root / "data.bin"
    body = FileRange(open(path, "rb"), 100, 200)  # noqa: SIM115  (the body owns it)
    first = next(body)
    assert first == DATA[100:300]
    body2 = FileRange(open(path, "rb"), 900, 100)  # noqa: SIM115
    os.truncate(path, 950)
    assert next(body2) == DATA[900:950]
    with pytest.raises(NetworkError, match="shrank"):
        next(body2)
    assert body2.file.closed
    body.close()
    assert body.file.closed


def test_discarded_bodies_close_their_file(root: Path) -> None:
    before = fd_count()
    one = FileRange(open(root / "data.bin", "rb"), 0, 10)  # noqa: SIM115
    many = MultipartRanges(open(root / "data.bin", "rb"), [(0, 1), (5, 6)], SIZE, "x/y")  # noqa: SIM115
    next(many)
    one.close()
    many.close()
    assert one.file.closed and many.file.closed
    assert fd_count() == before


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=0, max_value=2000))
def test_plan_ranges_never_raises(value: bytes, size: int) -> None:
    status, ranges = plan_ranges(b"bytes=" + value, size, 16)
    assert status in (200, 206, 416)
    assert (status == 206) == bool(ranges)
    previous_end = -2
    for first, last in ranges:
        assert 0 <= first <= last < size
        assert first > previous_end + 1  # sorted, disjoint, not adjacent
        previous_end = last


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1200), st.integers(0, 1200)).map(sorted), min_size=1, max_size=8
    )
)
def test_plan_ranges_covers_exactly_the_requested_bytes(spans: list[list[int]]) -> None:
    value = "bytes=" + ",".join(f"{a}-{b}" for a, b in spans)
    status, ranges = plan_ranges(value.encode(), SIZE, 16)
    wanted = {i for a, b in spans for i in range(a, min(b, SIZE - 1) + 1)}
    if not wanted:
        assert status == 416
        return
    assert status == 206
    assert {i for a, b in ranges for i in range(a, b + 1)} == wanted


# -- over the wire -----------------------------------------------------------------------


@pytest.fixture
def server(root: Path) -> Iterator[HTTPServer]:
    with running(StaticFiles(root)) as srv:
        yield srv


def test_ranges_over_the_wire(server: HTTPServer) -> None:
    with RawClient(server.port) as client:
        middle = client.get("/data.bin", extra="Range: bytes=100-199\r\n")
        tail = client.get("/data.bin", extra="Range: bytes=-100\r\n")  # sendfile from 900
        multi = client.get("/data.bin", extra="Range: bytes=0-9,20-29\r\n")
        refused = client.get("/data.bin", extra="Range: bytes=5000-\r\n")
        whole = client.get("/data.bin", extra="Range: bytes=oops\r\n")
        old = client.get("/data.bin", extra="Range: bytes=0-9\r\n", version="1.0")
    assert (middle.status, middle.body) == (206, DATA[100:200])
    assert middle.header("content-range") == "bytes 100-199/1000"
    assert middle.header("transfer-encoding") is None
    assert (tail.status, tail.body) == (206, DATA[900:])
    assert tail.header("content-length") == "100"
    assert multi.status == 206
    ctype = multi.header("content-type")
    assert ctype is not None
    assert [p[2] for p in parse_multipart(ctype, multi.body)] == [DATA[0:10], DATA[20:30]]
    assert (refused.status, refused.header("content-range")) == (416, "bytes */1000")
    assert (whole.status, whole.body) == (200, DATA)
    assert (old.status, old.body) == (206, DATA[0:10])


def test_many_ranges_over_the_wire_keep_the_connection(server: HTTPServer) -> None:
    spec = ",".join(f"{i * 10}-{i * 10 + 4}" for i in range(DEFAULT_MAX_RANGES))
    with RawClient(server.port) as client:
        resp = client.get("/data.bin", extra=f"Range: bytes={spec}\r\n")
        again = client.get("/data.bin", extra="Range: bytes=0-0\r\n")
    ctype = resp.header("content-type")
    assert resp.status == 206 and ctype is not None
    parts = parse_multipart(ctype, resp.body)
    assert [p[2] for p in parts] == [DATA[i * 10 : i * 10 + 5] for i in range(DEFAULT_MAX_RANGES)]
    assert again.body == DATA[0:1]
