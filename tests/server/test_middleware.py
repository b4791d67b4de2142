"""Pipeline order and short-circuit, request ids, access log, CORS, security headers, 429."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sockit import HTTPClient
from sockit.errors import LocalProtocolError
from sockit.observe import FIELDS_KEY, current_trace
from sockit.proto.http import Headers
from sockit.proto.http1 import Request
from sockit.server import Response, ServerRequest
from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.middleware import (
    CORS,
    AccessLog,
    CallNext,
    Pipeline,
    RateLimit,
    RequestID,
    SecurityHeaders,
    client_ip,
)
from tests.server.harness import running


def req(method: str = "GET", target: str = "/", headers: Any = (),
        client: Any = ("10.0.0.1", 5555)) -> ServerRequest:
    event = Request(method.encode(), target.encode("latin-1"), Headers(list(headers)))
    return ServerRequest(None, event, b"", None, client)  # type: ignore[arg-type]


def ok(request: ServerRequest) -> Response:
    return Response(200, [("Content-Type", "text/plain")], b"ok")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_order_and_post_processing() -> None:
    seen: list[str] = []

    def tag(name: str):  # type: ignore[no-untyped-def]
        def mw(request: ServerRequest, call_next: CallNext) -> Response | None:
            seen.append(f"in {name}")
            resp = call_next(request)
            seen.append(f"out {name}")
            assert resp is not None
            return Response(resp.status, [*Headers(resp.headers).items(), ("X-Via", name)],
                            resp.body)
        return mw

    resp = Pipeline(ok, [tag("a"), tag("b")])(req())
    assert seen == ["in a", "in b", "out b", "out a"]
    assert resp is not None and Headers(resp.headers).get_all("x-via") == ["b", "a"]


def test_a_middleware_may_answer_and_stop() -> None:
    called: list[int] = []

    def app(request: ServerRequest) -> Response:
        called.append(1)
        return ok(request)

    def gate(request: ServerRequest, call_next: CallNext) -> Response | None:
        if request.path == "/private":
            return Response(401, None, b"no")
        return call_next(request)

    pipe = Pipeline(app, [gate])
    assert pipe(req("GET", "/private")).status == 401  # type: ignore[union-attr]
    assert called == []
    assert pipe(req("GET", "/public")).status == 200  # type: ignore[union-attr]
    assert called == [1]


def test_exceptions_become_answers_every_layer_sees(caplog: pytest.LogCaptureFixture) -> None:
    statuses: list[int] = []

    def watch(request: ServerRequest, call_next: CallNext) -> Response | None:
        resp = call_next(request)
        assert resp is not None
        statuses.append(resp.status)
        return resp

    def app(request: ServerRequest) -> Response:
        if request.path == "/teapot":
            raise HTTPError(418, headers=[("X-T", "1")])
        raise RuntimeError("boom")

    errors = ErrorHandlers({500: lambda r, e: Response(500, None, b"custom 500")})
    pipe = Pipeline(app, [watch], errors=errors)
    with caplog.at_level(logging.ERROR, logger="sockit.server"):
        boom = pipe(req("GET", "/x"))
    assert boom is not None and boom.body == b"custom 500"
    assert any("handler failed" in r.getMessage() for r in caplog.records)
    tea = pipe(req("GET", "/teapot"))
    assert tea is not None and tea.status == 418 and Headers(tea.headers)["x-t"] == "1"
    assert statuses == [500, 418]


def test_none_passes_through() -> None:
    pipe = Pipeline(lambda r: None, [RequestID(), SecurityHeaders(), AccessLog()])
    assert pipe(req()) is None


# -- request id ---------------------------------------------------------------------------


def test_request_id_generated_echoed_and_in_trace_context() -> None:
    inside: list[str | None] = []

    def app(request: ServerRequest) -> Response:
        inside.append(current_trace().request_id)
        return ok(request)

    pipe = Pipeline(app, [RequestID()])
    resp = pipe(req())
    assert resp is not None
    rid = Headers(resp.headers)["x-request-id"]
    assert len(rid) == 16 and inside == [rid]
    assert current_trace().request_id is None  # restored afterwards


@pytest.mark.parametrize(("incoming", "kept"), [
    ("abc-123", True), ("a" * 128, True), ("a" * 129, False), ("bad id", False),
    ("caf\xe9", False), ("a;b", False), ("", False),
])
def test_incoming_request_id_checked(incoming: str, kept: bool) -> None:
    request = req(headers=[("X-Request-ID", incoming)]) if incoming else req()
    resp = Pipeline(ok, [RequestID()])(request)
    assert resp is not None
    rid = Headers(resp.headers)["x-request-id"]
    assert (rid == incoming) is kept


def test_untrusted_incoming_id_replaced() -> None:
    pipe = Pipeline(ok, [RequestID(trust_incoming=False, make_id=lambda: "mine")])
    resp = pipe(req(headers=[("X-Request-ID", "theirs")]))
    assert resp is not None and Headers(resp.headers).get_all("x-request-id") == ["mine"]


# -- access log -----------------------------------------------------------------------------


def access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [getattr(r, FIELDS_KEY) for r in caplog.records if r.name == "sockit.server.access"]


def test_access_log_fields(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    def app(request: ServerRequest) -> Response:
        clock.now += 0.25
        return Response(201, None, b"12345")

    pipe = Pipeline(app, [RequestID(make_id=lambda: "rid-1"), AccessLog(clock=clock)])
    with caplog.at_level(logging.INFO, logger="sockit.server.access"):
        pipe(req("POST", "/a%20b", client=("10.1.2.3", 4444)))
    (fields,) = access_records(caplog)
    assert fields == {"method": "POST", "path": "/a b", "status": 201, "bytes": 5,
                      "duration": 0.25, "client": "10.1.2.3", "request_id": "rid-1"}
    assert caplog.records[-1].getMessage() == "request"


def test_access_log_streamed_body_logged_at_end(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    def app(request: ServerRequest) -> Response:
        return Response(200, None, iter([b"ab", b"cde"]))

    pipe = Pipeline(app, [RequestID(make_id=lambda: "s"), AccessLog(clock=clock)])
    with caplog.at_level(logging.INFO, logger="sockit.server.access"):
        resp = pipe(req())
        assert resp is not None and access_records(caplog) == []
        body = resp.body
        clock.now += 1.0
        assert b"".join(body) == b"abcde"  # type: ignore[arg-type]
        body.close()  # type: ignore[union-attr]  # the server closes bodies; logged once
    (fields,) = access_records(caplog)
    assert fields["bytes"] == 5 and fields["duration"] == 1.0 and fields["request_id"] == "s"
    assert caplog.records[-1].__dict__.get("request_id", "s") == "s"


def test_access_log_abandoned_stream_and_unix_client(caplog: pytest.LogCaptureFixture) -> None:
    def app(request: ServerRequest) -> Response:
        return Response(200, None, iter([b"ab", b"cde"]))

    pipe = Pipeline(app, [AccessLog()])
    with caplog.at_level(logging.INFO, logger="sockit.server.access"):
        resp = pipe(req(client="/tmp/sock"))
        assert resp is not None
        it = iter(resp.body)  # type: ignore[call-overload]
        next(it)
        resp.body.close()  # type: ignore[union-attr]  # the client went away
    (fields,) = access_records(caplog)
    assert fields["bytes"] == 2 and fields["client"] == "unix" and fields["request_id"] is None


def test_access_log_disabled_costs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sockit.server.access"):
        resp = Pipeline(ok, [AccessLog()])(req())
    assert resp is not None and resp.body == b"ok" and access_records(caplog) == []


# -- CORS, security headers -------------------------------------------------------------------


def test_cors_preflight_and_simple_requests() -> None:
    cors = CORS(["https://app.example"], allow_methods=["GET", "PUT"],
                allow_headers=["X-Token"], expose_headers=["X-Total"], allow_credentials=True)
    pipe = Pipeline(ok, [cors])
    pre = pipe(req("OPTIONS", "/r", [("Origin", "https://app.example"),
                                     ("Access-Control-Request-Method", "PUT"),
                                     ("Access-Control-Request-Headers", "x-token")]))
    assert pre is not None and pre.status == 204
    h = Headers(pre.headers)
    assert h["access-control-allow-origin"] == "https://app.example"
    assert h["access-control-allow-methods"] == "GET, PUT"
    assert h["access-control-allow-headers"] == "x-token"
    assert h["access-control-allow-credentials"] == "true" and h["vary"] == "Origin"
    bad = pipe(req("OPTIONS", "/r", [("Origin", "https://app.example"),
                                     ("Access-Control-Request-Method", "DELETE")]))
    assert bad is not None and bad.status == 403
    simple = pipe(req("GET", "/r", [("Origin", "https://app.example")]))
    assert simple is not None
    assert Headers(simple.headers)["access-control-expose-headers"] == "X-Total"
    other = pipe(req("GET", "/r", [("Origin", "https://evil.example")]))
    assert other is not None and "access-control-allow-origin" not in Headers(other.headers)


def test_cors_star_and_credentials_refused() -> None:
    with pytest.raises(ValueError):
        CORS("*", allow_credentials=True)
    resp = Pipeline(ok, [CORS()])(req("GET", "/", [("Origin", "https://x")]))
    assert resp is not None and Headers(resp.headers)["access-control-allow-origin"] == "*"


def test_security_headers_added_unless_set() -> None:
    def app(request: ServerRequest) -> Response:
        return Response(200, [("X-Frame-Options", "SAMEORIGIN")], b"")

    resp = Pipeline(app, [SecurityHeaders(hsts=3600, csp="default-src 'self'")])(req())
    assert resp is not None
    h = Headers(resp.headers)
    assert h.get_all("x-frame-options") == ["SAMEORIGIN"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["strict-transport-security"] == "max-age=3600; includeSubDomains"
    assert h["content-security-policy"] == "default-src 'self'"
    with pytest.raises(LocalProtocolError):  # a header value with CR/LF is refused now
        SecurityHeaders(csp="a\r\nb")


# -- rate limit ---------------------------------------------------------------------------------


def test_rate_limit_at_burst_and_burst_plus_one() -> None:
    clock = FakeClock()
    limit = RateLimit(2.0, 3, paths=["/login"], clock=clock)
    pipe = Pipeline(ok, [limit])
    statuses = [pipe(req("POST", "/login")).status for _ in range(4)]  # type: ignore[union-attr]
    assert statuses == [200, 200, 200, 429]
    refused = pipe(req("POST", "/login"))
    assert refused is not None and Headers(refused.headers)["retry-after"] == "1"
    assert pipe(req("GET", "/other")).status == 200  # type: ignore[union-attr]
    assert pipe(req("GET", "/loginx")).status == 200  # type: ignore[union-attr]
    assert pipe(req("GET", "/login/sub")).status == 429  # type: ignore[union-attr]
    assert pipe(req("POST", "/login", client=("10.9.9.9", 1))).status == 200  # type: ignore[union-attr]
    clock.now += 0.5  # one token back
    assert pipe(req("POST", "/login")).status == 200  # type: ignore[union-attr]
    assert pipe(req("POST", "/login")).status == 429  # type: ignore[union-attr]


def test_rate_limit_retry_after_rounds_up() -> None:
    clock = FakeClock()
    pipe = Pipeline(ok, [RateLimit(0.1, 1, clock=clock)])
    assert pipe(req()).status == 200  # type: ignore[union-attr]
    refused = pipe(req())
    assert refused is not None and Headers(refused.headers)["retry-after"] == "10"


def test_rate_limit_methods_and_custom_429_page() -> None:
    errors = ErrorHandlers({429: lambda r, e: Response(429, [("Content-Type", "x/y")], b"slow")})
    pipe = Pipeline(ok, [RateLimit(1, 1, methods=["POST"], clock=FakeClock())], errors=errors)
    assert [pipe(req("GET")).status for _ in range(3)] == [200] * 3  # type: ignore[union-attr]
    assert pipe(req("POST")).status == 200  # type: ignore[union-attr]
    refused = pipe(req("POST"))
    assert refused is not None and refused.body == b"slow"
    assert Headers(refused.headers)["retry-after"] == "1"  # kept though the page forgot it


def test_rate_limit_table_is_bounded_lru() -> None:
    clock = FakeClock()
    limit = RateLimit(1, 1, max_clients=3, clock=clock)
    pipe = Pipeline(ok, [limit])
    for i in range(3):
        assert pipe(req(client=(f"10.0.0.{i}", 1))).status == 200  # type: ignore[union-attr]
    assert len(limit) == 3
    assert pipe(req(client=("10.0.0.0", 1))).status == 429  # refreshes .0
    assert pipe(req(client=("10.0.0.3", 1))).status == 200  # type: ignore[union-attr]  # evicts .1
    assert len(limit) == 3
    assert pipe(req(client=("10.0.0.0", 1))).status == 429  # type: ignore[union-attr]  # still tracked
    for i in range(1000):
        pipe(req(client=(f"10.1.{i // 256}.{i % 256}", 1)))
    assert len(limit) == 3


def test_rate_limit_config_checked_and_defaults() -> None:
    for bad in ((0, 1), (1, 0), (float("nan"), 1)):
        with pytest.raises(ValueError):
            RateLimit(*bad)
    with pytest.raises(ValueError):
        RateLimit(1, 1, max_clients=0)
    limit = RateLimit.from_defaults()
    assert (limit.rate, limit.burst) == (100.0, 50.0)
    assert client_ip(req(client=("::1", 80, 0, 0))) == "::1"


# -- over a real server ---------------------------------------------------------------------------


def test_pipeline_served(caplog: pytest.LogCaptureFixture) -> None:
    app = Pipeline(ok, [RequestID(), AccessLog(), SecurityHeaders(),
                        RateLimit(1, 2, paths=["/"])])
    with caplog.at_level(logging.INFO, logger="sockit.server.access"), running(app) as server, \
            HTTPClient() as client:
        first = client.get(server.url + "/", headers={"X-Request-ID": "given-1"}, timeout=5)
        assert first.status_code == 200 and first.headers["x-request-id"] == "given-1"
        assert first.headers["x-content-type-options"] == "nosniff"
        client.get(server.url + "/", timeout=5)
        third = client.get(server.url + "/", timeout=5)
        assert third.status_code == 429 and third.headers["retry-after"] == "1"
        assert len(third.headers["x-request-id"]) == 16
    records = access_records(caplog)
    assert [f["status"] for f in records] == [200, 200, 429]
    assert records[0]["request_id"] == "given-1" and records[0]["client"] == "127.0.0.1"
