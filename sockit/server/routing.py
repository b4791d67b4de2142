"""Method + path routing with typed path parameters, 404 vs 405, HEAD and OPTIONS.

::

    router = Router()

    @router.get("/users/{id:int}")
    def user(request: ServerRequest, params: Params) -> Response:
        return text_response(f"user {params['id'] + 1}")

    router.add(("GET", "POST"), "/files/{path:path}", files)
    serve(router)

Decisions that matter to callers:

* **Matching is per raw segment.** The request's ``raw_path`` is split on
  ``/`` *before* percent-decoding, so ``/users/a%2Fb`` is one segment whose
  ``str`` value is ``"a/b"`` — it can never reach a route with more
  segments. Values are decoded as UTF-8; a segment that is not valid UTF-8
  matches only literal routes spelled the same (in practice: none).
* **Converters**: ``str`` (the default; one non-empty segment, no NUL),
  ``int`` (ASCII digits only, at most 18 of them, so never a huge-number
  parse), ``path`` (the rest of the path, at least one character; only as
  the last segment; ``.``/``..`` segments and NUL are refused, so a ``path``
  value is safe to join under a directory only together with your own
  checks — :class:`~sockit.server.StaticFiles` does those).
* **Precedence** does not depend on registration order across shapes: at
  the first segment where two patterns differ, a literal beats ``int``,
  which beats ``str``, which beats ``path``. Same shapes keep their order.
* **404 vs 405**: a path no pattern matches is ``404``; a path some pattern
  matches but not for this method is ``405`` with ``Allow``. ``HEAD`` falls
  back to the ``GET`` route (the server sends no body); ``OPTIONS`` without
  its own route answers ``204`` with ``Allow``. Errors are rendered by the
  router's :class:`~sockit.server.errors.ErrorHandlers`.
* :class:`~sockit.server.errors.HTTPError` raised by a route is rendered
  the same way; other exceptions go up (to a Pipeline or ``handle``: 500).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

from sockit.server.errors import ErrorHandlers, HTTPError
from sockit.server.request import Response, ServerRequest

__all__ = ["Match", "Params", "RouteHandler", "Router"]

#: Decoded path parameters: ``int`` for ``{x:int}``, ``str`` otherwise.
Params: TypeAlias = Mapping[str, "int | str"]
#: A route's handler: the request and its path parameters.
RouteHandler: TypeAlias = Callable[[ServerRequest, Params], "Response | None"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_MAX_INT_DIGITS: Final = 18
_HEX = frozenset(b"0123456789abcdefABCDEF")

# segment kinds, in precedence order (lower wins)
_LITERAL, _INT, _STR, _PATH = 0, 1, 2, 3
_CONVERTERS: Final = {"int": _INT, "str": _STR, "path": _PATH}


@dataclass(frozen=True, slots=True)
class _Segment:
    kind: int
    text: str  # the literal, or the parameter name
    raw: bytes = b""  # the literal as UTF-8, compared with unescaped segments directly


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: str
    segments: tuple[_Segment, ...]
    methods: frozenset[str]
    handler: RouteHandler
    order: int

    @property
    def sort_key(self) -> tuple[tuple[int, ...], int]:
        return tuple(s.kind for s in self.segments), self.order


@dataclass(frozen=True, slots=True)
class Match:
    """What :meth:`Router.match` found: a handler with its parameters, or why not.

    ``handler is None`` with ``status`` 404 (no such path) or 405 (path
    known, method not; ``allow`` lists what is), or 204 for an automatic
    ``OPTIONS`` answer.
    """

    handler: RouteHandler | None
    params: Params
    status: int
    allow: tuple[str, ...] = ()
    pattern: str | None = None


def _parse_pattern(pattern: str) -> tuple[_Segment, ...]:
    if not pattern.startswith("/"):
        raise ValueError(f"a route pattern starts with '/': {pattern!r}")
    parts = pattern[1:].split("/")
    segments: list[_Segment] = []
    names: set[str] = set()
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name, _, conv = part[1:-1].partition(":")
            kind = _CONVERTERS.get(conv or "str")
            if kind is None:
                raise ValueError(f"unknown converter {conv!r} in {pattern!r} (int, str, path)")
            if not _NAME.match(name) or name in names:
                raise ValueError(f"bad or repeated parameter name {name!r} in {pattern!r}")
            if kind == _PATH and i != len(parts) - 1:
                raise ValueError(f"a path parameter must be last in {pattern!r}")
            names.add(name)
            segments.append(_Segment(kind, name))
        elif "{" in part or "}" in part:
            raise ValueError(f"a parameter takes a whole segment in {pattern!r}")
        else:
            segments.append(_Segment(_LITERAL, part, part.encode("utf-8")))
    return tuple(segments)


def _unquote(raw: bytes) -> bytes:
    """Decode ``%XX``; a ``%`` without two hex digits stays as it is."""
    if b"%" not in raw:
        return raw
    parts = raw.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) >= 2 and part[0] in _HEX and part[1] in _HEX:
            out.append(int(part[:2], 16))
            out += part[2:]
        else:
            out += b"%"
            out += part
    return bytes(out)


def _text(raw: bytes) -> str | None:
    try:
        return _unquote(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _match_route(route: _Route, raw: list[bytes]) -> dict[str, int | str] | None:
    segments = route.segments
    last = len(segments) - 1
    if len(raw) < len(segments) or (len(raw) > len(segments) and segments[last].kind != _PATH):
        return None
    params: dict[str, int | str] = {}
    for i, seg in enumerate(segments):
        kind = seg.kind
        if kind == _PATH:
            rest = raw[i:]
            if any(_unquote(p) in (b".", b"..") for p in rest):
                return None
            value = _text(b"/".join(rest))
            if not value or "\x00" in value:
                return None
            params[seg.text] = value
            return params
        part = raw[i]
        if kind == _LITERAL:
            if part != seg.raw and (b"%" not in part or _text(part) != seg.text):
                return None
        elif kind == _INT:
            if not part or len(part) > _MAX_INT_DIGITS or not part.isdigit():
                return None
            params[seg.text] = int(part)
        else:
            text = _text(part)
            if not text or "\x00" in text:
                return None
            params[seg.text] = text
    return params


def _shape(route: _Route) -> tuple[tuple[int, str], ...]:
    """The pattern with parameter names erased: two routes of one shape match the same paths."""
    return tuple((s.kind, s.text if s.kind == _LITERAL else "") for s in route.segments)


def _methods(methods: str | Iterable[str]) -> frozenset[str]:
    names = [methods] if isinstance(methods, str) else list(methods)
    if not names:
        raise ValueError("a route needs at least one method")
    for name in names:
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"not a method name: {name!r}")
    return frozenset(names)


class Router:
    """An app that dispatches by method and path pattern (see the module docstring)."""

    def __init__(self, *, errors: ErrorHandlers | None = None) -> None:
        #: Renders 404/405 and any :class:`HTTPError` a route raises.
        self.errors = errors if errors is not None else ErrorHandlers()
        self._routes: list[_Route] = []
        self._static: dict[str, list[_Route]] = {}  # literal-only patterns, by path

    def add(self, methods: str | Iterable[str], pattern: str, handler: RouteHandler) -> None:
        """Route ``methods`` (``"GET"`` or several) on ``pattern`` to ``handler``."""
        route = _Route(pattern, _parse_pattern(pattern), _methods(methods), handler,
                       len(self._routes))
        for other in self._routes:
            if _shape(other) == _shape(route) and other.methods & route.methods:
                raise ValueError(
                    f"{sorted(other.methods & route.methods)} {pattern!r} is already routed"
                )
        self._routes.append(route)
        self._routes.sort(key=lambda r: r.sort_key)
        if all(s.kind == _LITERAL for s in route.segments):
            self._static.setdefault(pattern, []).append(route)

    def route(
        self, pattern: str, methods: str | Iterable[str] = "GET"
    ) -> Callable[[RouteHandler], RouteHandler]:
        """Decorator form of :meth:`add`."""

        def register(handler: RouteHandler) -> RouteHandler:
            self.add(methods, pattern, handler)
            return handler

        return register

    def get(self, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        """``@router.get("/x")``: :meth:`route` for ``GET`` (and so ``HEAD``)."""
        return self.route(pattern, "GET")

    def post(self, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        """``@router.post("/x")``."""
        return self.route(pattern, "POST")

    def put(self, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        """``@router.put("/x")``."""
        return self.route(pattern, "PUT")

    def patch(self, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        """``@router.patch("/x")``."""
        return self.route(pattern, "PATCH")

    def delete(self, pattern: str) -> Callable[[RouteHandler], RouteHandler]:
        """``@router.delete("/x")``."""
        return self.route(pattern, "DELETE")

    def match(self, method: str, raw_path: bytes) -> Match:
        """Find the route for ``method`` on ``raw_path`` (escapes intact), without calling it."""
        wanted = (method, "GET") if method == "HEAD" else (method,)
        if raw_path[:1] != b"/":
            return Match(None, {}, 404)
        static = self._static.get(raw_path.decode("latin-1")) if b"%" not in raw_path else None
        if static is not None:  # the fast path: a literal route for this method
            for want in wanted:
                for route in static:
                    if want in route.methods:
                        return Match(route.handler, {}, 200, pattern=route.pattern)
        candidates: list[tuple[_Route, dict[str, int | str]]] = []
        raw = raw_path[1:].split(b"/")
        for route in self._routes:
            params = _match_route(route, raw)
            if params is not None:
                candidates.append((route, params))
        if not candidates:
            return Match(None, {}, 404)
        for want in wanted:
            for route, params in candidates:
                if want in route.methods:
                    return Match(route.handler, params, 200, pattern=route.pattern)
        allowed = set().union(*(route.methods for route, _ in candidates))
        if "GET" in allowed:
            allowed.add("HEAD")
        allowed.add("OPTIONS")
        allow = tuple(sorted(allowed))
        if method == "OPTIONS":
            return Match(None, {}, 204, allow)
        return Match(None, {}, 405, allow)

    def __call__(self, request: ServerRequest) -> Response | None:
        """Dispatch ``request``; 404/405/OPTIONS and raised ``HTTPError`` become answers."""
        found = self.match(request.method, request.raw_path)
        handler = found.handler
        try:
            if handler is not None:
                return handler(request, found.params)
            allow = [("Allow", ", ".join(found.allow))] if found.allow else []
            if found.status == 204:
                return Response(204, allow)
            raise HTTPError(found.status, headers=allow)
        except HTTPError as exc:
            return self.errors.render(request, exc)
