"""An ordered middleware chain over an app, and the built-in middleware.

A middleware is ``mw(request, call_next) -> Response | None``: it may answer
and stop (return without calling ``call_next``), or pass on and
post-process what comes back. :class:`Pipeline` runs them in list order
(the first is outermost) and is itself an app::

    errors = ErrorHandlers({404: not_found_page})
    router = Router(errors=errors)
    app = Pipeline(router, [RequestID(), AccessLog(), RateLimit(5, 10, paths=["/login"])],
                   errors=errors)
    serve(app)

Decisions that matter to callers:

* **Every layer sees a Response.** ``call_next`` never raises: an
  :class:`~sockit.server.errors.HTTPError` or any other exception from the
  layers below is turned into the error answer right there (500, logged,
  for unexpected exceptions), so an access log outside still logs it and a
  request id outside still stamps it.
* ``None`` from below means the app answered with ``request.respond``
  itself (or accepted a WebSocket): there is nothing to post-process.
* Built-ins never wrap a file body (``sendfile`` keeps working) and wrap an
  iterable body in an object that forwards ``attach_waker`` (see
  :mod:`sockit.server.sse`).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeAlias

from sockit.limits import RateLimitDefaults
from sockit.net.ratelimit import TokenBucket
from sockit.observe import current_trace, get_logger, log_event, new_request_id, trace_context
from sockit.proto.http import Headers
from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.request import Response, ServerRequest, body_kind

__all__ = [
    "CORS",
    "AccessLog",
    "CallNext",
    "Middleware",
    "Pipeline",
    "RateLimit",
    "RequestID",
    "SecurityHeaders",
    "client_ip",
    "with_headers",
]

log = get_logger("server")
access_log = get_logger("server.access")

#: What a middleware calls to run the rest of the chain; it never raises.
CallNext: TypeAlias = Callable[[ServerRequest], "Response | None"]
#: A middleware: answer and stop, or call ``call_next`` and post-process.
Middleware: TypeAlias = Callable[[ServerRequest, CallNext], "Response | None"]


def with_headers(response: Response, fields: Iterable[tuple[str, str]], *,
                 replace: bool = False) -> Response:
    """``response`` with ``fields`` added; existing names are kept unless ``replace``."""
    headers = Headers(response.headers) if response.headers is not None else Headers()
    for name, value in fields:
        if replace:
            headers.set(name, value)
        elif name not in headers:
            headers.add(name, value)
    return Response(response.status, headers, response.body, reason=response.reason)


def client_ip(request: ServerRequest) -> str:
    """The peer's address without the port (``"unix"`` for Unix-socket clients)."""
    client = request.client
    if isinstance(client, tuple) and client:
        return str(client[0])
    return "unix"


class Pipeline:
    """``app`` behind ``middleware`` (first = outermost); errors rendered by ``errors``."""

    def __init__(
        self,
        app: Callable[[ServerRequest], Response | None],
        middleware: Sequence[Middleware] = (),
        *,
        errors: ErrorHandlers | None = None,
    ) -> None:
        self.app = app
        self.middleware = tuple(middleware)
        self.errors = errors if errors is not None else ErrorHandlers()
        call: CallNext = self._guard(app)
        for mw in reversed(self.middleware):
            call = self._guard(self._bind(mw, call))
        self._call = call

    @staticmethod
    def _bind(mw: Middleware, call_next: CallNext) -> CallNext:
        return lambda request: mw(request, call_next)

    def _guard(self, layer: CallNext) -> CallNext:
        errors = self.errors

        def guarded(request: ServerRequest) -> Response | None:
            try:
                return layer(request)
            except HTTPError as exc:
                return errors.render(request, exc)
            except Exception:
                log.exception("handler failed for %s %s", request.method, request.target)
                if request.responded:
                    return None
                return errors.render(request, HTTPError(500))

        return guarded

    def __call__(self, request: ServerRequest) -> Response | None:
        """Run the chain for ``request``."""
        return self._call(request)


# -- request id ------------------------------------------------------------------------

_ID_CHARS = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}\Z")


class RequestID:
    """Give every request an id: the client's ``X-Request-ID`` if sane, else a new one.

    The id is set into :func:`sockit.observe.trace_context` while the rest of
    the chain runs (so every log line carries it, with
    :class:`~sockit.observe.TraceFilter`) and echoed on the response. An
    incoming id is used only if ``trust_incoming`` and it is 1-128 characters
    of ``[A-Za-z0-9._:@/+=-]`` — never raw bytes into log lines.
    """

    def __init__(self, header: str = "X-Request-ID", *, trust_incoming: bool = True,
                 make_id: Callable[[], str] = new_request_id) -> None:
        self.header = header
        self.trust_incoming = trust_incoming
        self.make_id = make_id

    def request_id(self, request: ServerRequest) -> str:
        """The id to use for ``request``."""
        if self.trust_incoming:
            incoming = request.headers.get(self.header)
            if incoming is not None and _ID_CHARS.match(incoming):
                return incoming
        return self.make_id()

    def __call__(self, request: ServerRequest, call_next: CallNext) -> Response | None:
        """Run the chain with the id in the trace context; echo it on the answer."""
        rid = self.request_id(request)
        with trace_context(request_id=rid):
            response = call_next(request)
        if response is None:
            return None
        return with_headers(response, [(self.header, rid)], replace=True)


# -- access log ------------------------------------------------------------------------


class _CountingBody:
    """An iterable body that counts what is pulled and reports once when done."""

    __slots__ = ("_body", "_done", "_it", "_report", "sent")

    def __init__(self, body: object, it: Iterator[bytes], report: Callable[[int], None]) -> None:
        self._body = body
        self._it = it
        self._report = report
        self._done = False
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._it)
        except BaseException:
            self._finish()
            raise
        self.sent += len(chunk)
        return chunk

    def attach_waker(self, wake: Callable[[], None]) -> None:
        """Forward the server's waker to the body that understands it."""
        attach = getattr(self._body, "attach_waker", None)
        if attach is not None:
            attach(wake)

    def close(self) -> None:
        """The server let go of the body (done, or the client left)."""
        for obj in (self._it, self._body):
            close = getattr(obj, "close", None)
            if close is not None:
                close()
        self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._report(self.sent)


class AccessLog:
    """One structured line per request on ``sockit.server.access`` via ``log_event``.

    Fields: ``method``, ``path``, ``status``, ``bytes`` (body bytes handed to
    the server), ``duration`` (seconds, until the last byte of a streamed
    body was pulled), ``client``, ``request_id`` (from the trace context, so
    place :class:`RequestID` outside this). ``status`` is ``None`` when the
    app answered by itself. Streamed bodies are logged when they end or the
    client goes away.
    """

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger if logger is not None else access_log
        self.level = level
        self.clock = clock

    def __call__(self, request: ServerRequest, call_next: CallNext) -> Response | None:
        """Time the chain, then log (now, or when a streamed body ends)."""
        if not self.logger.isEnabledFor(self.level):
            return call_next(request)
        start = self.clock()
        response = call_next(request)
        rid = current_trace().request_id
        method, path, client = request.method, request.path, client_ip(request)
        status = None if response is None else response.status

        def report(sent: int) -> None:
            with trace_context(request_id=rid):
                log_event(self.logger, self.level, "request", method=method, path=path,
                          status=status, bytes=sent, duration=round(self.clock() - start, 6),
                          client=client, request_id=rid)

        if response is None:
            report(0)
            return None
        kind, value = body_kind(response.body)
        if kind == "bytes":
            report(len(value))
            return response
        if kind == "file":
            report(value[2])
            return response
        counted = _CountingBody(response.body, value, report)
        return Response(response.status, response.headers, counted, reason=response.reason)


# -- CORS and security headers -----------------------------------------------------------


class CORS:
    """Cross-origin resource sharing: answers preflights, stamps allowed origins.

    ``allow_origins`` is a list of exact origins (``"https://app.example"``)
    or ``"*"``. ``"*"`` with ``allow_credentials`` is refused (browsers do
    too). A request from an origin not allowed passes through untouched: the
    browser then blocks the page from reading it.
    """

    def __init__(
        self,
        allow_origins: Sequence[str] | str = "*",
        *,
        allow_methods: Sequence[str] = ("GET", "HEAD", "POST"),
        allow_headers: Sequence[str] = (),
        expose_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        max_age: int = 600,
    ) -> None:
        self.any_origin = allow_origins == "*" or "*" in allow_origins
        if self.any_origin and allow_credentials:
            raise ValueError("CORS: '*' origins cannot be combined with credentials")
        self.origins = frozenset([allow_origins] if isinstance(allow_origins, str)
                                 else allow_origins)
        self.methods = ", ".join(allow_methods)
        self.method_set = frozenset(allow_methods)
        self.headers = frozenset(h.lower() for h in allow_headers)
        self.expose = ", ".join(expose_headers)
        self.credentials = allow_credentials
        self.max_age = max_age

    def _allowed(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def _origin_fields(self, origin: str) -> list[tuple[str, str]]:
        if self.any_origin:
            return [("Access-Control-Allow-Origin", "*")]
        fields = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            fields.append(("Access-Control-Allow-Credentials", "true"))
        return fields

    def __call__(self, request: ServerRequest, call_next: CallNext) -> Response | None:
        """Answer a preflight here; otherwise pass on and stamp the answer."""
        origin = request.headers.get("origin")
        if origin is None or not self._allowed(origin):
            return call_next(request)
        wanted = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted is not None:
            asked = {h.strip().lower() for h in
                     (request.headers.get("access-control-request-headers") or "").split(",")
                     if h.strip()}
            if wanted not in self.method_set or not asked <= self.headers:
                return Response(403, [("Content-Type", "text/plain; charset=utf-8")],
                                b"403 Forbidden: CORS preflight refused\n")
            fields = [
                *self._origin_fields(origin),
                ("Access-Control-Allow-Methods", self.methods),
                ("Access-Control-Max-Age", str(self.max_age)),
            ]
            if asked:
                fields.append(("Access-Control-Allow-Headers", ", ".join(sorted(asked))))
            return Response(204, fields)
        response = call_next(request)
        if response is None:
            return None
        fields = self._origin_fields(origin)
        if self.expose:
            fields.append(("Access-Control-Expose-Headers", self.expose))
        return with_headers(response, fields)


class SecurityHeaders:
    """Conservative security headers, added unless the response set them itself.

    ``hsts`` (seconds, ``0`` = off) belongs only to sites served over HTTPS.
    ``csp`` is sent only when given: a policy has to be written for the site.
    """

    def __init__(self, *, hsts: int = 0, frame_options: str | None = "DENY",
                 content_type_options: bool = True, referrer_policy: str | None = "no-referrer",
                 csp: str | None = None) -> None:
        fields: list[tuple[str, str]] = []
        if hsts > 0:
            fields.append(("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"))
        if frame_options:
            fields.append(("X-Frame-Options", frame_options))
        if content_type_options:
            fields.append(("X-Content-Type-Options", "nosniff"))
        if referrer_policy:
            fields.append(("Referrer-Policy", referrer_policy))
        if csp:
            fields.append(("Content-Security-Policy", csp))
        Headers(fields)  # refuse bad values now, not on every response
        self.fields = tuple(fields)

    def __call__(self, request: ServerRequest, call_next: CallNext) -> Response | None:
        """Pass on; add the headers to the answer."""
        response = call_next(request)
        return None if response is None else with_headers(response, self.fields)


# -- rate limiting -------------------------------------------------------------------------


class RateLimit:
    """A token bucket per client on some endpoints: over it, ``429`` with ``Retry-After``.

    ``paths`` are path prefixes (``"/login"`` covers ``/login`` and
    ``/login/x``, not ``/loginx``); ``None`` covers every path. ``methods``
    narrows it further. One instance is one endpoint's budget; use several
    for several endpoints. The table of buckets holds at most
    ``max_clients`` (least recently seen evicted first: a client that comes
    back after eviction starts with a full bucket). ``key`` picks the
    client (default: the peer IP — behind a proxy, give one that reads a
    header you trust).
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        paths: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        max_clients: int = RateLimitDefaults().max_tracked_clients,
        key: Callable[[ServerRequest], str] = client_ip,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        TokenBucket(rate, burst, clock)  # validate now
        if type(max_clients) is not int or max_clients < 1:
            raise ValueError(f"max_clients must be a positive int, not {max_clients!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self.paths = None if paths is None else tuple(paths)
        self.methods = None if methods is None else frozenset(methods)
        self.max_clients = max_clients
        self.key = key
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_defaults(
        cls,
        defaults: RateLimitDefaults | None = None,
        *,
        paths: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> RateLimit:
        """Rate and burst from :class:`~sockit.limits.RateLimitDefaults` (100/s, burst 50)."""
        d = defaults if defaults is not None else RateLimitDefaults()
        return cls(d.connections_per_second, d.burst, paths=paths, methods=methods, clock=clock)

    def __len__(self) -> int:
        return len(self._buckets)

    def covers(self, request: ServerRequest) -> bool:
        """Whether this limit applies to ``request``."""
        if self.methods is not None and request.method not in self.methods:
            return False
        if self.paths is None:
            return True
        path = request.path
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    def _bucket(self, key: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                while len(self._buckets) >= self.max_clients:
                    self._buckets.popitem(last=False)
                bucket = TokenBucket(self.rate, self.burst, self.clock)
                self._buckets[key] = bucket
            else:
                self._buckets.move_to_end(key)
            return bucket

    def check(self, request: ServerRequest) -> float:
        """Take a token for ``request``: ``0.0`` if allowed, else seconds to wait."""
        bucket = self._bucket(self.key(request))
        if bucket.try_acquire():
            return 0.0
        return max(bucket.wait_time(), 1e-9)

    def __call__(self, request: ServerRequest, call_next: CallNext) -> Response | None:
        """Pass on within the budget; ``HTTPError(429)`` with ``Retry-After`` beyond it."""
        if self.covers(request):
            wait = self.check(request)
            if wait > 0:
                retry = str(max(1, math.ceil(wait)))
                raise HTTPError(429, "rate limit exceeded", headers=[("Retry-After", retry)])
        return call_next(request)

