"""The auth objects of sockit.client.auth, driven against tests/support/digest_app.py.

Most tests run the request loop in-process (:func:`drive` mimics the client's
flow: ``authorize`` first, then ``on_challenge`` after each 401, at most
``ClientLimits.max_auth_retries`` times); the last ones go through a real
``HTTPClient`` and server on loopback.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field

import pytest

from sockit import HTTPClient
from sockit.client.auth import Auth, BasicAuth, BearerAuth, DigestAuth, auth_from_userinfo
from sockit.errors import LocalProtocolError
from sockit.limits import ClientLimits
from sockit.proto.http import URL, Headers
from sockit.proto.http.auth_challenge import DigestAlgorithm, parse_credentials
from tests.server.harness import running
from tests.support.digest_app import DigestApp

MAX_RETRIES = ClientLimits().max_auth_retries


@dataclass
class Outcome:
    status: int
    body: bytes
    exchanges: int
    sent: list[list[tuple[str, str]]] = field(default_factory=list)


def drive(auth: Auth, app: DigestApp, target: str, method: str = "GET",
          max_retries: int = MAX_RETRIES) -> Outcome:
    """One logical request, as the client's flow carries it."""
    url = URL.parse("http://127.0.0.1:8080" + target)
    extra = auth.authorize(method, url)
    sent = [extra]
    status, headers, body = app.check(method, target, Headers(extra))
    tries = 0
    while status == 401 and tries < max_retries:
        answer = auth.on_challenge(method, url, status, Headers(headers))
        if not answer:
            break
        tries += 1
        sent.append(answer)
        status, headers, body = app.check(method, target, Headers(answer))
    return Outcome(status, body, len(sent), sent)


def digest_param(sent: list[tuple[str, str]], name: str) -> str | None:
    assert len(sent) == 1
    return parse_credentials(sent[0][1]).param(name)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- Basic (RFC 7617) ----------------------------------------------------------------


def test_basic_rfc7617_examples() -> None:
    url = URL.parse("http://example.com/")
    aladdin = BasicAuth("Aladdin", "open sesame").authorize("GET", url)
    assert aladdin == [("Authorization", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")]
    # §2.1: charset="UTF-8" -> "test:123£" in UTF-8
    assert BasicAuth("test", "123\u00a3").authorize("GET", url) == [
        ("Authorization", "Basic dGVzdDoxMjPCow==")]
    latin = BasicAuth("test", "123\u00a3", encoding="latin-1").authorize("GET", url)
    assert latin == [("Authorization", "Basic " + base64.b64encode(b"test:123\xa3").decode())]


def test_basic_latin1_retries_once_in_utf8_when_asked() -> None:
    auth = BasicAuth("test", "123\u00a3", encoding="latin-1")
    url = URL.parse("http://example.com/")
    challenge = Headers([("WWW-Authenticate", 'Basic realm="foo", charset="UTF-8"')])
    assert auth.on_challenge("GET", url, 401, challenge) == [
        ("Authorization", "Basic dGVzdDoxMjPCow==")]
    plain = Headers([("WWW-Authenticate", 'Basic realm="foo"')])
    assert auth.on_challenge("GET", url, 401, plain) is None
    assert auth.reason is not None and "refused" in auth.reason


def test_basic_against_the_app() -> None:
    app = DigestApp()
    good = drive(BasicAuth("user", "pass"), app, "/basic")
    assert (good.status, good.body, good.exchanges) == (200, b"hello user\n", 1)
    wrong = BasicAuth("user", "nope")
    bad = drive(wrong, app, "/basic")
    assert (bad.status, bad.exchanges) == (401, 1)
    assert wrong.reason is not None and "basic@sockit.test" in wrong.reason
    only_digest = BasicAuth("user", "pass")
    assert drive(only_digest, app, "/protected").status == 401
    assert only_digest.reason == "no Basic challenge (offered: digest)"


@pytest.mark.parametrize(
    ("user", "password", "encoding"),
    [("a:b", "p", "utf-8"), ("a\nb", "p", "utf-8"), ("u", "p", "utf-16"),
     ("u", "\u20ac", "latin-1")],
)
def test_basic_refuses_bad_credentials_up_front(user: str, password: str, encoding: str) -> None:
    with pytest.raises(LocalProtocolError):
        BasicAuth(user, password, encoding=encoding)


def test_proxy_variants_use_proxy_headers_and_407() -> None:
    url = URL.parse("http://example.com/")
    basic = BasicAuth("u", "p", proxy=True)
    assert basic.authorize("GET", url)[0][0] == "Proxy-Authorization"
    www = Headers([("WWW-Authenticate", 'Basic realm="x", charset=UTF-8')])
    assert basic.on_challenge("GET", url, 401, www) is None
    assert basic.reason is not None and "401" in basic.reason
    bearer = BearerAuth("tok", proxy=True)
    assert bearer.authorize("GET", url) == [("Proxy-Authorization", "Bearer tok")]


# -- Bearer (RFC 6750) ---------------------------------------------------------------


def test_bearer_header_and_refusal() -> None:
    auth = BearerAuth("mF_9.B5f-4.1JqM")
    url = URL.parse("https://example.com/resource")
    assert auth.authorize("GET", url) == [("Authorization", "Bearer mF_9.B5f-4.1JqM")]
    refused = Headers([("WWW-Authenticate",
                        'Bearer realm="example", error="invalid_token", '
                        'error_description="The access token expired"')])
    assert auth.on_challenge("GET", url, 401, refused) is None
    assert auth.error == "invalid_token"
    assert auth.reason == (
        "the server refused the bearer token: invalid_token (The access token expired)")
    auth.clear()
    assert auth.authorize("GET", url) == []
    assert "hidden" in repr(auth) and "mF_9" not in repr(auth)


@pytest.mark.parametrize("token", ["", "a b", "tok\u00e9n", "=abc", "a\r\nX: y"])
def test_bearer_refuses_non_b64token(token: str) -> None:
    with pytest.raises(LocalProtocolError):
        BearerAuth(token)


# -- Digest (RFC 7616) ---------------------------------------------------------------


def test_digest_challenge_then_preemptive_answers_with_counting_nc() -> None:
    app = DigestApp()
    auth = DigestAuth("user", "pass", cnonce=lambda: "fixed-cnonce")
    first = drive(auth, app, "/protected")
    assert (first.status, first.body, first.exchanges) == (200, b"hello user\n", 2)
    assert first.sent[0] == []  # nothing to answer before the challenge
    assert digest_param(first.sent[1], "nc") == "00000001"
    assert digest_param(first.sent[1], "algorithm") == "SHA-256"  # the server's first choice
    assert digest_param(first.sent[1], "cnonce") == "fixed-cnonce"
    for n in (2, 3, 4):
        again = drive(auth, app, "/protected/deeper?q=1")
        assert (again.status, again.exchanges) == (200, 1)
        assert digest_param(again.sent[0], "nc") == f"{n:08x}"
        assert digest_param(again.sent[0], "uri") == "/protected/deeper?q=1"
    assert app.stats["digest_ok"] == 4 and app.stats["digest_challenges"] == 1


@pytest.mark.parametrize(
    ("path", "algorithm"),
    [("/protected/md5", "MD5"), ("/protected/sha256", "SHA-256"),
     ("/protected/md5-sess", "MD5-sess"), ("/protected/sha256-sess", "SHA-256-sess"),
     ("/protected/sha512-256", "SHA-512-256")],
)
def test_digest_every_algorithm(path: str, algorithm: str) -> None:
    app = DigestApp()
    out = drive(DigestAuth("user", "pass"), app, path)
    assert out.status == 200
    assert digest_param(out.sent[1], "algorithm") == algorithm
    assert app.stats[f"ok {algorithm}"] == 1


def test_digest_md5_first_when_the_server_prefers_it() -> None:
    app = DigestApp(algorithms=(DigestAlgorithm.MD5, DigestAlgorithm.SHA_256))
    out = drive(DigestAuth("user", "pass"), app, "/protected")
    assert out.status == 200 and digest_param(out.sent[1], "algorithm") == "MD5"


def test_digest_stale_after_n_uses_retries_without_failing() -> None:
    app = DigestApp(nonce_max_uses=2)
    auth = DigestAuth("user", "pass")
    assert drive(auth, app, "/protected").exchanges == 2  # use 1
    assert drive(auth, app, "/protected").exchanges == 1  # use 2
    third = drive(auth, app, "/protected")  # spent nonce -> stale=true -> new nonce
    assert (third.status, third.exchanges) == (200, 2)
    assert digest_param(third.sent[1], "nc") == "00000001"
    assert digest_param(third.sent[0], "nonce") != digest_param(third.sent[1], "nonce")
    assert app.stats["stale"] == 1 and app.stats["digest_failures"] == 0
    assert auth.reason is None
    assert drive(auth, app, "/protected").exchanges == 1  # the new nonce is remembered


def test_digest_stale_on_the_first_answer() -> None:
    app = DigestApp(stale_first=True)
    auth = DigestAuth("user", "pass")
    out = drive(auth, app, "/protected/md5")
    assert (out.status, out.exchanges) == (200, 3)  # bare, stale answer, good answer
    assert app.stats["stale"] == 1 and auth.reason is None


def test_digest_stale_after_ttl_on_a_fake_clock() -> None:
    clock = FakeClock()
    app = DigestApp(nonce_ttl=30.0, clock=clock)
    auth = DigestAuth("user", "pass")
    assert drive(auth, app, "/protected").exchanges == 2
    clock.now += 30.0
    assert drive(auth, app, "/protected").exchanges == 1  # exactly T: still fresh
    clock.now += 0.001
    late = drive(auth, app, "/protected")
    assert (late.status, late.exchanges) == (200, 2) and app.stats["stale"] == 1


def test_digest_wrong_password_gives_up_after_one_answer() -> None:
    app = DigestApp()
    auth = DigestAuth("user", "wrong")
    out = drive(auth, app, "/protected", max_retries=10)
    assert (out.status, out.exchanges) == (401, 2)
    assert auth.reason == "the server refused the Digest credentials (realm 'digest@sockit.test')"
    # the refused space is forgotten: the next request starts bare again
    assert auth.authorize("GET", URL.parse("http://127.0.0.1:8080/protected")) == []


def test_digest_refused_preemptive_answer_gets_one_fresh_try() -> None:
    auth = DigestAuth("user", "pass")
    assert drive(auth, DigestApp(), "/protected").status == 200
    restarted = DigestApp()  # forgot every nonce and changed its opaque
    out = drive(auth, restarted, "/protected")
    assert (out.status, out.exchanges) == (200, 2)


def test_the_callers_retry_limit_bounds_endless_stale_challenges() -> None:
    app = DigestApp(nonce_max_uses=0)  # every nonce is already spent
    auth = DigestAuth("user", "pass")
    for limit in (MAX_RETRIES, MAX_RETRIES + 1):
        out = drive(auth, app, "/protected", max_retries=limit)
        assert (out.status, out.exchanges) == (401, limit + 1)


def test_digest_gives_up_on_a_nonce_called_stale_twice() -> None:
    auth = DigestAuth("user", "pass")
    url = URL.parse("http://h/")
    challenge = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n1", qop=auth')])
    assert auth.on_challenge("GET", url, 401, challenge)
    same = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n1", qop=auth, stale=true')])
    assert auth.on_challenge("GET", url, 401, same) is None
    assert auth.reason == "the server called its own current nonce stale"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ('Digest realm="r", nonce="n", algorithm=SHA-1', "unsupported Digest algorithm 'SHA-1'"),
        ('Digest realm="r", nonce="n", qop="auth-int"', "only offers qop=auth-int"),
        ('Digest realm="r"', "needs realm and nonce"),
        ('Basic realm="r", Bearer', "no Digest challenge (offered: basic, bearer)"),
        ("garbage !!", "no Digest challenge (offered: none)"),
    ],
)
def test_digest_unusable_challenges_give_up_with_a_reason(header: str, reason: str) -> None:
    auth = DigestAuth("user", "pass")
    headers = Headers([("WWW-Authenticate", header)])
    assert auth.on_challenge("GET", URL.parse("http://h/"), 401, headers) is None
    assert auth.reason is not None and reason in auth.reason


def test_digest_takes_the_first_supported_challenge() -> None:
    auth = DigestAuth("user", "pass")
    headers = Headers([
        ("WWW-Authenticate", 'Digest realm="r", nonce="n", algorithm=SHA-1, qop=auth'),
        ("WWW-Authenticate", 'Basic realm="b", Digest realm="r", nonce="n2", '
                             "algorithm=SHA-256, qop=auth"),
        ("WWW-Authenticate", 'Digest realm="r", nonce="n3", algorithm=MD5, qop=auth'),
    ])
    answer = auth.on_challenge("GET", URL.parse("http://h/"), 401, headers)
    assert answer is not None
    assert digest_param(answer, "algorithm") == "SHA-256" and digest_param(answer, "nonce") == "n2"


def test_digest_protection_space_follows_origin_and_domain() -> None:
    auth = DigestAuth("user", "pass")
    url = URL.parse("http://h:8080/a/page")
    headers = Headers([("WWW-Authenticate",
                        'Digest realm="r", nonce="n", qop=auth, domain="/a/ http://other/x/"')])
    assert auth.on_challenge("GET", url, 401, headers)
    assert auth.authorize("GET", URL.parse("http://h:8080/a/other"))
    assert auth.authorize("GET", URL.parse("http://other/x/y"))
    assert auth.authorize("GET", URL.parse("http://h:8080/b")) == []
    assert auth.authorize("GET", URL.parse("http://h:8081/a/other")) == []
    assert auth.authorize("GET", URL.parse("https://h:8080/a/other")) == []


def test_digest_nonce_max_age_on_a_fake_clock() -> None:
    clock = FakeClock()
    auth = DigestAuth("user", "pass", clock=clock, nonce_max_age=60.0)
    url = URL.parse("http://h/")
    headers = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n", qop=auth')])
    assert auth.on_challenge("GET", url, 401, headers)
    clock.now += 60.0
    assert auth.authorize("GET", url)
    clock.now += 0.001
    assert auth.authorize("GET", url) == []


def test_digest_nc_is_unique_across_threads() -> None:
    auth = DigestAuth("user", "pass")
    url = URL.parse("http://h/")
    headers = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n", qop=auth')])
    assert auth.on_challenge("GET", url, 401, headers)
    seen: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            value = auth.authorize("GET", url)
            nc = int(digest_param(value, "nc") or "0", 16)
            with lock:
                seen.append(nc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(seen) == list(range(2, 402))


def test_digest_userhash_and_utf8_user_against_the_app() -> None:
    app = DigestApp({"J\u00e4s\u00f8n Doe": "Secret, or not?"}, userhash=True)
    out = drive(DigestAuth("J\u00e4s\u00f8n Doe", "Secret, or not?"), app, "/protected")
    assert out.status == 200 and digest_param(out.sent[1], "userhash") == "true"
    app = DigestApp({"J\u00e4s\u00f8n Doe": "Secret, or not?"})
    out = drive(DigestAuth("J\u00e4s\u00f8n Doe", "Secret, or not?"), app, "/protected")
    assert out.status == 200 and digest_param(out.sent[1], "username") is None
    assert out.body == "hello J\u00e4s\u00f8n Doe\n".encode()


def test_proxy_digest_uses_the_request_target_as_sent() -> None:
    auth = DigestAuth("user", "pass", proxy=True)
    headers = Headers([("Proxy-Authenticate", 'Digest realm="proxy", nonce="n", qop=auth')])
    url = URL.parse("http://example.com/path?q#frag")
    assert auth.on_challenge("GET", url, 401, headers) is None  # a proxy challenges with 407
    answer = auth.on_challenge("GET", url, 407, headers)
    assert answer is not None and answer[0][0] == "Proxy-Authorization"
    assert digest_param(answer, "uri") == "http://example.com/path?q"
    connect = auth.authorize("CONNECT", URL.parse("https://example.com/"))
    assert digest_param(connect, "uri") == "example.com:443"
    # a proxy's space covers every origin
    assert auth.authorize("GET", URL.parse("http://elsewhere/"))


def test_clear_wipes_the_password_and_stops_authorizing() -> None:
    auth = DigestAuth("user", "pass")
    url = URL.parse("http://h/")
    headers = Headers([("WWW-Authenticate", 'Digest realm="r", nonce="n", qop=auth')])
    assert auth.on_challenge("GET", url, 401, headers)
    buffer = auth._password
    auth.clear()
    assert buffer == bytearray(4) and auth.cleared
    assert auth.authorize("GET", url) == []
    assert auth.on_challenge("GET", url, 401, headers) is None
    assert auth.reason == "the credentials were cleared"
    with BasicAuth("u", "secret") as basic:
        kept = basic._password
        assert basic.authorize("GET", url)
    assert kept == bytearray(6) and basic.authorize("GET", url) == []
    assert "secret" not in repr(basic)


def test_auth_from_userinfo() -> None:
    basic = auth_from_userinfo("u", "p")
    assert isinstance(basic, BasicAuth) and isinstance(basic, Auth)
    assert isinstance(auth_from_userinfo("u", "p", "Digest"), DigestAuth)
    with pytest.raises(LocalProtocolError, match="ntlm"):
        auth_from_userinfo("u", "p", "ntlm")


# -- through a real client and server ------------------------------------------------


def test_http_client_digest_end_to_end() -> None:
    app = DigestApp(nonce_max_uses=2)
    with running(app) as server, HTTPClient(auth=DigestAuth("user", "pass")) as client:
        for _ in range(4):
            response = client.get(f"{server.url}/protected")
            assert response.status_code == 200 and response.content == b"hello user\n"
    assert app.stats["digest_ok"] == 4 and app.stats["stale"] == 1
    assert app.stats["digest_challenges"] == 1


def test_http_client_basic_and_wrong_digest_end_to_end() -> None:
    app = DigestApp()
    with running(app) as server:
        with HTTPClient(auth=BasicAuth("user", "pass")) as client:
            assert client.get(f"{server.url}/basic").content == b"hello user\n"
        with HTTPClient(auth=DigestAuth("user", "bad")) as client:
            assert client.get(f"{server.url}/protected").status_code == 401
    assert app.stats["digest_failures"] == 1 and app.stats["basic_ok"] == 1
