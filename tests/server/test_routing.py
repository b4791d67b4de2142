"""Router: patterns, converters, precedence, 404 vs 405 + Allow, HEAD and OPTIONS."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockit import HTTPClient
from sockit.proto.http import Headers
from sockit.proto.http1 import Request
from sockit.server import Response, ServerRequest
from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.routing import Params, Router
from tests.server.harness import running


def req(method: str = "GET", target: str = "/", headers: Any = ()) -> ServerRequest:
    event = Request(method.encode(), target.encode("latin-1"), Headers(list(headers)))
    return ServerRequest(None, event, b"", None, ("127.0.0.1", 5555))  # type: ignore[arg-type]


def echo(tag: str):  # type: ignore[no-untyped-def]
    def handler(request: ServerRequest, params: Params) -> Response:
        shown = ",".join(f"{k}={v!r}" for k, v in sorted(params.items()))
        return Response(200, [("X-Tag", tag)], f"{tag}:{shown}".encode())

    return handler


@pytest.fixture
def router() -> Router:
    r = Router()
    r.add("GET", "/", echo("root"))
    r.add("GET", "/users/me", echo("me"))
    r.add("GET", "/users/{id:int}", echo("int"))
    r.add("GET", "/users/{name}", echo("str"))
    r.add("DELETE", "/users/{name:str}", echo("del"))
    r.add(("GET", "POST"), "/files/{path:path}", echo("path"))
    r.add("GET", "/a/{x}/b/{y:int}", echo("two"))
    return r


def body_of(response: Response | None) -> bytes:
    assert response is not None
    assert isinstance(response.body, bytes)
    return response.body


def test_literal_beats_int_beats_str(router: Router) -> None:
    assert body_of(router(req("GET", "/users/me"))) == b"me:"
    assert body_of(router(req("GET", "/users/42"))) == b"int:id=42"
    assert body_of(router(req("GET", "/users/bob"))) == b"str:name='bob'"
    assert body_of(router(req("GET", "/"))) == b"root:"


def test_precedence_does_not_depend_on_registration_order() -> None:
    r = Router()
    r.add("GET", "/p/{rest:path}", echo("path"))
    r.add("GET", "/p/{name}", echo("str"))
    r.add("GET", "/p/{n:int}", echo("int"))
    r.add("GET", "/p/x", echo("lit"))
    assert body_of(r(req("GET", "/p/x"))) == b"lit:"
    assert body_of(r(req("GET", "/p/7"))) == b"int:n=7"
    assert body_of(r(req("GET", "/p/y"))) == b"str:name='y'"
    assert body_of(r(req("GET", "/p/y/z"))) == b"path:rest='y/z'"


def test_int_converter_bounds() -> None:
    r = Router()
    r.add("GET", "/n/{n:int}", echo("int"))
    assert body_of(r(req("GET", "/n/" + "9" * 18))) == b"int:n=" + b"9" * 18
    assert r(req("GET", "/n/" + "9" * 19)).status == 404  # type: ignore[union-attr]
    for bad in ("-1", "1.5", "%31", "", "\u0661"):  # Arabic-Indic digit one: not ASCII
        assert r(req("GET", "/n/" + bad.encode().decode("latin-1"))).status == 404  # type: ignore[union-attr]


def test_percent_decoding_is_per_segment(router: Router) -> None:
    assert body_of(router(req("GET", "/users/a%2Fb"))) == b"str:name='a/b'"
    assert body_of(router(req("GET", "/users/caf%C3%A9"))) == "str:name='café'".encode()
    assert router(req("GET", "/users/%FF")).status == 404  # type: ignore[union-attr]
    assert router(req("GET", "/users/a%00b")).status == 404  # type: ignore[union-attr]
    assert body_of(router(req("GET", "/users/m%65"))) == b"me:"  # an escaped literal


def test_path_converter(router: Router) -> None:
    assert body_of(router(req("GET", "/files/a/b/c.txt"))) == b"path:path='a/b/c.txt'"
    assert body_of(router(req("POST", "/files/x"))) == b"path:path='x'"
    for bad in ("/files/", "/files/../etc/passwd", "/files/a/./b", "/files/a/%2e%2e/b",
                "/files/a%00"):
        assert router(req("GET", bad)).status == 404, bad  # type: ignore[union-attr]


def test_segment_counts_must_match(router: Router) -> None:
    assert body_of(router(req("GET", "/a/q/b/3"))) == b"two:x='q',y=3"
    for bad in ("/a/q/b", "/a/q/b/3/4", "/a//b/3", "/users/1/", "/users"):
        assert router(req("GET", bad)).status == 404, bad  # type: ignore[union-attr]


def test_405_lists_allow_and_404_does_not(router: Router) -> None:
    resp = router(req("PUT", "/users/bob"))
    assert resp is not None and resp.status == 405
    assert Headers(resp.headers)["allow"] == "DELETE, GET, HEAD, OPTIONS"
    missing = router(req("GET", "/nowhere"))
    assert missing is not None and missing.status == 404
    assert "allow" not in Headers(missing.headers)


def test_head_falls_back_to_get_and_options_is_automatic(router: Router) -> None:
    head = router(req("HEAD", "/users/7"))
    assert head is not None and body_of(head) == b"int:id=7"
    opts = router(req("OPTIONS", "/files/x"))
    assert opts is not None and opts.status == 204
    assert Headers(opts.headers)["allow"] == "GET, HEAD, OPTIONS, POST"
    r = Router()
    r.add("OPTIONS", "/o", echo("own"))
    assert body_of(r(req("OPTIONS", "/o"))) == b"own:"


def test_non_origin_targets_are_404(router: Router) -> None:
    assert router(req("OPTIONS", "*")).status == 404  # type: ignore[union-attr]
    assert router(req("CONNECT", "example.com:443")).status == 404  # type: ignore[union-attr]


def test_http_error_from_a_route_and_custom_pages() -> None:
    errors = ErrorHandlers()
    errors.register(404, lambda request, e: Response(404, [("X-Page", "custom")], b"nope"))
    r = Router(errors=errors)

    def teapot(request: ServerRequest, params: Params) -> Response:
        raise HTTPError(409, "busy", headers=[("X-Why", "busy")])

    r.add("GET", "/c", teapot)
    conflict = r(req("GET", "/c"))
    assert conflict is not None and conflict.status == 409
    assert Headers(conflict.headers)["x-why"] == "busy"
    missing = r(req("GET", "/zz"))
    assert missing is not None and body_of(missing) == b"nope"


def test_other_exceptions_propagate() -> None:
    r = Router()

    def boom(request: ServerRequest, params: Params) -> Response:
        raise RuntimeError("boom")

    r.add("GET", "/b", boom)
    with pytest.raises(RuntimeError):
        r(req("GET", "/b"))


@pytest.mark.parametrize(
    "pattern",
    ["nostart", "/x/{bad-name}", "/x/{a}/{a}", "/x/{p:path}/y", "/x/{n:float}", "/x/a{b}",
     "/x/{}"],
)
def test_bad_patterns_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        Router().add("GET", pattern, echo("x"))


def test_duplicate_routes_and_bad_methods_refused() -> None:
    r = Router()
    r.add("GET", "/x/{a}", echo("1"))
    r.add("POST", "/x/{b}", echo("2"))  # same shape, other method: fine
    with pytest.raises(ValueError):
        r.add(("PUT", "GET"), "/x/{c}", echo("3"))
    for bad in ("", "G ET", []):
        with pytest.raises(ValueError):
            r.add(bad, "/y", echo("4"))


def test_decorators() -> None:
    r = Router()

    @r.get("/g")
    def g(request: ServerRequest, params: Params) -> Response:
        return Response(200, None, b"g")

    @r.post("/g")
    def p(request: ServerRequest, params: Params) -> Response:
        return Response(201, None, b"p")

    r.put("/g")(echo("put"))
    r.patch("/g")(echo("patch"))
    r.delete("/g")(echo("del"))
    assert [r(req(m, "/g")).status for m in ("GET", "POST", "PUT", "PATCH", "DELETE")] == [  # type: ignore[union-attr]
        200, 201, 200, 200, 200]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "PUT"]))
def test_arbitrary_paths_match_or_give_an_error_status(raw: bytes, method: str) -> None:
    r = Router()
    r.add("GET", "/users/{id:int}", echo("int"))
    r.add("GET", "/users/{name}", echo("str"))
    r.add("POST", "/f/{p:path}", echo("path"))
    found = r.match(method, b"/" + raw)
    assert found.status in (200, 204, 404, 405)
    if found.status == 200:
        assert found.handler is not None
        for value in found.params.values():
            if isinstance(value, str):
                assert value and "\x00" not in value


def test_served_over_http(router: Router) -> None:
    with running(router) as server, HTTPClient() as client:
        base = server.url
        assert client.get(f"{base}/users/5", timeout=5).content == b"int:id=5"
        put = client.put(f"{base}/users/5", body=b"", timeout=5)
        assert put.status_code == 405 and put.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
        head = client.request("HEAD", f"{base}/users/me", timeout=5)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == "3"
        assert client.get(f"{base}/missing", timeout=5).status_code == 404
