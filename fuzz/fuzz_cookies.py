"""atheris harness: Set-Cookie parsing, the cookie-date algorithm and cookies.txt.

The first byte picks the request URL (http/https, name/IP host, deep path);
the rest is the input, fed to ``parse_set_cookie`` as bytes and as text, to
``parse_cookie_date`` and to the cookies.txt reader. Property: nothing ever
raises (RFC 6265 ignores bad cookies instead of failing), and an accepted
cookie domain-matches the request host, has a path starting with ``/`` and
respects the size limits; a Secure cookie only comes from https.
"""

import sys

import atheris

with atheris.instrument_imports():
    from sockit.client.cookie_file import parse_cookie_file
    from sockit.limits import CookieLimits
    from sockit.proto.http import URL
    from sockit.proto.http.cookies import domain_match, parse_cookie_date, parse_set_cookie

URLS = [
    URL.parse("http://www.example.com/docs/index.html"),
    URL.parse("https://a.b.example.co.uk/x/y/z"),
    URL.parse("http://127.0.0.1:8080/"),
    URL.parse("https://[::1]/p/"),
]
LIMITS = CookieLimits(max_name_size=32, max_value_size=64, max_domain_size=64, max_path_size=32)
NOW = 1_700_000_000.0


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    url = URLS[raw[0] % len(URLS)]
    data = raw[1:]
    for value in (data, data.decode("utf-8", "replace")):
        cookie = parse_set_cookie(value, request_url=url, now=NOW, limits=LIMITS)
        if cookie is not None:
            assert url.host is not None
            assert domain_match(url.host, cookie.domain)
            assert cookie.path.startswith("/") and len(cookie.path) <= 32
            assert len(cookie.name) <= 32 and len(cookie.value) <= 64
            assert ";" not in cookie.value
            assert not cookie.secure or url.scheme == "https"
    parse_cookie_date(data.decode("latin-1"))
    parse_cookie_file(data.decode("latin-1"), now=NOW, limits=LIMITS)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
