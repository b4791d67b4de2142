"""URL.from_request_target: the four request-target forms of RFC 9112 §3.2."""

from __future__ import annotations

import pytest

from sockit.proto.http import URL, InvalidURL


def test_origin_form() -> None:
    url = URL.from_request_target(b"/where?q=now", "GET")
    assert (url.scheme, url.host, url.path, url.query) == (None, None, "/where", "q=now")
    assert url.request_target == "/where?q=now"
    assert URL.from_request_target("/", "GET").query is None
    assert URL.from_request_target("/?", "GET").query == ""


def test_origin_form_with_double_slash_is_a_path() -> None:
    url = URL.from_request_target(b"//evil.example/x", "GET")
    assert url.host is None
    assert url.path == "//evil.example/x"
    assert url.request_target == "//evil.example/x"


def test_origin_form_lenient_by_default() -> None:
    url = URL.from_request_target(b"/search?a[]=1&b={x}|^`\\", "GET")
    assert url.query == "a[]=1&b={x}|^`\\"
    with pytest.raises(InvalidURL):
        URL.from_request_target(b"/search?a[]=1", "GET", lenient=False)


def test_absolute_form() -> None:
    url = URL.from_request_target(b"http://www.example.org/pub/WWW/TheProject.html", "GET")
    assert url.host == "www.example.org"
    assert url.request_target == "/pub/WWW/TheProject.html"
    url = URL.from_request_target(b"https://[::1]:8443", "GET")
    assert url.host_header == "[::1]:8443"
    assert url.request_target == "/"


def test_authority_form_for_connect() -> None:
    url = URL.from_request_target(b"www.example.com:80", b"CONNECT")
    assert (url.scheme, url.host, url.port, url.path) == (None, "www.example.com", 80, "")
    assert url.host_header == "www.example.com:80"
    v6 = URL.from_request_target(b"[2001:db8::1]:443", "CONNECT")
    assert (v6.host, v6.port) == ("2001:db8::1", 443)


def test_asterisk_form_for_options() -> None:
    url = URL.from_request_target(b"*", b"OPTIONS")
    with pytest.raises(InvalidURL):
        URL.from_request_target(b"*", b"GET")
    assert url.path == "*"
    assert url.request_target == "*"


@pytest.mark.parametrize(
    ("target", "method"),
    [
        (b"", "GET"),
        (b"*", "GET"),
        (b"/x", "CONNECT"),
        (b"example.com", "CONNECT"),  # port required
        (b"example.com:", "CONNECT"),
        (b"user@example.com:443", "CONNECT"),
        (b"http://example.com:443", "CONNECT"),
        (b":443", "CONNECT"),
        (b"/a#frag", "GET"),
        (b"/a b", "GET"),
        (b"/a\x00", "GET"),
        (b"/caf\xc3\xa9", "GET"),
        (b"/%zz", "GET"),
        (b"/?%", "GET"),
        (b"http://a/#frag", "GET"),
        (b"http:///nohost", "GET"),
        (b"http:relative", "GET"),
        (b"https://user:pw@example.com/", "GET"),
        (b"relative/path", "GET"),
        (b"http://a:99999/", "GET"),
    ],
)
def test_invalid_request_targets(target: bytes, method: str) -> None:
    with pytest.raises(InvalidURL) as info:
        URL.from_request_target(target, method)
    assert info.value.http_status == 400


def test_non_ascii_str_target_refused() -> None:
    with pytest.raises(InvalidURL):
        URL.from_request_target("http://bücher.example/", "GET")
