"""Headers: the ordered, case-insensitive multi-dict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import Headers, InvalidHeader, is_valid_name, is_valid_value


def test_lookup_is_case_insensitive_and_keeps_raw_case() -> None:
    h = Headers([("Content-Type", "text/html"), ("X-Thing", "1")])
    assert h["content-type"] == "text/html"
    assert h[b"CONTENT-TYPE"] == "text/html"
    assert h.get("x-thing") == "1"
    assert h.raw_items() == [(b"Content-Type", b"text/html"), (b"X-Thing", b"1")]
    assert h.items() == [("Content-Type", "text/html"), ("X-Thing", "1")]


def test_missing_name() -> None:
    h = Headers()
    assert h.get("a") is None
    assert h.get("a", "dflt") == "dflt"
    assert h.get_all("a") == []
    assert h.get_raw("a") is None
    assert "a" not in h
    with pytest.raises(KeyError):
        h["a"]


def test_repeated_fields_combine_with_comma_in_order() -> None:
    h = Headers([("Accept", "a"), ("Other", "x"), ("accept", "b"), ("ACCEPT", "c")])
    assert h["accept"] == "a, b, c"
    assert h.get_raw("Accept") == b"a, b, c"
    assert h.get_all("accept") == ["a", "b", "c"]
    assert h.get_all_raw("accept") == [b"a", b"b", b"c"]
    assert len(h) == 4
    assert h.keys() == ["accept", "other"]


def test_set_cookie_is_never_combined() -> None:
    h = Headers(
        [("Set-Cookie", "a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT"), ("Set-Cookie", "b=2")]
    )
    assert h.get_all("set-cookie") == ["a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "b=2"]
    with pytest.raises(LocalProtocolError, match="get_all"):
        h["set-cookie"]
    with pytest.raises(LocalProtocolError):
        h.get("Set-Cookie")
    single = Headers([("Set-Cookie", "a=1")])
    assert single["set-cookie"] == "a=1"


def test_kelvin_sign_does_not_alias_ascii_k() -> None:
    h = Headers([("k", "1")])
    assert "\u212a" not in h
    assert h.get("\u212a") is None
    assert h.get("\u0100") is None  # beyond latin-1: cannot be stored at all


def test_add_validates_names_and_values() -> None:
    h = Headers()
    for bad_name in ["", "a b", "a:b", "a\r\n", "é", "a\x00"]:
        with pytest.raises(LocalProtocolError):
            h.add(bad_name, "v")
    for bad_value in [" lead", "trail ", "a\r\nInjected: 1", "nul\x00", "del\x7f", "\u0100"]:
        with pytest.raises(LocalProtocolError):
            h.add("X", bad_value)
    with pytest.raises(LocalProtocolError):
        h.add("X", 5)  # type: ignore[arg-type]
    assert len(h) == 0
    h.add("X", "")
    h.add("Y", "tab\tinside, obs-text \xe9")
    assert h.get_raw("y") == b"tab\tinside, obs-text \xe9"
    assert h["y"] == "tab\tinside, obs-text \xe9"


def test_constructor_forms() -> None:
    from_dict = Headers({"A": "1", "B": "2"})
    from_bytes = Headers([(b"A", b"1"), (b"b", b"2")])
    assert from_dict == from_bytes
    assert Headers(from_dict) == from_dict
    with pytest.raises(LocalProtocolError):
        Headers([("a", "1", "extra")])  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        Headers({"bad name": "x"})


def test_from_raw_does_not_validate_but_indexes() -> None:
    h = Headers.from_raw([(b"Host", b"example.com"), (b"X-A", b"1"), (b"x-a", b"2")])
    assert h["host"] == "example.com"
    assert h.get_all("X-A") == ["1", "2"]
    assert h.raw_items()[1] == (b"X-A", b"1")


def test_set_replaces_in_place() -> None:
    h = Headers([("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")])
    h.set("a", "new")
    assert h.items() == [("a", "new"), ("B", "2"), ("C", "4")]
    assert h.get_all("A") == ["new"]
    assert h.raw_items()[0] == (b"a", b"new")
    h["b"] = "via setitem"
    assert h.get_all("B") == ["via setitem"]
    h.set("D", "5")
    assert h.items()[-1] == ("D", "5")
    with pytest.raises(LocalProtocolError):
        h.set("A", "bad\n")


def test_remove_and_delitem() -> None:
    h = Headers([("A", "1"), ("B", "2"), ("a", "3")])
    assert h.remove("A") == 2
    assert h.items() == [("B", "2")]
    assert h.remove("A") == 0
    del h["b"]
    assert len(h) == 0
    with pytest.raises(KeyError):
        del h["b"]


def test_copy_is_independent() -> None:
    h = Headers([("A", "1")])
    c = h.copy()
    c.add("A", "2")
    c.add("B", "3")
    assert h.get_all("a") == ["1"]
    assert "b" not in h
    assert c.get_all("a") == ["1", "2"]


def test_equality_rules() -> None:
    a = Headers([("A", "1"), ("B", "2")])
    assert a == Headers([("b", "2"), ("a", "1")])  # different names: order irrelevant
    assert Headers([("A", "1"), ("A", "2")]) != Headers([("A", "2"), ("A", "1")])
    assert a != Headers([("A", "1")])
    assert a != [("A", "1"), ("B", "2")]
    with pytest.raises(TypeError):
        hash(a)


def test_iteration_and_len_count_field_lines() -> None:
    h = Headers([("A", "1"), ("a", "2")])
    assert list(h) == [("A", "1"), ("a", "2")]
    assert len(h) == 2


def test_get_list_splits_outside_quotes_and_drops_empties() -> None:
    h = Headers(
        [
            ("Cache-Control", 'no-cache="set-cookie, x", , max-age=5'),
            ("cache-control", ",,public,"),
        ]
    )
    assert h.get_list("cache-control") == ['no-cache="set-cookie, x"', "max-age=5", "public"]
    assert h.get_list("missing") == []
    bad = Headers([("X", 'a, "unterminated')])
    with pytest.raises(InvalidHeader):
        bad.get_list("x")


def test_repr_redacts_credentials() -> None:
    h = Headers([("Authorization", "Bearer secret"), ("X", "shown")])
    text = repr(h)
    assert "secret" not in text
    assert "shown" in text


def test_validators() -> None:
    assert is_valid_name("Content-Type")
    assert is_valid_name(b"x!#$%&'*+-.^_`|~")
    assert not is_valid_name("")
    assert not is_valid_name("a(b")
    assert is_valid_value("")
    assert is_valid_value("a b\tc")
    assert is_valid_value(b"\x80\xff")
    assert not is_valid_value("a\tb\t")
    assert not is_valid_value("\tb")
    assert not is_valid_value("a\rb")
    assert not is_valid_value("a\nb")
    assert not is_valid_value("\u20ac")


@given(st.lists(st.tuples(st.binary(max_size=10), st.binary(max_size=10)), max_size=12))
def test_from_raw_index_consistent(pairs: list[tuple[bytes, bytes]]) -> None:
    h = Headers.from_raw(pairs)
    assert len(h) == len(pairs)
    for name, _ in pairs:
        expected = [v for n, v in pairs if n.lower() == name.lower()]
        assert h.get_all_raw(name) == expected


_names = st.sampled_from(["A", "a", "B", "Set-Cookie", "x-y"])
_values = st.text(alphabet='abc ,;="', max_size=6).map(lambda s: s.strip(" "))


@given(st.lists(st.tuples(st.sampled_from(["add", "set", "remove"]), _names, _values), max_size=20))
def test_mutations_keep_index_consistent(ops: list[tuple[str, str, str]]) -> None:
    h = Headers()
    model: list[tuple[str, str]] = []
    for op, name, value in ops:
        if op == "add":
            h.add(name, value)
            model.append((name, value))
        elif op == "remove":
            h.remove(name)
            model = [(n, v) for n, v in model if n.lower() != name.lower()]
        else:
            h.set(name, value)
            first = next((i for i, (n, _) in enumerate(model) if n.lower() == name.lower()), None)
            if first is None:
                model.append((name, value))
            else:
                kept = [(n, v) for n, v in model if n.lower() != name.lower()]
                model = [*kept[:first], (name, value), *kept[first:]]
    assert h.items() == model
    for name in {n.lower() for n, _ in model}:
        assert h.get_all(name) == [v for n, v in model if n.lower() == name]
    assert h == Headers(model)


@given(st.text(max_size=40))
def test_get_list_parses_or_raises_sockit_error(value: str) -> None:
    h = Headers.from_raw([(b"x", value.encode("utf-8"))])
    try:
        elements = h.get_list("x")
    except SockitError:
        return
    assert all(e and e == e.strip(" \t") for e in elements)
