"""URL: RFC 3986 parsing, serialization, resolution and normalization."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.http import URL, InvalidURL, Origin, remove_dot_segments

BASE = "http://a/b/c/d;p?q"

# RFC 3986 §5.4.1 and §5.4.2 (strict parser for "http:g").
RESOLUTION_EXAMPLES = [
    ("g:h", "g:h"),
    ("g", "http://a/b/c/g"),
    ("./g", "http://a/b/c/g"),
    ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"),
    ("//g", "http://g"),
    ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"),
    ("#s", "http://a/b/c/d;p?q#s"),
    ("g#s", "http://a/b/c/g#s"),
    ("g?y#s", "http://a/b/c/g?y#s"),
    (";x", "http://a/b/c/;x"),
    ("g;x", "http://a/b/c/g;x"),
    ("g;x?y#s", "http://a/b/c/g;x?y#s"),
    ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"),
    ("./", "http://a/b/c/"),
    ("..", "http://a/b/"),
    ("../", "http://a/b/"),
    ("../g", "http://a/b/g"),
    ("../..", "http://a/"),
    ("../../", "http://a/"),
    ("../../g", "http://a/g"),
    # abnormal
    ("../../../g", "http://a/g"),
    ("../../../../g", "http://a/g"),
    ("/./g", "http://a/g"),
    ("/../g", "http://a/g"),
    ("g.", "http://a/b/c/g."),
    (".g", "http://a/b/c/.g"),
    ("g..", "http://a/b/c/g.."),
    ("..g", "http://a/b/c/..g"),
    ("./../g", "http://a/b/g"),
    ("./g/.", "http://a/b/c/g/"),
    ("g/./h", "http://a/b/c/g/h"),
    ("g/../h", "http://a/b/c/h"),
    ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("g;x=1/../y", "http://a/b/c/y"),
    ("g?y/./x", "http://a/b/c/g?y/./x"),
    ("g?y/../x", "http://a/b/c/g?y/../x"),
    ("g#s/./x", "http://a/b/c/g#s/./x"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
    ("http:g", "http:g"),
]


@pytest.mark.parametrize(("reference", "expected"), RESOLUTION_EXAMPLES)
def test_rfc3986_resolution_examples(reference: str, expected: str) -> None:
    base = URL.parse(BASE)
    assert str(base.join(reference)) == expected
    assert str(base.join(URL.parse(reference))) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # RFC 3986 §5.2.4 worked examples
        ("/a/b/c/./../../g", "/a/g"),
        ("mid/content=5/../6", "mid/6"),
        ("", ""),
        ("/", "/"),
        ("/..", "/"),
        ("/.", "/"),
        ("..", ""),
        ("../a/./b", "a/b"),
        ("a/../b", "/b"),  # the literal algorithm, not a stack of segments
        ("/a//../b", "/a/b"),
    ],
)
def test_remove_dot_segments(path: str, expected: str) -> None:
    assert remove_dot_segments(path) == expected


def test_join_needs_an_absolute_base() -> None:
    with pytest.raises(LocalProtocolError):
        URL.parse("/relative").join("x")


def test_join_with_empty_base_path_and_authority() -> None:
    assert str(URL.parse("http://a").join("g")) == "http://a/g"
    assert str(URL.parse("http://a?q").join("#f")) == "http://a?q#f"


def test_components() -> None:
    url = URL.parse("HTTPS://user:p%40ss@Example.COM:8443/p/a%2Fb;x?q=1&r#frag")
    assert url.scheme == "https"
    assert url.userinfo == "user:p%40ss"
    assert url.username == "user"
    assert url.password == "p@ss"
    assert url.host == "example.com"
    assert url.port == 8443
    assert url.path == "/p/a%2Fb;x"
    assert url.query == "q=1&r"
    assert url.fragment == "frag"
    assert url.authority == "user:p%40ss@example.com:8443"
    assert url.host_header == "example.com:8443"
    assert url.request_target == "/p/a%2Fb;x?q=1&r"
    assert url.origin == Origin("https", "example.com", 8443)
    assert str(url.origin) == "https://example.com:8443"
    assert url.is_absolute


def test_absent_versus_empty_components() -> None:
    bare = URL.parse("http://h")
    assert (bare.query, bare.fragment, bare.path) == (None, None, "")
    empty = URL.parse("http://h?#")
    assert (empty.query, empty.fragment) == ("", "")
    assert str(empty) == "http://h?#"
    file_url = URL.parse("file:///etc/hosts")
    assert file_url.host == ""
    assert file_url.authority == ""
    assert str(file_url) == "file:///etc/hosts"
    mailto = URL.parse("mailto:someone@example.com")
    assert mailto.host is None
    assert mailto.path == "someone@example.com"
    assert mailto.origin is None


def test_default_ports_and_origin() -> None:
    assert URL.parse("http://h/").effective_port == 80
    assert URL.parse("wss://h/").effective_port == 443
    assert URL.parse("foo://h/").effective_port is None
    assert URL.parse("https://h:443/").origin == URL.parse("https://h/").origin
    assert str(URL.parse("http://h:80/").origin) == "http://h"
    assert URL.parse("http://h:/x").port is None  # empty port == no port


def test_request_target_of_empty_path_is_slash() -> None:
    assert URL.parse("http://h").request_target == "/"
    assert URL.parse("http://h?x").request_target == "/?x"


def test_ipv6_literals() -> None:
    url = URL.parse("http://[2001:DB8::1]:8080/")
    assert url.host == "2001:db8::1"
    assert url.host_header == "[2001:db8::1]:8080"
    assert str(url) == "http://[2001:db8::1]:8080/"
    assert URL.parse("http://[::ffff:192.0.2.1]/").host == "::ffff:192.0.2.1"
    assert URL.parse("http://[0:0::1]/").normalize().host == "::1"
    assert str(URL.parse("http://[::1]/").origin) == "http://[::1]"


@pytest.mark.parametrize(
    "text",
    [
        "http://[::1/",
        "http://[::1]x/",
        "http://[1:2:3:4:5:6:7:8:9]/",
        "http://[1::2::3]/",
        "http://[12345::]/",
        "http://[::1.2.3.04]/",
        "http://[fe80::1%25eth0]/",  # RFC 6874 zone ids: refused
        "http://[fe80::1%eth0]/",
        "http://[v1.fe]/",  # IPvFuture: refused
        "http://::1/",
    ],
)
def test_invalid_ip_literals(text: str) -> None:
    with pytest.raises(InvalidURL):
        URL.parse(text)


def test_idna_hosts() -> None:
    assert URL.parse("http://Bücher.example/").host == "xn--bcher-kva.example"
    assert URL.parse("http://bücher.example/").host_unicode == "bücher.example"
    # U+3002 IDEOGRAPHIC FULL STOP separates labels too
    label = "xn--" + "\u3053\u3093".encode("punycode").decode("ascii")
    assert URL.parse("http://\u3053\u3093.jp\u3002com/").host == f"{label}.jp.com"
    # fullwidth letters fold to ASCII under nameprep
    assert URL.parse("http://\uff45\uff58.com/").host == "ex.com"
    assert URL(scheme="https", host="Bücher.example").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    "text",
    [
        "http://ex\uff0fample.com/",  # FULLWIDTH SOLIDUS would become "/"
        "http://ex\uff05ample.com/",  # FULLWIDTH PERCENT SIGN
        "http://b\u00fccher..example/",  # empty label
        "http://" + "\u00fc" * 70 + ".example/",  # label too long
        "http://a\u200e.example/",  # bidi control: prohibited by nameprep
    ],
)
def test_invalid_idna_hosts(text: str) -> None:
    with pytest.raises(InvalidURL):
        URL.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "http://a b/",
        "http://a/b c",
        "http://a/\x00",
        "http://a/\u00e9",  # non-ASCII outside the host
        "http://a/%zz",
        "http://a/%4",
        "http://a/?%g0",
        "http://a:65536/",
        "http://a:123456/",
        "http://a:-1/",
        "http://a:x/",
        "http://a@b@c/",
        "http://a/#frag#again",
        "1http://a/",
        ":no-scheme",
        "a:b:c/d",  # fine as scheme "a" ... path "b:c/d" is rootless -> valid
        "http://a/[x]",
        "http://a/?{x}",
    ],
)
def test_invalid_urls(text: str) -> None:
    if text == "a:b:c/d":
        assert URL.parse(text).path == "b:c/d"
        return
    with pytest.raises(InvalidURL) as info:
        URL.parse(text)
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.http_status == 400


def test_bytes_input() -> None:
    assert URL.parse(b"http://a/b").path == "/b"
    with pytest.raises(InvalidURL):
        URL.parse(b"http://a/\xff")


def test_lenient_characters() -> None:
    with pytest.raises(InvalidURL):
        URL.parse("http://a/p|q?a[]=1")
    url = URL.parse("http://a/p|q?a[]=1&b=\\", lenient=True)
    assert url.query == "a[]=1&b=\\"
    assert str(url) == "http://a/p|q?a[]=1&b=\\"
    assert str(url.normalize()) == "http://a/p%7Cq?a%5B%5D=1&b=%5C"
    with pytest.raises(InvalidURL):
        URL.parse("http://a/p\\q", lenient=True)  # backslash only in query/fragment


def test_normalize() -> None:
    url = URL.parse("HTTP://User@Example.COM:80/%7euser/./a/../%2fb%2F?%7E%61#%7e")
    assert str(url.normalize()) == "http://User@example.com/~user/%2Fb%2F?~a#~"
    assert str(URL.parse("http://a").normalize()) == "http://a/"
    assert str(URL.parse("https://a:8443").normalize()) == "https://a:8443/"
    # encoded dots are decoded first, then removed (RFC 3986 §6.2.2 order)
    assert URL.parse("http://a/b/%2E%2E/c").normalize().path == "/c"
    # relative paths keep their dot-segments: they matter for resolution
    assert URL.parse("../a").normalize().path == "../a"
    assert URL.parse("/x/../a").normalize().path == "/a"
    assert URL.parse("http://a/b").normalize() == URL.parse("HTTP://A:80/b").normalize()


def test_constructor_validates() -> None:
    assert str(URL(scheme="https", host="h", path="/x", query="a=1")) == "https://h/x?a=1"
    for kwargs in [
        {"scheme": "1x"},
        {"host": "h", "path": "no-slash"},
        {"port": 80},
        {"userinfo": "u"},
        {"host": "h", "port": 70000},
        {"host": "h", "port": True},
        {"path": "a:b"},
        {"host": "a b"},
        {"path": "/x#y"},
        {"query": "a b"},
        {"path": None},
        {"host": b"h"},
        {"port": "80", "host": "h"},
    ]:
        with pytest.raises(LocalProtocolError):
            URL(**kwargs)  # type: ignore[arg-type]


def test_replace() -> None:
    url = URL.parse("http://h/a?q")
    assert str(url.replace(path="/b", query=None)) == "http://h/b"
    with pytest.raises(LocalProtocolError):
        url.replace(path="b")


def test_path_with_double_slash_and_no_authority_round_trips() -> None:
    url = URL(path="//not-a-host/x")
    text = str(url)
    assert text == "/.//not-a-host/x"
    assert URL.parse(text).host is None
    assert URL.parse(text).normalize().path == "//not-a-host/x"


def test_repr_hides_password() -> None:
    url = URL.parse("http://me:secret@h/")
    assert "secret" not in repr(url)
    assert "me:" in repr(url)
    assert "secret" in str(url)


def test_url_is_hashable_and_frozen() -> None:
    url = URL.parse("http://h/")
    assert {url: 1}[URL.parse("http://h/")] == 1
    with pytest.raises(AttributeError):
        url.path = "/x"  # type: ignore[misc]
