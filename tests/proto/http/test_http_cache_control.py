"""Cache-Control parsing and serialization."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import CacheControl, InvalidHeader
from sockit.proto.http.cache_control import DELTA_SECONDS_MAX


def test_response_directives() -> None:
    cc = CacheControl.parse(
        'Public, MAX-AGE=60, s-maxage="120", must-revalidate, no-cache="Set-Cookie, x-a", '
        "stale-while-revalidate=30, immutable"
    )
    assert cc.public
    assert cc.max_age == 60
    assert cc.s_maxage == 120
    assert cc.must_revalidate
    assert not cc.no_cache  # only the qualified form was present
    assert cc.no_cache_fields == ("set-cookie", "x-a")
    assert cc.stale_while_revalidate == 30
    assert cc.immutable
    assert not cc.no_store


def test_request_directives() -> None:
    cc = CacheControl.parse("no-cache, max-stale, min-fresh=5, only-if-cached, no-transform")
    assert cc.no_cache
    assert cc.max_stale_any and cc.max_stale is None
    assert cc.min_fresh == 5
    assert cc.only_if_cached
    assert cc.no_transform
    assert CacheControl.parse("max-stale=10").max_stale == 10


def test_first_occurrence_wins_and_flags_accumulate() -> None:
    cc = CacheControl.parse("max-age=10, max-age=20, private, private=x")
    assert cc.max_age == 10
    assert cc.private and cc.private_fields == ("x",)


def test_delta_seconds_saturate() -> None:
    assert CacheControl.parse("max-age=2147483649").max_age == DELTA_SECONDS_MAX
    assert CacheControl.parse("max-age=" + "9" * 5000).max_age == DELTA_SECONDS_MAX
    assert CacheControl.parse("max-age=007").max_age == 7


@pytest.mark.parametrize(
    "text",
    [
        "max-age",
        "max-age=",
        "max-age=-1",
        "max-age=1.5",
        "max-age=abc",
        'max-age="1 "',
        "max-age=\u0661",
        "no-store=1",
        "no-cache=",
        'no-cache=""',
        'no-cache="a b"',
        "max-age = 5",
        'private="unterminated',
        "a b",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidHeader):
        CacheControl.parse(text)


def test_extensions_kept() -> None:
    cc = CacheControl.parse('community="UCI", foo, Bar=baz')
    assert cc.extensions == (("community", "UCI"), ("foo", None), ("bar", "baz"))


def test_serialize_round_trip() -> None:
    cc = CacheControl(
        max_age=0,
        no_cache_fields=("set-cookie",),
        private=True,
        no_store=True,
        max_stale_any=True,
        extensions=(("ext", "a b"),),
    )
    text = str(cc)
    assert text == 'max-age=0, max-stale, no-cache="set-cookie", private, no-store, ext="a b"'
    assert CacheControl.parse(text) == cc
    assert str(CacheControl()) == ""
    assert CacheControl.parse("") == CacheControl()


def test_constructor_validates() -> None:
    with pytest.raises(LocalProtocolError):
        CacheControl(max_age=-1)
    with pytest.raises(LocalProtocolError):
        CacheControl(max_age=True)
    with pytest.raises(LocalProtocolError):
        CacheControl(no_cache_fields=("bad field",))
    with pytest.raises(LocalProtocolError):
        CacheControl(extensions=(("x", "\n"),))


@given(st.text(alphabet='max-ge=0159,; "noc\\', max_size=40))
def test_arbitrary_text_parses_or_raises_sockit_error(text: str) -> None:
    try:
        cc = CacheControl.parse(text)
    except SockitError:
        return
    assert CacheControl.parse(str(cc)) == cc
