"""MediaType parsing, serialization and matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import InvalidHeader, MediaType


def test_rfc9110_equivalent_forms() -> None:
    forms = [
        "text/html;charset=utf-8",
        'Text/HTML;Charset="utf-8"',
        'text/html; charset="utf-8"',
        "text/html;charset=UTF-8",
    ]
    parsed = [MediaType.parse(f) for f in forms]
    assert {p.essence for p in parsed} == {"text/html"}
    assert {p.charset for p in parsed} == {"utf-8"}
    assert all(parsed[0].matches(p) and p.matches(parsed[0]) for p in parsed)


def test_parameters() -> None:
    mt = MediaType.parse('multipart/form-data; boundary="a b\\"c"; X=1')
    assert mt.type == "multipart"
    assert mt.subtype == "form-data"
    assert mt.params == (("boundary", 'a b"c'), ("x", "1"))
    assert mt.param("BOUNDARY") == 'a b"c'
    assert mt.param("missing") is None
    assert mt.charset is None
    assert str(mt) == 'multipart/form-data; boundary="a b\\"c"; x=1'
    assert MediaType.parse(str(mt)) == mt


def test_serialize() -> None:
    assert str(MediaType("Text", "Plain", (("charset", "utf-8"),))) == "text/plain; charset=utf-8"
    assert str(MediaType("a", "b", (("p", ""),))) == 'a/b; p=""'
    assert str(MediaType.parse("application/json")) == "application/json"


def test_matches() -> None:
    html = MediaType.parse("text/html; level=1")
    assert MediaType.parse("*/*").matches(html)
    assert MediaType.parse("text/*").matches(html)
    assert MediaType.parse("text/html").matches(html)
    assert MediaType.parse("text/html;level=1").matches(html)
    assert not MediaType.parse("text/html;level=2").matches(html)
    assert not MediaType.parse("text/html;level=1").matches("text/html")
    assert not MediaType.parse("image/*").matches(html)
    assert not MediaType.parse("text/plain").matches(html)
    assert MediaType.parse("text/*").is_wildcard
    assert not html.is_wildcard


@pytest.mark.parametrize(
    "text",
    [
        "",
        "text",
        "text/",
        "/html",
        "text/html/x",
        "text /html",
        "text/ html",
        "*/html",
        "text/html;",  # an empty parameter is fine: tested below
        "text/html; charset",
        "text/html; charset =utf-8",
        "text/html; charset= utf-8",
        'text/html; charset="utf-8',
        "text/html; charset=utf-8 junk",
        "text/html; charset=a; CHARSET=b",
        "té/xt",
    ],
)
def test_invalid(text: str) -> None:
    if text == "text/html;":
        assert MediaType.parse(text).params == ()
        return
    with pytest.raises(InvalidHeader):
        MediaType.parse(text)


def test_constructor_validates() -> None:
    with pytest.raises(LocalProtocolError):
        MediaType("te xt", "html")
    with pytest.raises(LocalProtocolError):
        MediaType("*", "html")
    with pytest.raises(LocalProtocolError):
        MediaType("a", "b", (("p", "x"), ("P", "y")))
    with pytest.raises(LocalProtocolError):
        MediaType("a", "b", (("p", "new\nline"),))


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_sockit_error(text: str) -> None:
    try:
        mt = MediaType.parse(text)
    except SockitError:
        return
    assert MediaType.parse(str(mt)) == mt
