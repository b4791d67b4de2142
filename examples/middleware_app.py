"""Routing and middleware over the sockit server: a tiny API with its own error pages.

    python examples/middleware_app.py      # serves on a free port and talks to itself

Routes: ``GET /users/{id:int}``, ``POST /login`` (rate limited: 2 per client,
then ``429`` with ``Retry-After``). Every answer carries an ``X-Request-ID``
and security headers; errors (404, 405, 429) are JSON pages from one
:class:`ErrorHandlers`; one access-log line per request. It ends with
``middleware app ok: ...``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading

from sockit import HTTPClient
from sockit.observe import FIELDS_KEY
from sockit.server import HTTPServer, Response, ServerRequest, run
from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.middleware import AccessLog, Pipeline, RateLimit, RequestID, SecurityHeaders
from sockit.server.routing import Params, Router

JSON = [("Content-Type", "application/json")]


def json_error(request: ServerRequest | None, error: HTTPError) -> Response:
    return Response(error.status, JSON, json.dumps({"error": error.status}).encode())


def build_app() -> Pipeline:
    errors = ErrorHandlers(default=json_error)
    router = Router(errors=errors)

    @router.get("/users/{id:int}")
    def user(request: ServerRequest, params: Params) -> Response:
        return Response(200, JSON, json.dumps({"id": params["id"]}).encode())

    @router.post("/login")
    def login(request: ServerRequest, params: Params) -> Response:
        return Response(200, JSON, b'{"token": "t"}')

    return Pipeline(router, [RequestID(), AccessLog(), SecurityHeaders(),
                             RateLimit(0.01, 2, paths=["/login"])], errors=errors)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.fields.append(getattr(record, FIELDS_KEY))


def main() -> int:
    lines = Lines()
    access = logging.getLogger("sockit.server.access")
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    server = HTTPServer("127.0.0.1", 0)
    thread = threading.Thread(target=run, args=(server, build_app()), daemon=True)
    thread.start()
    try:
        with HTTPClient() as client:
            user = client.get(f"{server.url}/users/7", headers={"X-Request-ID": "demo-1"},
                              timeout=10)
            assert user.json() == {"id": 7} and user.headers["x-request-id"] == "demo-1"
            assert user.headers["x-frame-options"] == "DENY"
            missing = client.get(f"{server.url}/users/abc", timeout=10)
            assert missing.status_code == 404 and missing.json() == {"error": 404}
            wrong = client.delete(f"{server.url}/users/7", timeout=10)
            assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
            logins = [client.post(f"{server.url}/login", timeout=10) for _ in range(3)]
            statuses = [r.status_code for r in logins]
            assert statuses == [200, 200, 429], statuses
            retry_after = logins[2].headers["retry-after"]
    finally:
        server.stop()
        thread.join(10)
        server.close()
        access.removeHandler(lines)
    logged = [f["status"] for f in lines.fields]
    assert logged == [200, 404, 405, 200, 200, 429], logged
    print(f"middleware app ok: user 7, 404 and 405 as JSON, logins {statuses} "
          f"(Retry-After {retry_after}), {len(logged)} access-log lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
