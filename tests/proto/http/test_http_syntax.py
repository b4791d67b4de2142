"""RFC 9110 §5.6 building blocks: tokens, quoted-strings, lists, parameters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import InvalidHeader, is_token, quote_string, split_list
from sockit.proto.http.syntax import parse_parameters, unquote_string


def test_split_list() -> None:
    assert split_list("a, b ,c") == ["a", "b", "c"]
    assert split_list(" , a,, b, ,") == ["a", "b"]  # empty elements are dropped
    assert split_list("") == []
    assert split_list('a="x, y", b') == ['a="x, y"', "b"]
    assert split_list('W/"etag,1", "etag,2"') == ['W/"etag,1"', '"etag,2"']
    assert split_list(r'x="escaped \" quote, still inside", y') == [
        r'x="escaped \" quote, still inside"',
        "y",
    ]
    assert split_list(b"a,\tb") == ["a", "b"]
    for bad in ['"unterminated, x', 'a, b="c', r'x="\"']:
        with pytest.raises(InvalidHeader):
            split_list(bad)


def test_parameters() -> None:
    assert parse_parameters(';a=1; B="x;y" ;c=d ') == [("a", "1"), ("b", "x;y"), ("c", "d")]
    assert parse_parameters(";;a=1;") == [("a", "1")]
    assert parse_parameters("") == []
    for bad in [";a", ";a=", "; a = 1", ";a=1 b", "a=1", ';a="x', ";=1", ";a=1=2"]:
        with pytest.raises(InvalidHeader):
            parse_parameters(bad)


def test_quoting() -> None:
    assert quote_string("token") == "token"
    assert quote_string("") == '""'
    assert quote_string('a "b"\\') == r'"a \"b\"\\"'
    assert unquote_string(quote_string('a "b"\\')) == 'a "b"\\'
    with pytest.raises(LocalProtocolError):
        quote_string("line\nbreak")
    with pytest.raises(LocalProtocolError):
        quote_string("\u20ac")
    assert is_token("x-y.z")
    assert not is_token("")
    assert not is_token("a b")


@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF).filter(
            lambda c: c != "\x7f"
        ),
        max_size=20,
    )
)
def test_quote_string_round_trip(value: str) -> None:
    quoted = quote_string(value)
    assert parse_parameters(f";p={quoted}") == [("p", value)]


@given(st.text(max_size=40))
def test_parameters_parse_or_raise_sockit_error(text: str) -> None:
    try:
        params = parse_parameters(text)
    except SockitError:
        return
    assert all(is_token(name) and name == name.lower() for name, _ in params)
