"""HTTP-date parsing and formatting (RFC 9110 §5.6.7)."""

from __future__ import annotations

import calendar
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import (
    InvalidDate,
    InvalidHeader,
    format_http_date,
    parse_http_date,
    try_parse_http_date,
)

EXAMPLE = calendar.timegm((1994, 11, 6, 8, 49, 37))


@pytest.mark.parametrize(
    "text",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850 format
        "Sun Nov  6 08:49:37 1994",  # ANSI C's asctime() format
        "Sun Nov 06 08:49:37 1994",  # asctime with 2DIGIT day is in the grammar too
    ],
)
def test_rfc9110_examples(text: str) -> None:
    assert parse_http_date(text) == EXAMPLE
    assert parse_http_date(text.encode()) == EXAMPLE


def test_format() -> None:
    assert format_http_date(EXAMPLE) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert format_http_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT"
    assert format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT"
    assert format_http_date(EXAMPLE + 0.999) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_format_refuses_what_it_cannot_express() -> None:
    for bad in [float("nan"), float("inf"), 253402300800, -62167219201, True, "0"]:
        with pytest.raises(LocalProtocolError):
            format_http_date(bad)  # type: ignore[arg-type]


def test_leap_second_and_leap_days() -> None:
    assert parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT") == calendar.timegm(
        (2017, 1, 1, 0, 0, 0)
    )
    assert parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400
    for bad in ["Thu, 29 Feb 1900 00:00:00 GMT", "Wed, 31 Apr 2020 00:00:00 GMT"]:
        with pytest.raises(InvalidDate):
            parse_http_date(bad)


def test_weekday_is_not_checked_against_the_date() -> None:
    assert parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT") == EXAMPLE


def test_rfc850_two_digit_year() -> None:
    # without now: the POSIX pivot
    assert parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT") == 0
    assert parse_http_date("Friday, 01-Jan-99 00:00:00 GMT") == calendar.timegm(
        (1999, 1, 1, 0, 0, 0)
    )
    assert parse_http_date("Monday, 01-Jan-68 00:00:00 GMT") == calendar.timegm(
        (2068, 1, 1, 0, 0, 0)
    )

    # with now: a year more than 50 years ahead means the previous century
    def year_of(text: str, now: int) -> int:
        return time_year(parse_http_date(text, now=now))

    now_2024 = calendar.timegm((2024, 6, 1, 0, 0, 0))
    assert year_of("Monday, 01-Jan-68 00:00:00 GMT", now_2024) == 2068
    assert year_of("Monday, 01-Jan-74 00:00:00 GMT", now_2024) == 2074  # exactly 50: kept
    assert year_of("Monday, 01-Jan-75 00:00:00 GMT", now_2024) == 1975
    assert year_of("Monday, 01-Jan-24 00:00:00 GMT", now_2024) == 2024
    now_2090 = calendar.timegm((2090, 1, 1, 0, 0, 0))
    assert year_of("Monday, 01-Jan-05 00:00:00 GMT", now_2090) == 2105
    assert year_of("Monday, 01-Jan-41 00:00:00 GMT", now_2090) == 2041
    with pytest.raises(LocalProtocolError):
        parse_http_date("Monday, 01-Jan-05 00:00:00 GMT", now=float("nan"))


def time_year(ts: int) -> int:
    return int(format_http_date(ts).split(" ")[3])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "sun, 06 Nov 1994 08:49:37 GMT",  # case-sensitive
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",  # Arabic-Indic digits are not DIGIT
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sunday Nov  6 08:49:37 1994",
        "1994-11-06T08:49:37Z",
        "784111777",
    ],
)
def test_invalid_dates(text: str) -> None:
    with pytest.raises(InvalidDate) as info:
        parse_http_date(text)
    assert isinstance(info.value, InvalidHeader)
    assert try_parse_http_date(text) is None


def test_try_parse() -> None:
    assert try_parse_http_date(None) is None
    assert try_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == EXAMPLE


@given(st.integers(min_value=-62167219200, max_value=253402300799))
def test_round_trip_and_agreement_with_stdlib(ts: int) -> None:
    text = format_http_date(ts)
    assert parse_http_date(text) == ts
    if ts >= -2208988800:  # email.utils handles years >= 1900 reliably
        assert email.utils.formatdate(ts, usegmt=True) == text


@given(st.integers(min_value=0, max_value=253402300799))
def test_asctime_agrees_with_imf(ts: int) -> None:
    imf = format_http_date(ts)
    day_name, rest = imf.split(", ")
    day, month, year, clock, _ = rest.split(" ")
    asctime = f"{day_name} {month} {int(day):2d} {clock} {year}"
    assert parse_http_date(asctime) == ts


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_sockit_error(text: str) -> None:
    try:
        ts = parse_http_date(text)
    except SockitError:
        return
    assert isinstance(ts, int)


@given(st.binary(max_size=40))
def test_arbitrary_bytes_parse_or_raise_sockit_error(data: bytes) -> None:
    try:
        ts = parse_http_date(data)
    except SockitError:
        return
    text = data.decode("ascii")
    assert text.endswith(" GMT") or text[-4:].isdigit()
    if ts < 253402300800:  # 9999-12-31 23:59:60 is parseable, not formattable
        assert parse_http_date(format_http_date(ts)) == ts
