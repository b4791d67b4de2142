"""Accept, Accept-Encoding and Accept-Language parsing and negotiation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.http import (
    InvalidHeader,
    MediaType,
    QualityItem,
    best_encoding,
    best_language,
    best_match,
    media_quality,
    parse_accept,
    parse_accept_encoding,
    parse_accept_language,
    parse_qvalue,
)

RFC9110_ACCEPT = (
    "text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed, "
    "text/plain;format=fixed;q=0.4, */*;q=0.5"
)


@pytest.mark.parametrize(
    ("offer", "quality"),
    [
        ("text/plain;format=flowed", 1.0),
        ("text/plain", 0.7),
        ("text/html", 0.3),
        ("image/jpeg", 0.5),
        ("text/plain;format=fixed", 0.4),
        ("text/html;level=3", 0.3),
    ],
)
def test_rfc9110_precedence_example(offer: str, quality: float) -> None:
    assert media_quality(offer, RFC9110_ACCEPT) == quality


def test_parse_accept() -> None:
    ranges = parse_accept("text/html, application/xhtml+xml;Q=0.9, */*;q=0.8;ext=1")
    assert [str(r.media_type) for r in ranges] == ["text/html", "application/xhtml+xml", "*/*"]
    assert [r.q for r in ranges] == [1.0, 0.9, 0.8]
    assert parse_accept("") == []
    assert parse_accept(b"text/html;level=1;q=0")[0].media_type.params == (("level", "1"),)


def test_qvalue_grammar() -> None:
    for good, value in [
        ("0", 0.0),
        ("0.", 0.0),
        ("0.5", 0.5),
        ("0.123", 0.123),
        ("1", 1.0),
        ("1.000", 1.0),
    ]:
        assert parse_qvalue(good) == value
    for bad in ["", "1.001", "1.5", "0.1234", "2", "-0", ".5", "0,5", "1e0", " 1", "0x1", "\u0661"]:
        with pytest.raises(InvalidHeader):
            parse_qvalue(bad)
    with pytest.raises(InvalidHeader):
        parse_accept("text/html;q=1.1")


def test_best_match() -> None:
    offers = ["application/json", "text/html"]
    assert best_match(offers, "text/html;q=0.9, application/json;q=0.8") == "text/html"
    assert best_match(offers, "*/*") == "application/json"  # tie: server order
    assert best_match(offers, None) == "application/json"
    assert best_match(offers, "") == "application/json"
    assert best_match(offers, "image/png") is None
    assert best_match(offers, "text/*;q=0.5, application/json;q=0") == "text/html"
    assert best_match([], "*/*") is None
    mt = MediaType.parse("text/plain")
    assert best_match([mt], "text/*") is mt
    with pytest.raises(InvalidHeader):
        best_match(offers, "text/html;q=x")


def test_specific_zero_overrides_wildcard() -> None:
    assert best_match(["text/html"], "*/*, text/html;q=0") is None
    assert best_match(["text/html", "text/plain"], "text/*, text/html;q=0") == "text/plain"


def test_parse_accept_encoding() -> None:
    items = parse_accept_encoding("GZIP;q=0.5, br, x-gzip;q=0.1, identity;q=0, *;q=0")
    assert items == [
        QualityItem("gzip", 0.5),
        QualityItem("br", 1.0),
        QualityItem("gzip", 0.1),
        QualityItem("identity", 0.0),
        QualityItem("*", 0.0),
    ]
    for bad in ["gzip;level=1", "gzip;q=0.5;x=1", "gz ip", "gzip;q=2"]:
        with pytest.raises(InvalidHeader):
            parse_accept_encoding(bad)


def test_best_encoding() -> None:
    offers = ["br", "gzip", "identity"]
    assert best_encoding(offers, "gzip, br;q=0.9") == "gzip"
    assert best_encoding(offers, "gzip;q=0.8, br;q=0.9") == "br"
    assert best_encoding(offers, "compress") == "identity"  # implicit identity fallback
    assert best_encoding(offers, "") == "identity"  # empty: identity only
    assert best_encoding(["gzip"], "") is None
    assert best_encoding(offers, None) == "identity"
    assert best_encoding(["gzip"], None) == "gzip"
    assert best_encoding(offers, "identity;q=0, deflate") is None
    assert best_encoding(offers, "*;q=0") is None
    assert best_encoding(offers, "*;q=0, identity") == "identity"
    assert best_encoding(offers, "*") == "br"
    assert best_encoding(offers, "x-gzip") == "gzip"
    assert best_encoding(["GZIP"], "gzip") == "GZIP"
    assert best_encoding([], "gzip") is None


def test_language() -> None:
    assert parse_accept_language("da, en-GB;q=0.8, en;q=0.7") == [
        QualityItem("da", 1.0),
        QualityItem("en-gb", 0.8),
        QualityItem("en", 0.7),
    ]
    offers = ["en-US", "en-GB", "da"]
    assert best_language(offers, "da, en-gb;q=0.8, en;q=0.7") == "da"
    assert best_language(offers, "en-GB;q=0.8, en;q=0.9") == "en-US"
    assert best_language(["en-GB", "en-US"], "en-us, en;q=0.5") == "en-US"
    assert best_language(offers, "fr") is None
    assert best_language(offers, "fr, *;q=0.1") == "en-US"
    assert best_language(offers, "*, en;q=0") == "da"
    assert best_language(offers, None) == "en-US"
    assert best_language(["en"], "en-US") is None  # basic filtering: range longer than tag
    for bad in ["toolonglanguage", "en_US", "en-", "1en", "en;x=1"]:
        with pytest.raises(InvalidHeader):
            parse_accept_language(bad)


_header_text = st.text(alphabet='abtx/*-;=q.01 ,"\\', max_size=40)


@given(_header_text, st.sampled_from([parse_accept, parse_accept_encoding, parse_accept_language]))
def test_parsers_parse_or_raise_sockit_error(text: str, parser: object) -> None:
    assert callable(parser)
    try:
        items = parser(text)
    except SockitError:
        return
    assert all(0.0 <= item.q <= 1.0 for item in items)


@given(st.text(max_size=30))
def test_best_functions_never_leak_other_errors(text: str) -> None:
    for offers, call in (
        (["text/html", "application/json"], best_match),
        (["gzip", "identity"], best_encoding),
        (["en", "de"], best_language),
    ):
        try:
            chosen = call(offers, text)
        except SockitError:
            continue
        assert chosen is None or chosen in offers
