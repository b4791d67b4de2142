"""Range requests: Range parsing and resolution, Content-Range."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LimitExceeded, LocalProtocolError, SockitError
from sockit.proto.http import (
    ByteRange,
    ContentRange,
    InvalidHeader,
    RangeRequest,
    format_content_range,
    format_unsatisfied_range,
    parse_content_range,
    parse_range,
)


def _resolve(header: str, length: int, **kw: bool) -> list[tuple[int, int]] | None:
    request = parse_range(header)
    assert request is not None
    return request.resolve(length, **kw)


def test_rfc9110_examples_on_10000_bytes() -> None:
    assert _resolve("bytes=0-499", 10000) == [(0, 499)]
    assert _resolve("bytes=500-999", 10000) == [(500, 999)]
    assert _resolve("bytes=-500", 10000) == [(9500, 9999)]
    assert _resolve("bytes=9500-", 10000) == [(9500, 9999)]
    assert _resolve("bytes=0-0,-1", 10000) == [(0, 0), (9999, 9999)]
    assert _resolve("bytes=500-600,601-999", 10000) == [(500, 999)]  # coalesced
    assert _resolve("bytes=500-600,601-999", 10000, coalesce=False) == [(500, 600), (601, 999)]
    assert _resolve("bytes=500-700,601-999", 10000) == [(500, 999)]


def test_parse_shapes() -> None:
    request = parse_range("Bytes= 0-1 , ,5-, -3")
    assert request == RangeRequest((ByteRange(0, 1), ByteRange(5), ByteRange(suffix_length=3)))
    assert str(request) == "bytes=0-1, 5-, -3"
    assert parse_range("items=0-5") is None  # unknown unit: ignore the field


def test_suffix_larger_than_length_is_whole_representation() -> None:
    assert _resolve("bytes=-500", 100) == [(0, 99)]


def test_last_pos_beyond_length_is_clamped() -> None:
    assert _resolve("bytes=90-1000", 100) == [(90, 99)]


def test_unsatisfiable() -> None:
    assert _resolve("bytes=100-", 100) is None
    assert _resolve("bytes=100-200, 300-400", 100) is None
    assert _resolve("bytes=-0", 100) is None
    assert _resolve("bytes=0-", 0) is None
    assert _resolve("bytes=100-, 0-0", 100) == [(0, 0)]  # one satisfiable range is enough
    assert format_unsatisfied_range(100) == "bytes */100"


def test_zero_length_representation_suffix_is_satisfiable_but_empty() -> None:
    assert _resolve("bytes=-5", 0) == []


def test_order_kept_without_coalescing() -> None:
    assert _resolve("bytes=50-59, 0-9", 100, coalesce=False) == [(50, 59), (0, 9)]
    assert _resolve("bytes=50-59, 0-9", 100) == [(0, 9), (50, 59)]


def test_overlapping_ranges_cannot_multiply_output() -> None:
    assert _resolve("bytes=" + ",".join(["0-"] * 100), 1000) == [(0, 999)]


@pytest.mark.parametrize(
    "text",
    [
        "bytes=5-4",  # last < first: invalid
        "bytes=",
        "bytes=,",
        "bytes",
        "bytes =0-1",
        "bytes=a-b",
        "bytes=1",
        "bytes=-",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=\u0661-2",
        "bytes=1 -2",
        "=0-1",
    ],
)
def test_invalid_range(text: str) -> None:
    with pytest.raises(InvalidHeader):
        parse_range(text)


def test_too_many_ranges() -> None:
    assert parse_range("bytes=" + ",".join(["0-0"] * 100)) is not None
    with pytest.raises(LimitExceeded) as info:
        parse_range("bytes=" + ",".join(["0-0"] * 101))
    assert info.value.limit == "max_ranges"
    assert info.value.http_status == 416
    with pytest.raises(LimitExceeded):
        parse_range("bytes=0-0,1-1,2-2", max_ranges=2)


def test_huge_numbers_saturate_instead_of_failing() -> None:
    huge = "9" * 5000
    assert _resolve(f"bytes=0-{huge}", 10) == [(0, 9)]
    assert _resolve(f"bytes={huge}-", 10) is None
    assert _resolve(f"bytes=-{huge}", 10) == [(0, 9)]


def test_resolve_validates_length() -> None:
    request = parse_range("bytes=0-1")
    assert request is not None
    with pytest.raises(LocalProtocolError):
        request.resolve(-1)


def test_byte_range_constructor() -> None:
    for kwargs in [{}, {"first": 1, "suffix_length": 1}, {"first": 5, "last": 4},
                   {"last": 4}, {"suffix_length": 1, "last": 1}, {"first": -1}]:  # fmt: skip
        with pytest.raises(LocalProtocolError):
            ByteRange(**kwargs)


def test_content_range() -> None:
    assert format_content_range(0, 499, 1234) == "bytes 0-499/1234"
    assert format_content_range(0, 499, None) == "bytes 0-499/*"
    for args in [(5, 4, 10), (0, 10, 10), (-1, 2, 10)]:
        with pytest.raises(LocalProtocolError):
            format_content_range(*args)
    assert parse_content_range("bytes 42-1233/1234") == ContentRange(42, 1233, 1234)
    assert parse_content_range("bytes 42-1233/*") == ContentRange(42, 1233, None)
    assert parse_content_range("bytes */1234") == ContentRange(None, None, 1234)
    for bad in [
        "bytes 5-4/10",
        "bytes 0-10/10",
        "items 0-1/2",
        "bytes 0-1",
        "bytes */*",
        "bytes=0-1/2",
    ]:
        with pytest.raises(InvalidHeader):
            parse_content_range(bad)


@given(st.text(alphabet="bytes=0123-, *", max_size=40), st.integers(0, 50))
def test_arbitrary_range_text(text: str, length: int) -> None:
    try:
        request = parse_range(text)
    except SockitError:
        return
    if request is None:
        return
    result = request.resolve(length)
    if result:
        for start, end in result:
            assert 0 <= start <= end < length
        assert all(a[1] + 1 < b[0] for a, b in itertools.pairwise(result))


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 10**6))
def test_content_range_round_trip(start: int, span: int, extra: int) -> None:
    end = start + span
    length = end + extra
    assert parse_content_range(format_content_range(start, end, length)) == ContentRange(
        start, end, length
    )
