"""Set-Cookie parsing, matching and the Cookie header (RFC 6265 + 6265bis rules)."""

from __future__ import annotations

import calendar
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.errors import LocalProtocolError
from sockit.limits import CookieLimits
from sockit.proto.http import URL, parse_http_date
from sockit.proto.http.cookies import (
    EARLIEST_EXPIRY,
    LATEST_EXPIRY,
    PUBLIC_SUFFIXES,
    Cookie,
    cookie_applies,
    cookie_header,
    default_path,
    domain_match,
    is_public_suffix,
    make_cookie,
    parse_cookie_date,
    parse_set_cookie,
    path_match,
    registrable_domain,
    same_site,
)

NOW = 1_700_000_000.0
HTTP = URL.parse("http://www.example.com/docs/index.html")
HTTPS = URL.parse("https://www.example.com/")


def parse(value: str | bytes, url: URL = HTTP, **kw: object) -> Cookie | None:
    return parse_set_cookie(value, request_url=url, now=NOW, **kw)  # type: ignore[arg-type]


def must(value: str | bytes, url: URL = HTTP, **kw: object) -> Cookie:
    cookie = parse(value, url, **kw)
    assert cookie is not None, value
    return cookie


def utc(*fields: int) -> float:
    return float(calendar.timegm((*fields, 0, 0, 0)))


# -- RFC 6265 §3.1 examples ------------------------------------------------------


def test_rfc_example_host_only_session_cookie() -> None:
    c = must("SID=31d4d96e407aad42")
    assert (c.name, c.value) == ("SID", "31d4d96e407aad42")
    assert c.host_only and c.domain == "www.example.com"
    assert c.path == "/docs"  # default-path of /docs/index.html
    assert c.expires is None and not c.persistent
    assert (c.creation, c.last_access) == (NOW, NOW)
    assert not c.secure and not c.http_only and c.same_site is None


def test_rfc_example_domain_cookie_reaches_subdomains() -> None:
    c = must("SID=31d4d96e407aad42; Path=/; Domain=example.com")
    assert not c.host_only and c.domain == "example.com" and c.path == "/"
    for url in ("http://example.com/", "http://www.example.com/x", "http://a.b.example.com/"):
        assert cookie_applies(c, URL.parse(url), now=NOW), url
    assert not cookie_applies(c, URL.parse("http://notexample.com/"), now=NOW)
    host_only = must("SID=1; Path=/")
    assert not cookie_applies(host_only, URL.parse("http://a.www.example.com/"), now=NOW)
    assert not cookie_applies(host_only, URL.parse("http://example.com/"), now=NOW)


def test_rfc_example_secure_httponly_and_header() -> None:
    sid = must("SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", HTTPS)
    lang = must("lang=en-US; Path=/; Domain=example.com", HTTPS)
    assert sid.secure and sid.http_only
    assert cookie_header([sid, lang]) == "SID=31d4d96e407aad42; lang=en-US"
    # Secure cookies are never sent over plain http
    assert not cookie_applies(sid, URL.parse("http://www.example.com/"), now=NOW)
    assert cookie_applies(lang, URL.parse("http://www.example.com/"), now=NOW)
    assert cookie_applies(sid, URL.parse("wss://www.example.com/chat"), now=NOW)


def test_rfc_example_expires_and_deletion() -> None:
    c = must("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT")
    assert c.expires == utc(2021, 6, 9, 10, 18, 14) and c.persistent
    assert c.is_expired(NOW)  # 2021 is before NOW: a deletion instruction
    gone = must("lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT")
    assert gone.value == "" and gone.is_expired(NOW)
    assert not cookie_applies(gone, HTTP, now=NOW)


# -- name, value and attribute syntax ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        ("a=b", "a", "b"),
        ("  a  =  b c  ; Path=/", "a", "b c"),
        ("\ta\t=\tb\t", "a", "b"),
        ("a=", "a", ""),
        ('a="quoted; not"', "a", '"quoted'),
        ("a=b=c", "a", "b=c"),
        ("a b=c", "a b", "c"),
    ],
)
def test_name_value(text: str, name: str, value: str) -> None:
    c = must(text)
    assert (c.name, c.value) == (name, value)


@pytest.mark.parametrize(
    "text",
    ["", "novalue", "=value", "  =v", ";a=b", "a=b\x00", "a=b\r\nX: y", "a\x7f=b", "a=\u2603"],
)
def test_ignored_set_cookie(text: str) -> None:
    assert parse(text) is None


def test_bytes_are_latin1_and_htab_is_allowed() -> None:
    c = must(b"n=caf\xe9; Path=/")
    assert c.value == "caf\xe9"
    assert must("n=a\tb").value == "a\tb"


def test_unknown_and_valueless_attributes_are_ignored() -> None:
    c = must("a=b; Foo=bar; ; =x; Secure=ignored-value; HttpOnly=1", HTTPS)
    assert c.secure and c.http_only


@pytest.mark.parametrize(
    ("attr", "expected"),
    [("Strict", "Strict"), ("lax", "Lax"), ("NONE", "None"), ("bogus", None), ("", None)],
)
def test_same_site_values(attr: str, expected: str | None) -> None:
    assert must(f"a=b; SameSite={attr}").same_site == expected


# -- Domain attribute (§5.2.3, §5.3 steps 4-6) -------------------------------------


@pytest.mark.parametrize(
    ("attr", "domain"),
    [
        ("example.com", "example.com"),
        (".example.com", "example.com"),
        ("EXAMPLE.Com", "example.com"),
        ("www.example.com", "www.example.com"),
    ],
)
def test_domain_attribute_accepted(attr: str, domain: str) -> None:
    c = must(f"a=b; Domain={attr}")
    assert c.domain == domain and not c.host_only


@pytest.mark.parametrize(
    "attr",
    [
        "other.com",
        "ww.example.com",
        "a.www.example.com",
        "xample.com",
        "example.com.",
        "..example.com",
    ],
)
def test_domain_attribute_not_matching_host_is_refused(attr: str) -> None:
    assert parse(f"a=b; Domain={attr}") is None


def test_empty_domain_is_ignored_and_dot_means_host_only() -> None:
    assert must("a=b; Domain=").host_only
    assert must("a=b; Domain=example.com; Domain=").domain == "example.com"  # ignored av
    c = must("a=b; Domain=.")
    assert c.host_only and c.domain == "www.example.com"


def test_last_domain_wins() -> None:
    assert must("a=b; Domain=www.example.com; Domain=example.com").domain == "example.com"
    assert parse("a=b; Domain=example.com; Domain=other.com") is None


def test_idna_domain_attribute() -> None:
    url = URL.parse("http://www.b\u00fccher.example/")
    assert url.host == "www.xn--bcher-kva.example"
    c = must("a=b; Domain=B\u00fccher.example", url)
    assert c.domain == "xn--bcher-kva.example" and not c.host_only
    assert parse("a=b; Domain=\u2603\u2603..example", url) is None


def test_ip_hosts_only_match_exactly() -> None:
    url = URL.parse("http://192.168.0.1/")
    assert parse("a=b; Domain=0.1", url) is None
    assert parse("a=b; Domain=168.0.1", url) is None
    c = must("a=b; Domain=192.168.0.1", url)
    assert c.domain == "192.168.0.1"
    assert must("a=b", URL.parse("http://[::1]:8080/")).domain == "::1"


# -- public suffixes -----------------------------------------------------------------


def test_public_suffix_list_shape() -> None:
    assert 100 <= len(PUBLIC_SUFFIXES) <= 400
    for suffix in ("com", "net", "org", "co.uk", "github.io", "herokuapp.com", "appspot.com",
                   "blogspot.com", "com.au", "co.jp"):  # fmt: skip
        assert suffix in PUBLIC_SUFFIXES and is_public_suffix(suffix)
    assert all(s == s.lower() and not s.startswith(".") for s in PUBLIC_SUFFIXES)
    assert is_public_suffix("zz")  # default rule: any single label
    assert not is_public_suffix("example.com")


@pytest.mark.parametrize(
    ("url", "attr"),
    [
        ("http://www.example.com/", "com"),
        ("http://www.example.com/", ".COM"),
        ("http://a.example.co.uk/", "co.uk"),
        ("http://me.github.io/", "github.io"),
        ("http://app.herokuapp.com/", "herokuapp.com"),
        ("http://x.example.zz/", "zz"),
    ],
)
def test_public_suffix_domain_refused(url: str, attr: str) -> None:
    assert parse(f"a=b; Domain={attr}", URL.parse(url)) is None


def test_public_suffix_equal_to_host_becomes_host_only() -> None:
    c = must("a=b; Domain=github.io", URL.parse("https://github.io/"))
    assert c.host_only and c.domain == "github.io"
    assert not cookie_applies(c, URL.parse("https://evil.github.io/"), now=NOW)
    assert must("a=b; Domain=example.co.uk", URL.parse("http://a.example.co.uk/")).domain == (
        "example.co.uk"
    )


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("me.github.io", "me.github.io"),
        ("x.y.zz", "y.zz"),
        ("localhost", "localhost"),
        ("10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_registrable_domain(host: str, site: str) -> None:
    assert registrable_domain(host) == site


# -- Path (§5.1.4, §5.2.4) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("http://h/", "/"),
        ("http://h", "/"),
        ("http://h/a", "/"),
        ("http://h/a/", "/a"),
        ("http://h/a/b", "/a"),
        ("http://h/a/b/c?x=/y/z", "/a/b"),
        ("http://h//", "/"),
    ],
)
def test_default_path(url: str, path: str) -> None:
    assert default_path(URL.parse(url)) == path
    assert must("a=b", URL.parse(url)).path == path


def test_path_attribute() -> None:
    assert must("a=b; Path=/x/y").path == "/x/y"
    assert must("a=b; Path=relative").path == "/docs"
    assert must("a=b; Path=").path == "/docs"
    assert must("a=b; Path=/x; Path=bad").path == "/docs"  # the last one counts


@pytest.mark.parametrize(
    ("request_path", "cookie_path", "ok"),
    [
        ("/docs", "/docs", True),
        ("/docs/", "/docs", True),
        ("/docs/web", "/docs", True),
        ("/docs/web", "/docs/", True),
        ("/docsx", "/docs", False),
        ("/doc", "/docs", False),
        ("/", "/", True),
        ("/anything", "/", True),
        ("/Docs", "/docs", False),
    ],
)
def test_path_match(request_path: str, cookie_path: str, ok: bool) -> None:
    assert path_match(request_path, cookie_path) is ok


@pytest.mark.parametrize(
    ("host", "domain", "ok"),
    [
        ("example.com", "example.com", True),
        ("www.example.com", "example.com", True),
        ("wwwexample.com", "example.com", False),
        ("example.com", "www.example.com", False),
        ("1.2.3.4", "3.4", False),
        ("1.2.3.4", "1.2.3.4", True),
        ("x", "", False),
    ],
)
def test_domain_match(host: str, domain: str, ok: bool) -> None:
    assert domain_match(host, domain) is ok


# -- Expires and Max-Age (§5.2.1, §5.2.2, §5.3 step 3) -------------------------------


def test_max_age_takes_precedence_over_expires_in_any_order() -> None:
    expires = "Expires=Wed, 09 Jun 2100 10:18:14 GMT"
    assert must(f"a=b; Max-Age=60; {expires}").expires == NOW + 60
    assert must(f"a=b; {expires}; Max-Age=60").expires == NOW + 60
    assert must(f"a=b; {expires}").expires == utc(2100, 6, 9, 10, 18, 14)


def test_last_valid_max_age_and_expires_win() -> None:
    assert must("a=b; Max-Age=10; Max-Age=20").expires == NOW + 20
    assert must("a=b; Max-Age=10; Max-Age=x1").expires == NOW + 10
    e1, e2 = "Expires=Thu, 01 Jan 2099 00:00:00 GMT", "Expires=Fri, 01 Jan 2100 00:00:00 GMT"
    assert must(f"a=b; {e1}; {e2}").expires == utc(2100, 1, 1, 0, 0, 0)
    assert must(f"a=b; {e2}; Expires=garbage").expires == utc(2100, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("attr", ["0", "-1", "-0", "-99999999999999999999", "000"])
def test_max_age_not_positive_deletes(attr: str) -> None:
    c = must(f"a=b; Max-Age={attr}; Expires=Fri, 01 Jan 2100 00:00:00 GMT")
    assert c.expires == EARLIEST_EXPIRY and c.is_expired(NOW)


@pytest.mark.parametrize("attr", ["", "abc", "1.5", "+5", "5s", " -", "-", "1 2", "\xb2"])
def test_invalid_max_age_is_ignored(attr: str) -> None:
    assert must(f"a=b; Max-Age={attr}").expires is None


def test_huge_max_age_saturates() -> None:
    assert must("a=b; Max-Age=99999999999999999999").expires == LATEST_EXPIRY
    assert must("a=b; Max-Age=" + "9" * 10_000).expires == LATEST_EXPIRY
    assert must("a=b; Max-Age=007").expires == NOW + 7


# -- the cookie-date algorithm (§5.1.1) ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("Wed, 09 Jun 2021 10:18:14 GMT", (2021, 6, 9, 10, 18, 14)),
        ("Wednesday, 09-Jun-21 10:18:14 GMT", (2021, 6, 9, 10, 18, 14)),
        ("Wed Jun  9 10:18:14 2021", (2021, 6, 9, 10, 18, 14)),
        ("09 Jun 2021 10:18:14", (2021, 6, 9, 10, 18, 14)),
        ("Wed, 09-Jun-2021 10:18:14 GMT", (2021, 6, 9, 10, 18, 14)),
        ("wed, 9 JUNE 2021 1:2:3 gmt", (2021, 6, 9, 1, 2, 3)),
        ("2021 Jun 9 10:18:14", (2021, 6, 9, 10, 18, 14)),
        ("Jun 9, 2021, 10:18:14 PST", (2021, 6, 9, 10, 18, 14)),
        ("10:18:14GMT 09th Junk 2021AD", (2021, 6, 9, 10, 18, 14)),
        ("Thu, 01 Jan 1970 00:00:01 GMT", (1970, 1, 1, 0, 0, 1)),
        ("01 Jan 70 00:00:00", (1970, 1, 1, 0, 0, 0)),
        ("01 Jan 99 00:00:00", (1999, 1, 1, 0, 0, 0)),
        ("01 Jan 00 00:00:00", (2000, 1, 1, 0, 0, 0)),
        ("01 Jan 69 00:00:00", (2069, 1, 1, 0, 0, 0)),
        ("01 Jan 1601 00:00:00", (1601, 1, 1, 0, 0, 0)),
        ("29 Feb 2000 23:59:59", (2000, 2, 29, 23, 59, 59)),
        ("31 Dec 9999 23:59:59", (9999, 12, 31, 23, 59, 59)),
    ],
)
def test_cookie_date_formats(text: str, fields: tuple[int, ...]) -> None:
    assert parse_cookie_date(text) == utc(*fields)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Wed, 09 Jun 2021",  # no time
        "09 Jun 10:18:14",  # no year
        "Jun 2021 10:18:14",  # no day (2021 is no day-of-month)
        "09 2021 10:18:14",  # no month
        "30 Feb 2021 00:00:00",
        "31 Apr 2021 00:00:00",
        "29 Feb 1900 00:00:00",
        "32 Jan 2021 00:00:00",
        "00 Jan 2021 00:00:00",
        "01 Jan 1600 00:00:00",
        "01 Jan 2021 24:00:00",
        "01 Jan 2021 23:60:00",
        "01 Jan 2021 23:59:60",
        "01 Jan 20211 00:00:00",
        "01 Jan 2021 000:00:00",
        "01 Ja 2021 00:00:00",
    ],
)
def test_cookie_date_failures(text: str) -> None:
    assert parse_cookie_date(text) is None


def test_cookie_date_agrees_with_http_dates() -> None:
    for text in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                 "Sun Nov  6 08:49:37 1994"):  # fmt: skip
        assert parse_cookie_date(text) == parse_http_date(text)


@given(st.text(max_size=60))
def test_cookie_date_never_raises(text: str) -> None:
    result = parse_cookie_date(text)
    assert result is None or utc(1601, 1, 1, 0, 0, 0) <= result <= LATEST_EXPIRY


# -- 6265bis: Secure from insecure origins, name prefixes -----------------------------


def test_insecure_response_cannot_set_secure_cookie() -> None:
    assert parse("a=b; Secure") is None
    assert parse("a=b; secure", URL.parse("ws://www.example.com/")) is None
    assert must("a=b; Secure", HTTPS).secure
    assert must("a=b; Secure", URL.parse("wss://www.example.com/")).secure


@pytest.mark.parametrize(
    ("text", "url", "ok"),
    [
        ("__Secure-a=b; Secure", HTTPS, True),
        ("__secure-a=b; Secure; Domain=example.com", HTTPS, True),
        ("__Secure-a=b", HTTPS, False),
        ("__Secure-a=b; Secure", HTTP, False),
        ("__Host-a=b; Secure; Path=/", HTTPS, True),
        ("__HOST-a=b; Secure; Path=/", HTTPS, True),
        ("__Host-a=b; Secure", HTTPS, False),  # no Path=/
        ("__Host-a=b; Secure; Path=/; Domain=www.example.com", HTTPS, False),
        ("__Host-a=b; Path=/", HTTPS, False),
        ("__Host-a=b; Secure; Path=/x", HTTPS, False),
        ("_Host-a=b", HTTP, True),
    ],
)
def test_cookie_prefixes(text: str, url: URL, ok: bool) -> None:
    assert (parse(text, url) is not None) is ok


# -- limits at N and N+1 -------------------------------------------------------------


LIMITS = CookieLimits(max_name_size=8, max_value_size=16, max_domain_size=16, max_path_size=10)


def test_name_and_value_limits() -> None:
    assert must("n" * 8 + "=v", limits=LIMITS).name == "n" * 8
    assert parse("n" * 9 + "=v", limits=LIMITS) is None
    assert must("n=" + "v" * 16, limits=LIMITS).value == "v" * 16
    assert parse("n=" + "v" * 17, limits=LIMITS) is None


def test_domain_limit() -> None:
    host = "a." + "b" * 10 + ".com"  # 16 characters
    url = URL.parse(f"http://x.{host}/")
    assert len(host) == 16
    assert must(f"n=v; Domain={host}", url, limits=LIMITS).domain == host
    assert must(f"n=v; Domain=.{host}", url, limits=LIMITS).domain == host  # dot not counted
    longer = URL.parse(f"http://ab.{host}/")
    assert parse(f"n=v; Domain=b.{host}", longer, limits=LIMITS) is None
    assert parse("n=v", longer, limits=LIMITS) is None  # host-only domain is bounded too


def test_path_limit() -> None:
    assert must("n=v; Path=/" + "p" * 9, limits=LIMITS).path == "/" + "p" * 9
    assert parse("n=v; Path=/" + "p" * 10, limits=LIMITS) is None
    deep = URL.parse("http://h/" + "d" * 10 + "/leaf")
    assert parse("n=v", deep, limits=LIMITS) is None  # default-path over the limit
    assert must("n=v; Path=/", deep, limits=LIMITS).path == "/"


def test_relative_request_url_is_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        parse_set_cookie("a=b", request_url=URL.parse("/relative"), now=NOW)


# -- selection and the Cookie header (§5.4) ------------------------------------------


def test_header_order_path_length_then_creation() -> None:
    a = Cookie("a", "1", "h", "/", creation=3.0)
    b = Cookie("b", "2", "h", "/long/path", creation=5.0)
    c = Cookie("c", "3", "h", "/long", creation=1.0)
    d = Cookie("d", "4", "h", "/", creation=2.0)
    assert cookie_header([a, b, c, d]) == "b=2; c=3; d=4; a=1"
    assert cookie_header([]) == ""


def test_cookie_applies_checks_expiry_path_and_host() -> None:
    c = Cookie("a", "1", "www.example.com", "/docs", expires=NOW + 1)
    assert cookie_applies(c, URL.parse("http://www.example.com/docs/x"), now=NOW)
    assert not cookie_applies(c, URL.parse("http://www.example.com/docs/x"), now=NOW + 1)
    assert not cookie_applies(c, URL.parse("http://www.example.com/other"), now=NOW)
    assert not cookie_applies(c, URL.parse("http://WWW.example.org/docs"), now=NOW)
    root = dataclasses.replace(c, path="/")
    assert cookie_applies(root, URL.parse("http://www.example.com"), now=NOW)


def test_same_site_enforced_only_for_cross_site_requests() -> None:
    strict = Cookie("s", "1", "h", same_site="Strict")
    lax = Cookie("l", "1", "h", same_site="Lax")
    none = Cookie("n", "1", "h", same_site="None")
    plain = Cookie("p", "1", "h")
    url = URL.parse("http://h/")
    for c in (strict, lax, none, plain):
        assert cookie_applies(c, url, now=NOW)  # same-site: everything goes
    cross = {"now": NOW, "cross_site": True}
    assert not cookie_applies(strict, url, **cross)  # type: ignore[arg-type]
    assert cookie_applies(lax, url, **cross)  # type: ignore[arg-type]
    assert not cookie_applies(lax, url, **cross, method="POST")  # type: ignore[arg-type]
    assert not cookie_applies(lax, url, **cross, top_level=False)  # type: ignore[arg-type]
    assert cookie_applies(none, url, **cross, method="POST")  # type: ignore[arg-type]
    assert cookie_applies(plain, url, **cross, top_level=False)  # type: ignore[arg-type]


def test_same_site_is_schemeful_and_by_registrable_domain() -> None:
    a = URL.parse("https://a.example.com/")
    assert same_site(a, URL.parse("https://b.example.com/x"))
    assert not same_site(a, URL.parse("http://a.example.com/"))
    assert not same_site(a, URL.parse("https://example.org/"))
    assert not same_site(URL.parse("https://a.github.io/"), URL.parse("https://b.github.io/"))


# -- programmatic cookies ------------------------------------------------------------


def test_make_cookie() -> None:
    c = make_cookie("n", "v", domain=".Example.com", now=NOW, expires=NOW + 5)
    assert (c.domain, c.host_only, c.path, c.expires) == ("example.com", False, "/", NOW + 5)
    assert make_cookie("n", "v", domain="com", now=NOW, host_only=True).domain == "com"
    big = make_cookie("n", "v", domain="h", now=NOW, host_only=True, expires=1e300)
    assert big.expires == LATEST_EXPIRY


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "a=b"},
        {"name": "a;b"},
        {"name": " a"},
        {"name": "a\nb"},
        {"name": "n" * 257},
        {"value": "a;b"},
        {"value": "x\r\n"},
        {"value": "v" * 4097},
        {"value": "\u2603"},
        {"domain": ""},
        {"domain": "com"},
        {"domain": "co.uk"},
        {"domain": "\u2603..x"},
        {"path": "relative"},
        {"path": "/" * 1025},
        {"same_site": "lax"},
    ],
)
def test_make_cookie_refuses(kwargs: dict[str, str]) -> None:
    args = {"name": "n", "value": "v", "domain": "example.com", **kwargs}
    name, value = args.pop("name"), args.pop("value")
    with pytest.raises(LocalProtocolError):
        make_cookie(name, value, now=NOW, **args)  # type: ignore[arg-type]


# -- arbitrary input ------------------------------------------------------------------

_ATTR = st.sampled_from(
    ["Domain", "Path", "Expires", "Max-Age", "Secure", "HttpOnly", "SameSite", "x", ""]
)
_PIECE = st.one_of(
    st.text(max_size=20),
    st.builds(lambda a, v: f"{a}={v}", _ATTR, st.text(max_size=30)),
    st.sampled_from(["example.com", ".www.example.com", "/", "/docs/x", "-1", "0", "com"]),
)


@settings(max_examples=300)
@given(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        st.lists(_PIECE, max_size=8).map("; ".join),
    ),
    st.sampled_from([HTTP, HTTPS, URL.parse("http://10.0.0.1:8/a/b"), URL.parse("https://h/")]),
)
def test_arbitrary_set_cookie_never_raises(value: str | bytes, url: URL) -> None:
    c = parse_set_cookie(value, request_url=url, now=NOW, limits=LIMITS)
    if c is None:
        return
    assert url.host is not None
    assert c.name and ";" not in c.value and len(c.name) <= 8 and len(c.value) <= 16
    assert c.path.startswith("/") and len(c.path) <= 10
    assert domain_match(url.host, c.domain) and len(c.domain) <= 16
    if c.host_only:
        assert c.domain == url.host
    assert not c.secure or url.scheme == "https"
