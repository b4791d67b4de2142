"""Percent-encoding helpers and form-style queries."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.http import (
    InvalidURL,
    encode_query,
    normalize_percent_encoding,
    parse_query,
    quote,
    unquote,
    unquote_to_bytes,
)


def test_quote() -> None:
    assert quote("a b/c~") == "a%20b%2Fc~"
    assert quote("a b/c", safe="/") == "a%20b/c"
    assert quote("é€") == "%C3%A9%E2%82%AC"
    assert quote("100%") == "100%25"
    assert quote("plain-text_1.2~") == "plain-text_1.2~"
    with pytest.raises(LocalProtocolError):
        quote("\ud800")


def test_unquote_strict() -> None:
    assert unquote("a%20b%2Fc") == "a b/c"
    assert unquote("%C3%A9") == "é"
    assert unquote("%c3%a9") == "é"
    assert unquote_to_bytes("%FF%00") == b"\xff\x00"
    assert unquote("%E9", encoding="latin-1") == "é"
    for bad in ["%", "%2", "%zz", "a%2x", "%%41", "% 1"]:
        with pytest.raises(InvalidURL):
            unquote(bad)
    with pytest.raises(InvalidURL):
        unquote("%FF")  # not UTF-8
    with pytest.raises(InvalidURL):
        unquote("%C3")  # truncated UTF-8 sequence


def test_normalize_percent_encoding() -> None:
    assert normalize_percent_encoding("%7e%7E%41%2f%2F%c3%a9") == "~~A%2F%2F%C3%A9"
    assert normalize_percent_encoding("no-escapes") == "no-escapes"
    with pytest.raises(InvalidURL):
        normalize_percent_encoding("%x1")


def test_parse_query() -> None:
    assert parse_query("a=1&b=two+words&c&=e&&a=%26") == [
        ("a", "1"),
        ("b", "two words"),
        ("c", ""),
        ("", "e"),
        ("a", "&"),
    ]
    assert parse_query("a+b=c+d", plus_as_space=False) == [("a+b", "c+d")]
    assert parse_query("x=1;y=2") == [("x", "1;y=2")]  # ';' is not a separator
    with pytest.raises(InvalidURL):
        parse_query("a=%zz")


def test_encode_query() -> None:
    assert encode_query([("a b", "c&d"), ("é", "+")]) == "a+b=c%26d&%C3%A9=%2B"
    assert encode_query([("a b", "")], space_as_plus=False) == "a%20b="
