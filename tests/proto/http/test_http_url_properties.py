"""Property tests for URL parsing, serialization, resolution and percent-coding."""

from __future__ import annotations

import string

from hypothesis import assume, given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.http import (
    URL,
    encode_query,
    parse_query,
    quote,
    remove_dot_segments,
    unquote,
)

_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS = "!$&'()*+,;="


def _pct(upper: bool = False) -> st.SearchStrategy[str]:
    digits = "0123456789ABCDEF" if upper else "0123456789abcdefABCDEF"
    return st.tuples(st.sampled_from(digits), st.sampled_from(digits)).map(
        lambda t: "%" + t[0] + t[1]
    )


def _chars(alphabet: str, *, upper_pct: bool = False, max_size: int = 8) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(alphabet), _pct(upper_pct))
    return st.lists(piece, max_size=max_size).map("".join)


_scheme = st.from_regex(r"[a-z][a-z0-9+.\-]{0,6}", fullmatch=True)
_userinfo = _chars(_UNRESERVED + _SUB_DELIMS + ":")
_reg_name = _chars(string.ascii_lowercase + string.digits + "-._~" + _SUB_DELIMS, upper_pct=True)
_ipv4 = st.ip_addresses(v=4).map(str)
_ipv6 = st.ip_addresses(v=6).map(lambda a: f"[{a.compressed}]")
_host = st.one_of(_reg_name, _ipv4, _ipv6)
_pchar = _UNRESERVED + _SUB_DELIMS + ":@"
_segment = _chars(_pchar)
_segment_nz = _segment.filter(bool)
_query = _chars(_pchar + "/?")


@st.composite
def _path_abempty(draw: st.DrawFn) -> str:
    return "".join("/" + s for s in draw(st.lists(_segment, max_size=4)))


@st.composite
def uri_text(draw: st.DrawFn) -> str:
    """Valid URI references built from the RFC 3986 grammar."""
    out = ""
    has_scheme = draw(st.booleans())
    if has_scheme:
        out += draw(_scheme) + ":"
    if draw(st.booleans()):
        authority = draw(_host)
        if draw(st.booleans()):
            authority = draw(_userinfo) + "@" + authority
        if draw(st.booleans()):
            authority += ":" + str(draw(st.integers(0, 65535)))
        out += "//" + authority + draw(_path_abempty())
    else:
        kind = draw(st.sampled_from(["absolute", "rootless", "empty"]))
        if kind == "absolute":
            out += "/"
            if draw(st.booleans()):
                out += draw(_segment_nz) + draw(_path_abempty())
        elif kind == "rootless":
            first = draw(_segment_nz)
            if not has_scheme:
                assume(":" not in first)
            out += first + draw(_path_abempty())
    if draw(st.booleans()):
        out += "?" + draw(_query)
    if draw(st.booleans()):
        out += "#" + draw(_query)
    return out


@given(uri_text())
def test_serialize_parse_is_exact_for_canonical_case(text: str) -> None:
    url = URL.parse(text)
    assert str(url) == text
    assert URL.parse(str(url)) == url


@given(uri_text())
def test_normalize_is_idempotent_and_serializable(text: str) -> None:
    norm = URL.parse(text).normalize()
    assert norm.normalize() == norm
    assert URL.parse(str(norm)) == norm


@given(uri_text(), uri_text())
def test_join_results_are_valid_and_absolute(base_text: str, ref_text: str) -> None:
    base = URL.parse(base_text)
    assume(base.scheme is not None)
    base = base.replace(fragment=None)
    joined = base.join(ref_text)
    assert joined.scheme is not None
    assert URL.parse(str(joined)).normalize() == joined.normalize()
    if ref_text.startswith("#") or ref_text == "":
        assert joined.path == base.path
        assert joined.query == base.query


def _reference_remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 transcribed with string buffers (slow, obviously literal)."""
    inp, out = path, ""
    while inp:
        if inp.startswith("../"):
            inp = inp[3:]
        elif inp.startswith(("./", "/./")):  # A drops "./"; B turns "/./" into "/"
            inp = inp[2:]
        elif inp == "/.":
            inp = "/"
        elif inp.startswith("/../"):
            inp = inp[3:]
            out = out[: max(out.rfind("/"), 0)]
        elif inp == "/..":
            inp = "/"
            out = out[: max(out.rfind("/"), 0)]
        elif inp in (".", ".."):
            inp = ""
        else:
            start = 1 if inp.startswith("/") else 0
            cut = inp.find("/", start)
            cut = len(inp) if cut < 0 else cut
            out += inp[:cut]
            inp = inp[cut:]
    return out


@given(st.text(alphabet="/.ab", max_size=30))
def test_remove_dot_segments_matches_literal_algorithm(path: str) -> None:
    assert remove_dot_segments(path) == _reference_remove_dot_segments(path)


@given(st.text(max_size=60))
def test_parse_arbitrary_text_parses_or_raises_sockit_error(text: str) -> None:
    try:
        url = URL.parse(text)
    except SockitError:
        return
    assert URL.parse(str(url)) == url


@given(st.binary(max_size=60), st.sampled_from(["GET", "CONNECT", "OPTIONS"]), st.booleans())
def test_request_target_arbitrary_bytes(target: bytes, method: str, lenient: bool) -> None:
    try:
        url = URL.from_request_target(target, method, lenient=lenient)
    except SockitError:
        return
    if method == "CONNECT":
        assert url.host and url.port is not None
    elif target.startswith(b"/"):
        assert url.request_target == target.decode("ascii")
    else:
        assert url.fragment is None


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_quote_unquote_round_trip(text: str) -> None:
    encoded = quote(text)
    assert encoded.isascii()
    assert set(encoded) <= set(_UNRESERVED + "%0123456789ABCDEF")
    assert unquote(encoded) == text


@given(st.text(max_size=30))
def test_unquote_arbitrary_text_never_leaks_other_errors(text: str) -> None:
    try:
        decoded = unquote(text)
    except SockitError:
        assert "%" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    if "%" not in text:
        assert decoded == text


@given(
    st.lists(
        st.tuples(
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=8),
            st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
        ),
        max_size=5,
    )
)
def test_query_round_trip(pairs: list[tuple[str, str]]) -> None:
    assert parse_query(encode_query(pairs)) == pairs
