"""Request methods and their properties (RFC 9110 §9, RFC 5789 for PATCH).

Method names are case-sensitive tokens: ``get`` is a valid but unknown
method, not ``GET``. The property helpers answer ``False`` for unknown
methods, which is the safe default for retries and caches. Every helper
takes ``str`` or the ``bytes`` an HTTP/1.1 parser produces.
"""

from __future__ import annotations

import enum

from sockit.proto.http.syntax import is_token

__all__ = [
    "CACHEABLE_METHODS",
    "IDEMPOTENT_METHODS",
    "KNOWN_METHODS",
    "SAFE_METHODS",
    "Method",
    "is_cacheable",
    "is_idempotent",
    "is_known_method",
    "is_safe",
    "is_valid_method",
]


class Method(str, enum.Enum):
    """The methods defined by RFC 9110 plus PATCH; members compare equal to str."""

    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    CONNECT = "CONNECT"
    OPTIONS = "OPTIONS"
    TRACE = "TRACE"
    PATCH = "PATCH"

    def __str__(self) -> str:
        return self.value


#: Every method of :class:`Method`.
KNOWN_METHODS = frozenset(m.value for m in Method)
#: Read-only by definition (RFC 9110 §9.2.1).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Repeating them has the effect of doing them once (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}
#: Responses may be stored (RFC 9110 §9.2.3). POST only with explicit
#: freshness and Content-Location; most caches store GET and HEAD only.
CACHEABLE_METHODS = frozenset({"GET", "HEAD", "POST"})


def _text(method: str | bytes) -> str:
    return method if isinstance(method, str) else method.decode("latin-1")


def is_valid_method(method: str | bytes) -> bool:
    """Whether ``method`` is syntactically a method (a token)."""
    return is_token(_text(method))


def is_known_method(method: str | bytes) -> bool:
    """Whether ``method`` is one of :data:`KNOWN_METHODS` (case-sensitive)."""
    return _text(method) in KNOWN_METHODS


def is_safe(method: str | bytes) -> bool:
    """Whether ``method`` is safe (GET, HEAD, OPTIONS, TRACE)."""
    return _text(method) in SAFE_METHODS


def is_idempotent(method: str | bytes) -> bool:
    """Whether ``method`` is idempotent, so a client may retry it automatically."""
    return _text(method) in IDEMPOTENT_METHODS


def is_cacheable(method: str | bytes) -> bool:
    """Whether RFC 9110 defines ``method`` as cacheable (GET, HEAD, POST)."""
    return _text(method) in CACHEABLE_METHODS
