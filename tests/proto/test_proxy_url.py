"""Proxy URLs (valid and invalid) and the proxy environment variables, NO_PROXY included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import ProxyError, SockitError
from sockit.limits import ProxyLimits
from sockit.proto.proxy_url import (
    ProxyScheme,
    ProxyURL,
    ProxyURLError,
    no_proxy_matches,
    proxy_from_environment,
)
from sockit.proto.socks import SOCKSVersion

P = ProxyScheme


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("socks5://127.0.0.1", ProxyURL(P.SOCKS5, "127.0.0.1", 1080)),
        ("socks5h://proxy.lan:9050", ProxyURL(P.SOCKS5H, "proxy.lan", 9050)),
        ("SOCKS4://10.0.0.1:1081/", ProxyURL(P.SOCKS4, "10.0.0.1", 1081)),
        ("socks4a://u@h", ProxyURL(P.SOCKS4A, "h", 1080, "u", None)),
        ("http://proxy", ProxyURL(P.HTTP, "proxy", 80)),
        ("https://proxy", ProxyURL(P.HTTPS, "proxy", 443)),
        ("http://[::1]:3128", ProxyURL(P.HTTP, "::1", 3128)),
        ("http://[::1]", ProxyURL(P.HTTP, "::1", 80)),
        ("socks5://user:pa%3Ass%40w%2Frd@h:1", ProxyURL(P.SOCKS5, "h", 1, "user", "pa:ss@w/rd")),
        ("socks5://us%C3%A9r:@h", ProxyURL(P.SOCKS5, "h", 1080, "usér", "")),
        ("socks5://a@b@h", ProxyURL(P.SOCKS5, "h", 1080, "a@b", None)),
        ("http://h:65535", ProxyURL(P.HTTP, "h", 65535)),
    ],
)
def test_valid_urls(url: str, expected: ProxyURL) -> None:
    parsed = ProxyURL.parse(url)
    assert parsed == expected
    assert ProxyURL.parse(parsed.to_url()) == parsed


@pytest.mark.parametrize(
    "url",
    [
        "",
        "proxy:8080",
        "ftp://h",
        "socks6://h",
        "socks5://",
        "socks5://h:0",
        "socks5://h:65536",
        "socks5://h:12x",
        "socks5://h:-1",
        "socks5://h:١٢",  # non-ASCII digits
        "socks5://h/path",
        "socks5://h?q=1",
        "socks5://h#frag",
        "socks5://h h",
        "socks5://h\n",
        "http://::1:80",  # IPv6 without brackets
        "http://[::1",
        "http://[::1]x",
        "http://[example.com]:80",
        "socks5://%FF@h",  # not UTF-8
        "socks5://exa\x00mple",
    ],
)
def test_invalid_urls(url: str) -> None:
    with pytest.raises(ProxyURLError) as info:
        ProxyURL.parse(url)
    assert isinstance(info.value, ProxyError)


def test_error_messages_never_show_credentials() -> None:
    with pytest.raises(ProxyURLError) as info:
        ProxyURL.parse("socks5:/user:hunter2@h")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(("field", "limit"), [("user", "username"), ("password", "password")])
def test_credential_bounds_at_n_and_n_plus_1(field: str, limit: str) -> None:
    limits = ProxyLimits(max_username_size=8, max_password_size=8)

    def url(size: int) -> str:
        value = "%41" * size  # the bound counts decoded bytes
        return f"socks5://{value}:p@h" if field == "user" else f"socks5://u:{value}@h"

    assert ProxyURL.parse(url(8), limits=limits)
    with pytest.raises(ProxyURLError, match=f"max_{limit}_size"):
        ProxyURL.parse(url(9), limits=limits)


def test_host_and_url_bounds_at_n_and_n_plus_1() -> None:
    assert ProxyURL.parse("socks5://" + "a" * 255).host == "a" * 255
    with pytest.raises(ProxyURLError, match="max_hostname_size"):
        ProxyURL.parse("socks5://" + "a" * 256)
    limits = ProxyLimits(max_url_size=20)
    assert ProxyURL.parse("socks5://h2345678:89", limits=limits)  # 20 characters
    with pytest.raises(ProxyURLError, match="max_url_size"):
        ProxyURL.parse("socks5://h23456789:89", limits=limits)


@pytest.mark.parametrize(
    ("scheme", "remote", "version"),
    [
        (P.SOCKS4, False, SOCKSVersion.SOCKS4),
        (P.SOCKS4A, True, SOCKSVersion.SOCKS4A),
        (P.SOCKS5, False, SOCKSVersion.SOCKS5),
        (P.SOCKS5H, True, SOCKSVersion.SOCKS5),
        (P.HTTP, True, None),
        (P.HTTPS, True, None),
    ],
)
def test_remote_dns_and_socks_version(
    scheme: ProxyScheme, remote: bool, version: SOCKSVersion | None
) -> None:
    url = ProxyURL(scheme, "h", 1)
    assert url.remote_dns is remote
    assert url.socks_version is version


def test_redacted_and_repr_hide_the_password() -> None:
    url = ProxyURL.parse("socks5://alice:s3cr%20t@[::1]:1080")
    assert url.redacted() == "socks5://alice:***@[::1]:1080"
    assert str(url) == url.redacted()
    assert "s3cr" not in repr(url)
    assert url.to_url() == "socks5://alice:s3cr%20t@[::1]:1080"
    assert ProxyURL.parse("http://h").redacted() == "http://h:80"


@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_raises_proxy_url_error(text: str) -> None:
    for candidate in (text, "socks5://" + text, "http://" + text):
        try:
            url = ProxyURL.parse(candidate)
        except ProxyURLError:
            continue
        assert ProxyURL.parse(url.to_url()) == url


# -- NO_PROXY ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "exempt"),
    [
        ("*", "anything", 1, True),
        ("example.com", "example.com", 80, True),
        ("example.com", "www.example.com", 80, True),
        (".example.com", "example.com", 80, True),
        (".example.com", "a.b.example.com", 80, True),
        ("*.example.com", "a.example.com", 80, True),
        ("example.com", "notexample.com", 80, False),
        ("example.com", "example.com.evil", 80, False),
        ("EXAMPLE.com.", "Example.COM", 80, True),
        ("a.com, b.com", "b.com", 80, True),
        ("a.com b.com\tc.com", "c.com", 80, True),
        ("a.com,,", "b.com", 80, False),
        ("example.com:8080", "example.com", 8080, True),
        ("example.com:8080", "example.com", 80, False),
        ("10.0.0.0/8", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "11.1.2.3", 80, False),
        ("10.0.0.0/8", "ten.example", 80, False),
        ("192.168.1.1", "192.168.1.1", 80, True),
        ("192.168.1.1", "192.168.1.2", 80, False),
        ("::1", "[::1]", 80, True),
        ("[::1]:443", "::1", 443, True),
        ("[::1]:443", "::1", 80, False),
        ("fd00::/8", "fd12::1", 80, True),
        ("localhost", "127.0.0.1", 80, False),  # names are not resolved
        ("127.0.0.1", "localhost", 80, False),
        ("", "example.com", 80, False),
        ("bad/cidr", "10.0.0.1", 80, False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, port: int, exempt: bool) -> None:
    assert no_proxy_matches(no_proxy, host, port) is exempt


# -- the environment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "scheme", "expected"),
    [
        ({}, "http", None),
        ({"http_proxy": "http://p:3128"}, "http", "http://p:3128"),
        ({"HTTP_PROXY": "http://p:3128"}, "http", "http://p:3128"),
        ({"HTTP_PROXY": "http://p:3128"}, "ws", "http://p:3128"),
        ({"http_proxy": "http://p:3128"}, "https", None),
        ({"https_proxy": "socks5h://s"}, "https", "socks5h://s:1080"),
        ({"HTTPS_PROXY": "socks5h://s"}, "wss", "socks5h://s:1080"),
        ({"all_proxy": "socks5://a"}, "http", "socks5://a:1080"),
        ({"ALL_PROXY": "socks5://a"}, "ftp", "socks5://a:1080"),
        ({"http_proxy": "http://lower", "HTTP_PROXY": "http://upper"}, "http", "http://lower:80"),
        (
            {"https_proxy": "http://lower", "HTTPS_PROXY": "http://upper"},
            "https",
            "http://lower:80",
        ),
        ({"http_proxy": "", "all_proxy": "socks5://a"}, "http", "socks5://a:1080"),
        ({"http_proxy": "proxy.lan:8080"}, "http", "http://proxy.lan:8080"),
        ({"HTTP_PROXY": "http://evil", "REQUEST_METHOD": "GET"}, "http", None),
        ({"http_proxy": "http://ok", "REQUEST_METHOD": "GET"}, "http", "http://ok:80"),
        ({"HTTPS_PROXY": "http://p", "REQUEST_METHOD": "GET"}, "https", "http://p:80"),
        ({"http_proxy": "http://p", "no_proxy": "example.com"}, "http", None),
        ({"http_proxy": "http://p", "NO_PROXY": "*"}, "http", None),
        (
            {"http_proxy": "http://p", "no_proxy": "other.com", "NO_PROXY": "*"},
            "http",
            "http://p:80",
        ),
    ],
)
def test_proxy_from_environment(environ: dict[str, str], scheme: str, expected: str | None) -> None:
    url = proxy_from_environment(scheme, "example.com", 80, environ)
    assert (url.to_url() if url else None) == expected


def test_environment_with_credentials_and_bad_values() -> None:
    url = proxy_from_environment("http", "h", 80, {"http_proxy": "http://u:p%40ss@p:1"})
    assert url is not None and (url.username, url.password) == ("u", "p@ss")
    with pytest.raises(ProxyURLError):
        proxy_from_environment("http", "h", 80, {"http_proxy": "gopher://p"})
    with pytest.raises(SockitError):
        proxy_from_environment("http", "h", 80, {"http_proxy": "http://p:99999"})
