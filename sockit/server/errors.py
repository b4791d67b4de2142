"""Custom error pages: one place decides what every error status looks like.

Routing, rate limiting and handlers signal an error by raising
:class:`HTTPError` (``raise HTTPError(404)``); whoever catches it — the
:class:`~sockit.server.routing.Router`, a
:class:`~sockit.server.middleware.Pipeline` — turns it into a
:class:`~sockit.server.request.Response` with :meth:`ErrorHandlers.render`.
An application registers a handler per status (``404``, ``405``, ``429``,
``500`` ...) or one ``default`` for the rest; without one, the answer is the
server's short ``text/plain`` line (``"404 Not Found\\n"``).

Headers an error needs to be correct — ``Allow`` on a 405, ``Retry-After`` on
a 429 — travel on the :class:`HTTPError` and are added to whatever a custom
handler returns unless it set them itself, so a custom page cannot make the
answer wrong. A handler that raises is logged and replaced by the plain page:
an error page must never turn a 404 into a 500.

The errors the connection produces before any request exists (400, 408, 413,
431, 503) cannot call application code with a request; :meth:`ErrorHandlers.page`
gives them a body from the same handlers (called with ``request=None``), for a
server hook that takes it (see ``docs/server.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias

from sockit.errors import SockitError
from sockit.observe import get_logger
from sockit.proto.http import Headers, reason_phrase
from sockit.server.request import Response, ServerRequest

__all__ = ["ErrorHandler", "ErrorHandlers", "HTTPError", "plain_error"]

log = get_logger("server")

_PLAIN = "text/plain; charset=utf-8"
#: Largest error page :meth:`ErrorHandlers.page` hands to the connection (bytes).
MAX_PAGE_SIZE = 64 * 1024


def _phrase(status: int) -> str:
    try:
        return reason_phrase(status)
    except SockitError:
        return "Error"


class HTTPError(SockitError):
    """Raise to answer with an error status; rendered by :class:`ErrorHandlers`.

    ``headers`` are fields the answer must carry to be correct (``Allow``,
    ``Retry-After``); ``detail`` is text for the page and the logs, never
    needed for correctness.
    """

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        if type(status) is not int or not 400 <= status <= 599:
            raise ValueError(f"HTTPError needs a 4xx or 5xx status, not {status!r}")
        self.status = status
        self.detail = detail
        self.headers: list[tuple[str, str]] = list(headers)
        super().__init__(f"{status} {_phrase(status)}" + (f": {detail}" if detail else ""))


#: Builds the answer for an error; ``request`` is ``None`` for connection-level errors.
ErrorHandler: TypeAlias = Callable[["ServerRequest | None", HTTPError], Response]


def plain_error(request: ServerRequest | None, error: HTTPError) -> Response:
    """The built-in page: ``"<status> <reason>\\n"`` as ``text/plain``, plus the error's headers."""
    body = f"{error.status} {_phrase(error.status)}\n".encode()
    return Response(error.status, [("Content-Type", _PLAIN), *error.headers], body)


def _with_required(response: Response, error: HTTPError) -> Response:
    """Add the error's required headers the handler did not set itself."""
    if not error.headers:
        return response
    headers = Headers(response.headers) if response.headers is not None else Headers()
    for name, value in error.headers:
        if name not in headers:
            headers.add(name, value)
    return Response(response.status, headers, response.body, reason=response.reason)


class ErrorHandlers:
    """Status → handler; share one instance between the Router and the Pipeline.

    ``ErrorHandlers({404: not_found}, default=json_error)``; handlers may also
    be added with :meth:`register` (usable as a decorator). Thread-safe to
    read while serving; register before serving.
    """

    def __init__(
        self,
        handlers: Mapping[int, ErrorHandler] | None = None,
        *,
        default: ErrorHandler | None = None,
    ) -> None:
        self._handlers: dict[int, ErrorHandler] = {}
        self._lock = threading.Lock()
        self.default: ErrorHandler = default if default is not None else plain_error
        for status, handler in (handlers or {}).items():
            self.register(status, handler)

    def register(
        self, status: int, handler: ErrorHandler | None = None
    ) -> Callable[[ErrorHandler], ErrorHandler]:
        """Use ``handler`` for ``status``; without ``handler``, a decorator that does."""
        if type(status) is not int or not 400 <= status <= 599:
            raise ValueError(f"error handlers are for 4xx and 5xx statuses, not {status!r}")

        def add(fn: ErrorHandler) -> ErrorHandler:
            with self._lock:
                self._handlers[status] = fn
            return fn

        if handler is not None:
            add(handler)
        return add

    def handler_for(self, status: int) -> ErrorHandler:
        """The handler that renders ``status`` (the default if none was registered)."""
        return self._handlers.get(status, self.default)

    def render(self, request: ServerRequest | None, error: HTTPError) -> Response:
        """The answer for ``error``: the status's handler, or the plain page if it fails."""
        handler = self.handler_for(error.status)
        try:
            response = handler(request, error)
            if not isinstance(response, Response):
                raise TypeError(f"error handler returned {type(response).__name__}")
        except Exception:
            log.exception("error handler for %d failed; sending the plain page", error.status)
            return plain_error(request, error)
        return _with_required(response, error)

    def response(
        self,
        request: ServerRequest | None,
        status: int,
        detail: str | None = None,
        *,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Response:
        """:meth:`render` of ``HTTPError(status, detail, headers=headers)``."""
        return self.render(request, HTTPError(status, detail, headers=headers))

    def page(self, status: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
        """``(header pairs, body)`` for a connection-level error (no request exists).

        Meant for the server's own refusals (400, 408, 413, 431, 503): the
        handler runs with ``request=None``; a body that is not ``bytes`` or is
        larger than :data:`MAX_PAGE_SIZE`, or a handler that fails, gives the
        plain page. ``Content-Length``, ``Connection`` and ``Date`` are left
        to the server.
        """
        error = HTTPError(status) if 400 <= status <= 599 else HTTPError(500)
        response = self.render(None, error)
        body = response.body
        if not isinstance(body, (bytes, bytearray)) or len(body) > MAX_PAGE_SIZE:
            log.error("error page for %d is not bytes under %d; plain page sent",
                      status, MAX_PAGE_SIZE)
            response = plain_error(None, error)
            body = response.body
            assert isinstance(body, bytes)
        skip = {b"content-length", b"connection", b"date", b"transfer-encoding"}
        pairs = [
            (name, value)
            for name, value in _raw_pairs(response)
            if name.lower() not in skip
        ]
        return pairs, bytes(body)


def _raw_pairs(response: Response) -> list[tuple[bytes, bytes]]:
    if response.headers is None:
        return []
    return Headers(response.headers).raw_items()
