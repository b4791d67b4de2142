"""The thread-safe CookieJar: storage rules, limits, eviction, persistence."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit.client.cookie_file import HEADER, format_cookie_file, parse_cookie_file
from sockit.client.cookies import CookieJar
from sockit.errors import LocalProtocolError, SockitError
from sockit.limits import CookieLimits
from sockit.proto.http import URL, Headers

T0 = 1_700_000_000.0


class Clock:
    """A settable fake wall clock."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jar(clock: Clock) -> CookieJar:
    return CookieJar(clock=clock)


def sc(*values: str) -> list[tuple[str, str]]:
    return [("Set-Cookie", v) for v in values]


# -- extract and header_for -------------------------------------------------------


def test_round_trip_through_headers(jar: CookieJar) -> None:
    headers = Headers([("Set-Cookie", "a=1; Path=/"), ("Content-Type", "text/plain")])
    headers.add("set-cookie", "b=2; Path=/; Domain=example.com")
    assert jar.extract("http://www.example.com/x", headers) == 2
    assert jar.header_for("http://www.example.com/") == "a=1; b=2"
    assert jar.header_for("http://api.example.com/") == "b=2"
    assert jar.header_for("http://example.org/") is None
    assert len(jar) == 2 and "a" in jar and "zz" not in jar and 3 not in jar


def test_extract_accepts_str_and_bytes_pairs(jar: CookieJar) -> None:
    assert jar.extract("http://h/", [(b"Set-Cookie", b"a=\xe9; Path=/"), (b"X", b"y")]) == 1
    assert jar.extract(URL.parse("http://h/"), [("SET-COOKIE", "b=2; Path=/")]) == 1
    assert jar.extract("http://h/", []) == 0
    assert jar.header_for("http://h/") == "a=\xe9; b=2"


def test_bad_urls(jar: CookieJar) -> None:
    with pytest.raises(LocalProtocolError):
        jar.extract("/relative", sc("a=1"))
    with pytest.raises(LocalProtocolError):
        jar.header_for("mailto:x@y")
    with pytest.raises(SockitError):
        jar.header_for("http://bad host/")


def test_update_keeps_creation_time_and_order(jar: CookieJar, clock: Clock) -> None:
    jar.extract("http://h/", sc("a=1; Path=/"))
    clock.advance(1)
    jar.extract("http://h/", sc("b=2; Path=/"))
    clock.advance(5)
    assert jar.extract("http://h/", sc("a=new; Path=/")) == 1
    (a,) = (c for c in jar if c.name == "a")
    assert a.creation == T0 and a.last_access == T0 + 6
    assert jar.header_for("http://h/") == "a=new; b=2"  # a is still the older one


def test_header_order_longest_path_first(jar: CookieJar) -> None:
    jar.extract("http://h/a/b/c", sc("root=1; Path=/", "deep=2; Path=/a/b", "mid=3; Path=/a"))
    assert jar.header_for("http://h/a/b/c") == "deep=2; mid=3; root=1"
    assert jar.header_for("http://h/a") == "mid=3; root=1"


def test_max_age_zero_deletes_and_counts(jar: CookieJar) -> None:
    jar.extract("http://h/", sc("a=1; Path=/", "b=2; Path=/"))
    assert jar.extract("http://h/", sc("a=; Path=/; Max-Age=0")) == 0
    assert jar.header_for("http://h/") == "b=2"
    jar.extract("http://h/", sc("b=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"))
    assert jar.header_for("http://h/") is None
    jar.extract("http://h/", sc("never=stored; Max-Age=-1"))
    stats = jar.stats
    assert (stats.stored, stats.deleted, stats.ignored, stats.cookies) == (2, 2, 1, 0)


def test_cookies_expire_with_the_clock(jar: CookieJar, clock: Clock) -> None:
    jar.extract("http://h/", sc("short=1; Max-Age=10; Path=/", "session=2; Path=/"))
    clock.advance(9.5)
    assert jar.header_for("http://h/") == "short=1; session=2"
    clock.advance(0.5)
    assert jar.header_for("http://h/") == "session=2"
    assert len(jar) == 1 and jar.stats.expired == 1


def test_secure_cookies_only_over_https(jar: CookieJar) -> None:
    assert jar.extract("http://h/", sc("s=1; Secure; Path=/")) == 0  # 6265bis
    assert jar.extract("https://h/", sc("s=1; Secure; Path=/", "p=2; Path=/")) == 2
    assert jar.header_for("https://h/") == "s=1; p=2"
    assert jar.header_for("http://h/") == "p=2"
    assert jar.header_for("http://localhost/") is None


def test_insecure_response_cannot_shadow_secure_cookie(jar: CookieJar) -> None:
    jar.extract("https://www.example.com/", sc("sid=secret; Secure; Path=/admin"))
    ignored = jar.stats.ignored
    for value in (
        "sid=evil; Path=/admin",
        "sid=evil; Path=/admin/sub",
        "sid=evil; Path=/admin; Domain=example.com",
        "sid=; Path=/admin; Max-Age=0",
    ):
        assert jar.extract("http://www.example.com/", sc(value)) == 0, value
    assert jar.stats.ignored == ignored + 4
    # a different name, or a path that does not overlay, is fine
    assert jar.extract("http://www.example.com/", sc("sid=x; Path=/", "other=y; Path=/admin")) == 2
    # a secure response may replace it
    assert jar.extract("https://www.example.com/", sc("sid=new; Path=/admin")) == 1
    assert jar.get("sid", path="/admin") == "new"


def test_same_site_with_a_site(jar: CookieJar) -> None:
    jar.extract(
        "https://app.example.com/",
        sc("s=1; SameSite=Strict; Path=/", "l=2; SameSite=Lax; Path=/", "n=3; Path=/"),
    )
    url = "https://app.example.com/"
    assert jar.header_for(url) == "s=1; l=2; n=3"  # no site: same-site
    assert jar.header_for(url, site="https://www.example.com/") == "s=1; l=2; n=3"
    assert jar.header_for(url, site="https://evil.example/") == "l=2; n=3"
    assert jar.header_for(url, site="https://evil.example/", method="POST") == "n=3"
    assert jar.header_for(url, site="https://evil.example/", top_level=False) == "n=3"
    assert jar.header_for(url, site="http://app.example.com/") == "l=2; n=3"  # schemeful


def test_public_suffix_refused_by_the_jar(jar: CookieJar) -> None:
    assert jar.extract("http://me.github.io/", sc("a=1; Domain=github.io")) == 0
    assert jar.extract("http://a.example.co.uk/", sc("a=1; Domain=co.uk")) == 0
    assert jar.header_for("http://you.github.io/") is None


# -- limits and eviction ----------------------------------------------------------


def test_max_per_domain_n_and_n_plus_one(clock: Clock) -> None:
    jar = CookieJar(clock=clock, max_per_domain=3)
    assert jar.extract("http://h/", sc("a=1; Path=/", "b=2; Path=/", "c=3; Path=/")) == 3
    assert len(jar) == 3 and jar.stats.evicted == 0
    jar.extract("http://other/", sc("x=1"))
    clock.advance(1)
    assert jar.header_for("http://h/") == "a=1; b=2; c=3"  # all used now
    clock.advance(1)
    jar.header_for("http://h/")  # same recency: least recently stored goes first
    clock.advance(1)
    jar.extract("http://h/", sc("d=4; Path=/"))
    assert [c.name for c in jar if c.domain == "h"] == ["b", "c", "d"]
    assert jar.stats.evicted == 1 and "x" in jar


def test_eviction_is_least_recently_used(clock: Clock) -> None:
    jar = CookieJar(clock=clock, max_per_domain=3)
    jar.extract("http://h/", sc("a=1; Path=/a", "b=2; Path=/b", "c=3; Path=/c"))
    clock.advance(1)
    assert jar.header_for("http://h/a") == "a=1"  # a is now the most recently used
    jar.extract("http://h/", sc("d=4; Path=/d"))
    assert sorted(c.name for c in jar) == ["a", "c", "d"]


def test_expired_cookies_are_evicted_first(clock: Clock) -> None:
    jar = CookieJar(clock=clock, max_per_domain=3)
    jar.extract("http://h/", sc("a=1; Path=/", "b=2; Path=/; Max-Age=5", "c=3; Path=/"))
    clock.advance(10)
    jar.extract("http://h/", sc("d=4; Path=/"))
    assert sorted(c.name for c in jar) == ["a", "c", "d"]
    assert (jar.stats.expired, jar.stats.evicted) == (1, 0)


def test_max_cookies_n_and_n_plus_one(clock: Clock) -> None:
    jar = CookieJar(CookieLimits(max_cookies=4), clock=clock)
    for i in range(4):
        jar.extract(f"http://h{i}.example/", sc(f"c{i}=v"))
        clock.advance(1)
    assert len(jar) == 4 and jar.stats.evicted == 0
    jar.header_for("http://h0.example/")  # keeps c0 alive
    jar.extract("http://h4.example/", sc("c4=v"))
    assert len(jar) == 4 and jar.stats.evicted == 1
    assert sorted(c.name for c in jar) == ["c0", "c2", "c3", "c4"]


def test_max_cookies_evicts_expired_before_live(clock: Clock) -> None:
    jar = CookieJar(CookieLimits(max_cookies=2), clock=clock)
    jar.extract("http://a/", sc("a=1"))
    jar.extract("http://b/", sc("b=1; Max-Age=1"))
    clock.advance(2)
    jar.extract("http://c/", sc("c=1"))
    assert sorted(c.name for c in jar) == ["a", "c"]
    assert (jar.stats.expired, jar.stats.evicted) == (1, 0)


def test_zero_max_cookies_stores_nothing(clock: Clock) -> None:
    jar = CookieJar(CookieLimits(max_cookies=0), clock=clock)
    assert jar.extract("http://h/", sc("a=1")) == 0
    assert len(jar) == 0 and jar.stats.ignored == 1


def test_size_caps_ignore_too_big(clock: Clock) -> None:
    jar = CookieJar(CookieLimits(max_name_size=4, max_value_size=8), clock=clock)
    assert jar.extract("http://h/", sc("nnnn=vvvvvvvv", "nnnnn=v", "n=vvvvvvvvv")) == 1
    assert jar.stats.ignored == 2
    with pytest.raises(LocalProtocolError):
        jar.set("n", "v" * 9, domain="h")


def test_bad_max_per_domain() -> None:
    for bad in (0, -1, 1.5):
        with pytest.raises(LocalProtocolError):
            CookieJar(max_per_domain=bad)  # type: ignore[arg-type]


# -- by hand --------------------------------------------------------------------------


def test_set_get_clear(jar: CookieJar, clock: Clock) -> None:
    c = jar.set("tok", "1", domain=".Example.com")
    assert (c.domain, c.host_only, c.path, c.creation) == ("example.com", False, "/", T0)
    clock.advance(1)
    jar.set("tok", "2", domain="www.example.com", path="/app", host_only=True)
    clock.advance(1)
    jar.set("s", "x", domain="example.com", secure=True, expires=T0 + 60, same_site="Lax")
    assert jar.header_for("http://www.example.com/app") == "tok=2; tok=1"
    assert jar.header_for("https://www.example.com/") == "tok=1; s=x"
    assert jar.get("tok") == "2"  # the one a request would send first
    assert jar.get("tok", domain="example.com") == "1"
    assert jar.get("tok", path="/") == "1" and jar.get("nope") is None
    assert jar.clear(domain="www.example.com") == 1
    assert jar.clear_session_cookies() == 1
    assert [c.name for c in jar] == ["s"]
    assert jar.clear(name="zz") == 0 and jar.clear() == 1 and len(jar) == 0
    with pytest.raises(LocalProtocolError):
        jar.set("a", "b", domain="com")
    assert not jar.set("l", "1", domain="localhost").host_only  # unlisted: trusted
    assert jar.header_for("http://localhost/") == "l=1"


def test_expire_and_iter_snapshot(jar: CookieJar, clock: Clock) -> None:
    jar.set("a", "1", domain="h", expires=T0 + 10)
    jar.set("b", "2", domain="h")
    snapshot = iter(jar)
    jar.clear()
    assert [c.name for c in snapshot] == ["a", "b"]
    jar.set("a", "1", domain="h", expires=T0 + 10)
    assert jar.expire(T0 + 5) == 0 and jar.expire(T0 + 10) == 1
    assert "a" not in jar and repr(jar) == "<CookieJar 0 cookies>"


# -- persistence --------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path, jar: CookieJar, clock: Clock) -> None:
    jar.extract(
        "https://www.example.com/a/b",
        sc(
            "host=1; Max-Age=100",
            "dom=2; Domain=example.com; Path=/; Max-Age=200; Secure; HttpOnly",
            "session=3; Path=/",
            "lat=\xe9\xff; Path=/; Max-Age=50",
        ),
    )
    path = tmp_path / "cookies.txt"
    assert jar.save(path) == 3  # the session cookie stays out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text("latin-1")
    assert text.startswith(HEADER + "\n")
    assert f"www.example.com\tFALSE\t/a\tFALSE\t{int(T0) + 100}\thost\t1\n" in text
    assert f"#HttpOnly_.example.com\tTRUE\t/\tTRUE\t{int(T0) + 200}\tdom\t2\n" in text
    loaded = CookieJar.load(path, clock=clock)
    assert sorted(c.name for c in loaded) == ["dom", "host", "lat"]
    # the file has no creation times: equal paths come host-first after loading
    assert loaded.header_for("https://www.example.com/a") == "host=1; lat=\xe9\xff; dom=2"
    assert loaded.header_for("http://www.example.com/") == "lat=\xe9\xff"  # dom is Secure
    assert loaded.header_for("https://x.example.com/") == "dom=2"
    (dom,) = (c for c in loaded if c.name == "dom")
    assert dom.http_only and dom.secure and not dom.host_only and dom.expires == T0 + 200
    assert jar.save(path, include_session=True) == 4
    assert CookieJar.load(path, clock=clock).get("session") == "3"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cookies-")]


def test_load_skips_expired_and_bad_lines(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "jar.txt"
    lines = [
        HEADER,
        "# a comment",
        "",
        f".example.com\tTRUE\t/\tFALSE\t{int(T0) + 9}\tok\tv",
        f"h.example\tFALSE\t/p\tTRUE\t{int(T0) + 9}\tempty",  # 6 fields: empty value
        f"old.example\tFALSE\t/\tFALSE\t{int(T0) - 1}\tgone\tv",  # expired
        "too\tfew\tfields",
        "h.example\tFALSE\t/\tFALSE\tsoon\tbad\tv",  # expires not a number
        f"h.example\tFALSE\trel\tFALSE\t{int(T0) + 9}\tbad\tv",  # path
        f".com\tTRUE\t/\tFALSE\t{int(T0) + 9}\tsuffix\tv",  # public suffix
        "h.example\tFALSE\t/\tFALSE\t0\tsess\tv\r",
        f"big.example\tFALSE\t/\tFALSE\t{'9' * 40}\tforever\tv",
    ]
    path.write_text("\n".join(lines), "latin-1")
    jar = CookieJar(clock=clock)
    assert jar.load_into(path) == 4
    assert sorted(c.name for c in jar) == ["empty", "forever", "ok", "sess"]
    assert jar.get("empty") == "" and jar.stats.ignored == 5
    assert jar.load_into(tmp_path / "missing.txt") == 0
    with pytest.raises(FileNotFoundError):
        CookieJar.load(tmp_path / "missing.txt")


def test_format_skips_unrepresentable() -> None:
    jar = CookieJar(clock=Clock())
    jar.extract("http://h/", sc("tab=a\tb; Max-Age=9", "ok=1; Max-Age=9"))
    text, count = format_cookie_file(jar)
    assert count == 1 and "\tok\t1\n" in text and "tab" not in text


@settings(max_examples=200)
@given(st.lists(st.text(alphabet="\t\n\r#._-/abcTRUEFALS0123456789 \xe9", max_size=60)))
def test_cookie_file_parser_never_raises(lines: list[str]) -> None:
    cookies, skipped = parse_cookie_file("\n".join(lines), now=T0)
    assert skipped >= 0
    for c in cookies:
        assert c.path.startswith("/") and c.domain and not c.is_expired(T0)


# -- threads ------------------------------------------------------------------------


def test_shared_between_threads() -> None:
    jar = CookieJar(CookieLimits(max_cookies=200), max_per_domain=20)
    errors: list[BaseException] = []
    stored = [0] * 8
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=5)
            for i in range(300):
                host = f"h{i % 13}.example.com"
                stored[n] += jar.extract(
                    f"http://{host}/p{n}",
                    sc(f"c{n}_{i % 37}={i}; Path=/", f"d{i}=x; Domain=example.com; Max-Age=1"),
                )
                jar.header_for(f"http://{host}/p{n}/x")
                if i % 50 == 0:
                    jar.clear(name=f"c{n}_0")
                    len(jar)
                    list(jar)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert not any(t.is_alive() for t in threads)
    stats = jar.stats
    assert 0 < stats.cookies <= 200
    assert stats.stored == sum(stored) == 8 * 300 * 2  # every Set-Cookie was valid
    assert stats.evicted > 0  # the bounds were really exercised
    per_domain: dict[str, int] = {}
    for c in jar:
        per_domain[c.domain] = per_domain.get(c.domain, 0) + 1
    assert max(per_domain.values()) <= 20
