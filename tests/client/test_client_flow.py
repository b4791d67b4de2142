"""Redirects, retries, params/json/forms/multipart, auth and cookie hooks, download/upload."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockit import HTTPClient
from sockit.client.redirects import InsecureRedirect, TooManyRedirects
from sockit.errors import LocalProtocolError
from sockit.limits import RetryDefaults
from sockit.net.retry import Retry
from sockit.proto.http import URL, Headers
from sockit.server import HTTPServer, Response, ServerRequest
from tests.server.harness import running

BLOB = bytes(range(256)) * 400  # 100 KiB


class App:
    """Routes for the flow tests; counts the calls it sees."""

    def __init__(self) -> None:
        self.flaky_left = 0
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, req: ServerRequest) -> Response:
        with self.lock:
            self.calls.append((req.method, req.target))
        path = req.path
        if path.startswith("/redirect/"):
            code = int(path.rsplit("/", 1)[1])
            to = dict(req.query_params).get("to", "/echo")
            return Response(code, [("Location", to)], b"moved")
        if path == "/loop":
            return Response(302, [("Location", "/loop")])
        if path == "/echo":
            info = {
                "method": req.method,
                "query": req.query,
                "body": req.body.decode("latin-1"),
                "headers": {k.lower(): v for k, v in req.headers.items()},
                "trailers": {k.lower(): v for k, v in req.trailers.items()},
            }
            return Response(200, [("Content-Type", "application/json")], json.dumps(info).encode())
        if path == "/flaky":
            with self.lock:
                self.flaky_left -= 1
                failing = self.flaky_left >= 0
            if failing:
                return Response(503, [("Retry-After", "0")], b"busy")
            return Response(200, [], b"finally")
        if path == "/blob":
            rng = req.headers.get("range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(BLOB):
                    return Response(416, [("Content-Range", f"bytes */{len(BLOB)}")])
                headers = [("Content-Range", f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}")]
                return Response(206, headers, BLOB[start:])
            return Response(200, [], BLOB)
        if path == "/protected":
            if req.headers.get("authorization") == "Token good":
                return Response(200, [], b"welcome")
            return Response(401, [("WWW-Authenticate", 'Token realm="x"')], b"no")
        if path == "/cookie":
            return Response(200, [("Set-Cookie", "session=abc; Path=/")], b"set")
        return Response(404)


@pytest.fixture
def app_server() -> Iterator[tuple[App, HTTPServer]]:
    app = App()
    with running(app) as server:
        yield app, server


def _echo(r: object) -> dict[str, object]:
    return json.loads(r.content)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(
    ("code", "method", "expect_method", "expect_body"),
    [
        (301, "POST", "GET", ""),
        (302, "POST", "GET", ""),
        (303, "PUT", "GET", ""),
        (307, "POST", "POST", "payload"),
        (308, "PUT", "PUT", "payload"),
        (302, "PUT", "PUT", "payload"),
    ],
)
def test_redirect_methods_and_bodies(
    app_server: tuple[App, HTTPServer], code: int, method: str, expect_method: str,
    expect_body: str,
) -> None:
    _, server = app_server
    with HTTPClient() as client:
        r = client.request(method, server.url + f"/redirect/{code}", body=b"payload",
                           timeout=10)
        got = _echo(r)
        assert (got["method"], got["body"]) == (expect_method, expect_body)
        assert [h.status_code for h in r.history] == [code]
        assert r.url == URL.parse(server.url + "/echo")
        if not expect_body:
            assert "content-length" not in got["headers"] or got["headers"]["content-length"] == "0"  # type: ignore[index,operator]


def test_redirects_off_and_loop(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    with HTTPClient(follow_redirects=False) as client:
        assert client.get(server.url + "/redirect/302", timeout=10).status_code == 302
        assert client.get(server.url + "/redirect/302", follow_redirects=True,
                          timeout=10).status_code == 200
    with HTTPClient() as client, pytest.raises(TooManyRedirects) as info:
        client.get(server.url + "/loop", timeout=10)
    assert info.value.limit == "max_redirects"
    # the client is still fine afterwards
    with HTTPClient() as client:
        assert client.get(server.url + "/echo", timeout=10).status_code == 200


def test_cross_origin_redirect_drops_credentials(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    other = server.url.replace("127.0.0.1", "localhost")  # another origin, same server
    with HTTPClient() as client:
        headers = [("Authorization", "Bearer secret"), ("Cookie", "a=b"), ("X-Keep", "1")]
        same = _echo(client.get(server.url + "/redirect/302?to=/echo", headers=headers,
                                timeout=10))
        assert same["headers"]["authorization"] == "Bearer secret"  # type: ignore[index]
        cross = _echo(client.get(server.url + f"/redirect/302?to={other}/echo",
                                 headers=headers, timeout=10))
        assert "authorization" not in cross["headers"]  # type: ignore[operator]
        assert "cookie" not in cross["headers"]  # type: ignore[operator]
        assert cross["headers"]["x-keep"] == "1"  # type: ignore[index]


def test_https_to_http_downgrade_is_refused() -> None:
    from sockit.client.redirects import next_hop

    with pytest.raises(InsecureRedirect):
        next_hop(302, "http://example.com/", URL.parse("https://example.com/a"), "GET", [])
    step = next_hop(302, "http://example.com/", URL.parse("https://example.com/a"), "GET", [],
                    allow_downgrade=True)
    assert step.url.scheme == "http"


def test_params_json_form_and_multipart(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    with HTTPClient() as client:
        got = _echo(client.get(server.url + "/echo?x=1", params={"q": "a b", "n": 2},
                               timeout=10))
        assert got["query"] == "x=1&q=a+b&n=2"
        got = _echo(client.post(server.url + "/echo", json={"k": ["v", 1, None]}, timeout=10))
        assert json.loads(got["body"]) == {"k": ["v", 1, None]}  # type: ignore[arg-type]
        assert got["headers"]["content-type"] == "application/json"  # type: ignore[index]
        got = _echo(client.post(server.url + "/echo", data={"a": "1", "b": "x&y"}, timeout=10))
        assert got["body"] == "a=1&b=x%26y"
        got = _echo(client.post(server.url + "/echo", data={"title": "t"},
                                files={"f": ("r.csv", b"a,b\n", "text/csv")}, timeout=10))
        ctype = got["headers"]["content-type"]  # type: ignore[index]
        assert ctype.startswith("multipart/form-data; boundary=")
        body = got["body"]
        assert 'name="title"\r\n\r\nt\r\n' in body  # type: ignore[operator]
        assert 'filename="r.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n' in body  # type: ignore[operator]
        with pytest.raises(LocalProtocolError):
            client.post(server.url + "/echo", body=b"x", json=1)


def test_retry_on_503_with_retry_after(app_server: tuple[App, HTTPServer]) -> None:
    app, server = app_server
    app.flaky_left = 2
    slept: list[float] = []
    retry = Retry(RetryDefaults(max_attempts=3, initial_delay=0.0, max_delay=0.0))
    with HTTPClient(retry=retry) as client:
        client._flow.sleep = slept.append  # no real sleeping
        r = client.get(server.url + "/flaky", timeout=10)
        assert r.status_code == 200 and r.content == b"finally"
    assert len(slept) == 2
    app.flaky_left = 5
    with HTTPClient() as client:  # retries are off by default
        assert client.get(server.url + "/flaky", timeout=10).status_code == 503


class TokenAuth:
    """A fake scheme: answers a ``Token`` challenge once."""

    proxy = False

    def __init__(self) -> None:
        self.challenges = 0

    def authorize(self, method: str, url: URL, body_hash: bytes | None = None
                  ) -> list[tuple[str, str]]:
        return []

    def on_challenge(self, method: str, url: URL, status: int, headers: Headers
                     ) -> list[tuple[str, str]] | None:
        self.challenges += 1
        if headers.get("www-authenticate", "").startswith("Token"):
            return [("Authorization", "Token good")]
        return None


def test_auth_challenge_answered(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    auth = TokenAuth()
    with HTTPClient(auth=auth) as client:
        r = client.get(server.url + "/protected", timeout=10)
        assert (r.status_code, r.content) == (200, b"welcome")
    assert auth.challenges == 1
    with HTTPClient() as client:
        assert client.get(server.url + "/protected", timeout=10).status_code == 401
        assert client.get(server.url + "/protected", auth=TokenAuth(),
                          timeout=10).status_code == 200


class Jar:
    """A minimal cookie store: one cookie, any URL."""

    def __init__(self) -> None:
        self.value: str | None = None

    def extract(self, url: URL | str, headers: Headers) -> int:
        cookie = headers.get("set-cookie")
        if cookie:
            self.value = cookie.split(";", 1)[0]
            return 1
        return 0

    def header_for(self, url: URL | str, *, top_level: bool = True, method: str = "GET",
                   site: URL | str | None = None) -> str | None:
        return self.value


def test_cookie_store_hooks(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    jar = Jar()
    with HTTPClient(cookies=jar) as client:
        client.get(server.url + "/cookie", timeout=10)
        got = _echo(client.get(server.url + "/echo", timeout=10))
    assert got["headers"]["cookie"] == "session=abc"  # type: ignore[index]


def test_default_cookie_jar_round_trip(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    with HTTPClient() as client:
        assert client.cookies is not None
        assert "cookie" not in _echo(client.get(server.url + "/echo", timeout=10))["headers"]  # type: ignore[operator]
        client.get(server.url + "/cookie", timeout=10)
        got = _echo(client.get(server.url + "/echo", timeout=10))
        assert got["headers"]["cookie"] == "session=abc"  # type: ignore[index]
        other = server.url.replace("127.0.0.1", "localhost")  # another host: not sent
        assert "cookie" not in _echo(client.get(other + "/echo", timeout=10))["headers"]  # type: ignore[operator]
    with HTTPClient(cookies=False) as client:
        assert client.cookies is None
        client.get(server.url + "/cookie", timeout=10)
        assert "cookie" not in _echo(client.get(server.url + "/echo", timeout=10))["headers"]  # type: ignore[operator]


def test_stream_download_resume_and_upload(app_server: tuple[App, HTTPServer],
                                           tmp_path: Path) -> None:
    _, server = app_server
    with HTTPClient() as client:
        with client.stream("GET", server.url + "/blob", timeout=10) as r:
            assert sum(len(c) for c in r.iter_bytes()) == len(BLOB)
        target = tmp_path / "blob.bin"
        target.write_bytes(BLOB[:1000])
        result = client.download(server.url + "/blob", target, timeout=10)
        assert result.resumed and result.written == len(BLOB) - 1000
        assert target.read_bytes() == BLOB
        again = client.download(server.url + "/blob", target, timeout=10)
        assert again.status_code == 416 and again.written == 0 and again.size == len(BLOB)
        fresh = client.download(server.url + "/blob", tmp_path / "new.bin", timeout=10)
        assert not fresh.resumed and fresh.size == len(BLOB)
        src = tmp_path / "up.txt"
        src.write_bytes(b"uploaded content\n" * 100)
        got = _echo(client.upload(server.url + "/echo", src, timeout=10))
        assert got["method"] == "PUT" and got["body"] == (b"uploaded content\n" * 100).decode()
        assert got["headers"]["content-type"] == "text/plain"  # type: ignore[index]


def test_trailers_both_ways_and_module_verbs(app_server: tuple[App, HTTPServer]) -> None:
    import sockit

    _, server = app_server
    with HTTPClient() as client:
        got = _echo(client.post(server.url + "/echo", body=iter([b"a", b"b"]),
                                trailers=[("X-Checksum", "ab")], timeout=10))
        assert got["body"] == "ab"
        assert got["trailers"] == {"x-checksum": "ab"}
        with pytest.raises(LocalProtocolError):
            client.post(server.url + "/echo", body=b"whole", trailers=[("X-A", "1")])
    for verb in ("get", "head", "options", "delete"):
        r = getattr(sockit, verb)(server.url + "/echo", timeout=10)
        assert r.status_code == 200
    for verb in ("post", "put", "patch"):
        r = getattr(sockit, verb)(server.url + "/echo", json={"v": verb}, timeout=10)
        assert json.loads(_echo(r)["body"]) == {"v": verb}  # type: ignore[arg-type]


def test_request_builder(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    with HTTPClient() as client:
        req = client.build("POST", server.url + "/echo")
        req.header("X-Trace", "t1").param("dry", 1).json({"n": 1}).timeout(10)
        got = _echo(req.send())
        assert got["query"] == "dry=1"
        assert got["headers"]["x-trace"] == "t1"  # type: ignore[index]
        assert json.loads(got["body"]) == {"n": 1}  # type: ignore[arg-type]
        assert _echo(req.send())["query"] == "dry=1"  # sendable twice, options copied
        with pytest.raises(LocalProtocolError):
            req.body(b"x")
        with client.build("GET", server.url + "/echo").timeout(10).stream() as r:
            assert r.status_code == 200 and b"GET" in r.read()


def test_request_trailers_over_http2(app_server: tuple[App, HTTPServer]) -> None:
    _, server = app_server
    with HTTPClient(http2_prior_knowledge=True) as client:
        r = client.post(server.url + "/echo", body=iter([b"x", b"y"]),
                        trailers=[("X-Checksum", "xy")], timeout=10)
        assert r.http_version == "HTTP/2"
        got = _echo(r)
    assert got["body"] == "xy"
    assert got["trailers"] == {"x-checksum": "xy"}
