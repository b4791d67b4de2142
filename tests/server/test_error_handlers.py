"""Custom error pages for every status the app layer produces, and connection-level pages."""

from __future__ import annotations

import json
import logging

import pytest

from sockit import HTTPClient
from sockit.errors import SockitError
from sockit.proto.http import Headers
from sockit.proto.http1 import Request
from sockit.server import Response, ServerRequest
from sockit.server.errors import MAX_PAGE_SIZE, ErrorHandlers, HTTPError, plain_error
from sockit.server.middleware import Pipeline, RateLimit
from sockit.server.routing import Params, Router
from tests.server.harness import running


def req(method: str = "GET", target: str = "/") -> ServerRequest:
    event = Request(method.encode(), target.encode(), Headers())
    return ServerRequest(None, event, b"", None, ("127.0.0.1", 1))  # type: ignore[arg-type]


def json_page(request: ServerRequest | None, error: HTTPError) -> Response:
    body = json.dumps({"status": error.status, "detail": error.detail,
                       "path": None if request is None else request.path}).encode()
    return Response(error.status, [("Content-Type", "application/json")], body)


def test_http_error_checks_status_and_carries_headers() -> None:
    err = HTTPError(429, "slow down", headers=[("Retry-After", "3")])
    assert isinstance(err, SockitError)
    assert err.status == 429 and err.headers == [("Retry-After", "3")]
    assert str(err) == "429 Too Many Requests: slow down"
    for bad in (200, 399, 600, "404", True):
        with pytest.raises(ValueError):
            HTTPError(bad)  # type: ignore[arg-type]


def test_plain_page_default() -> None:
    resp = ErrorHandlers().render(req(), HTTPError(404))
    assert resp.status == 404 and resp.body == b"404 Not Found\n"
    assert Headers(resp.headers)["content-type"] == "text/plain; charset=utf-8"
    odd = plain_error(None, HTTPError(499))
    assert odd.body.startswith(b"499 ")  # type: ignore[union-attr]


def test_handler_per_status_and_default() -> None:
    errors = ErrorHandlers({404: json_page}, default=lambda r, e: Response(e.status, None, b"d"))
    assert json.loads(errors.render(req("GET", "/x"), HTTPError(404)).body) == {  # type: ignore[arg-type]
        "status": 404, "detail": None, "path": "/x"}
    assert errors.render(req(), HTTPError(503)).body == b"d"

    @errors.register(500)
    def five(request: ServerRequest | None, error: HTTPError) -> Response:
        return Response(500, None, b"five")

    assert errors.response(req(), 500).body == b"five"
    assert errors.handler_for(404) is json_page
    for bad in (200, 600):
        with pytest.raises(ValueError):
            errors.register(bad, json_page)


def test_required_headers_survive_a_custom_page() -> None:
    errors = ErrorHandlers(default=json_page)
    resp = errors.render(req(), HTTPError(405, headers=[("Allow", "GET")]))
    assert Headers(resp.headers)["allow"] == "GET"
    own = ErrorHandlers({405: lambda r, e: Response(405, [("Allow", "PUT")], b"")})
    resp = own.render(req(), HTTPError(405, headers=[("Allow", "GET")]))
    assert Headers(resp.headers).get_all("allow") == ["PUT"]  # the handler's own wins


def test_failing_handler_falls_back_to_plain(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request: ServerRequest | None, error: HTTPError) -> Response:
        raise KeyError("oops")

    errors = ErrorHandlers({404: broken, 410: lambda r, e: "not a response"})  # type: ignore[dict-item]
    with caplog.at_level(logging.ERROR, logger="sockit.server"):
        assert errors.render(req(), HTTPError(404)).body == b"404 Not Found\n"
        assert errors.render(req(), HTTPError(410)).body == b"410 Gone\n"
    assert sum("error handler" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("status", [400, 404, 405, 408, 413, 429, 431, 500, 503])
def test_every_app_layer_status_goes_through_the_handlers(status: int) -> None:
    errors = ErrorHandlers(default=json_page)
    router = Router(errors=errors)

    def raise_it(request: ServerRequest, params: Params) -> Response:
        raise HTTPError(status, "from the app")

    router.add("GET", "/e", raise_it)
    resp = Pipeline(router, errors=errors)(req("GET", "/e"))
    assert resp is not None and resp.status == status
    assert json.loads(resp.body)["detail"] == "from the app"  # type: ignore[arg-type]


def test_router_pipeline_and_rate_limit_share_pages() -> None:
    errors = ErrorHandlers(default=json_page)
    router = Router(errors=errors)
    router.add("GET", "/only-get", lambda r, p: Response(200, None, b"ok"))
    router.add("GET", "/boom", lambda r, p: 1 / 0)  # type: ignore[arg-type,return-value]
    app = Pipeline(router, [RateLimit(1, 100, paths=["/limited"])], errors=errors)
    for method, path, status in [("GET", "/nope", 404), ("POST", "/only-get", 405),
                                 ("GET", "/boom", 500)]:
        resp = app(req(method, path))
        assert resp is not None and resp.status == status
        assert json.loads(resp.body)["status"] == status  # type: ignore[arg-type]
    for _ in range(100):
        app(req("GET", "/limited"))
    limited = app(req("GET", "/limited"))
    assert limited is not None and limited.status == 429
    assert json.loads(limited.body)["status"] == 429  # type: ignore[arg-type]
    assert "retry-after" in Headers(limited.headers)


def test_page_for_connection_level_errors() -> None:
    errors = ErrorHandlers({413: json_page})
    fields, body = errors.page(413)
    assert json.loads(body) == {"status": 413, "detail": None, "path": None}
    assert (b"Content-Type", b"application/json") in fields
    plain_fields, plain = errors.page(431)
    assert plain == b"431 Request Header Fields Too Large\n"
    assert all(n.lower() not in (b"content-length", b"connection", b"date")
               for n, _ in plain_fields)
    assert errors.page(200)[1] == b"500 Internal Server Error\n"  # not an error status


def test_page_refuses_streams_and_oversized_bodies() -> None:
    errors = ErrorHandlers({
        400: lambda r, e: Response(400, None, iter([b"x"])),
        408: lambda r, e: Response(408, None, b"x" * (MAX_PAGE_SIZE + 1)),
        503: lambda r, e: Response(503, None, b"x" * MAX_PAGE_SIZE),
    })
    assert errors.page(400)[1] == b"400 Bad Request\n"
    assert errors.page(408)[1] == b"408 Request Timeout\n"
    assert len(errors.page(503)[1]) == MAX_PAGE_SIZE


def test_custom_pages_over_http() -> None:
    errors = ErrorHandlers(default=json_page)
    router = Router(errors=errors)
    router.add("GET", "/x", lambda r, p: Response(200, None, b"x"))
    with running(Pipeline(router, errors=errors)) as server, HTTPClient() as client:
        missing = client.get(server.url + "/missing", timeout=5)
        assert missing.status_code == 404 and missing.json()["path"] == "/missing"
        wrong = client.delete(server.url + "/x", timeout=5)
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, HEAD, OPTIONS"
        assert wrong.headers["content-type"] == "application/json"
