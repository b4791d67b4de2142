"""Media types (RFC 9110 §8.3.1) as used by Content-Type and Accept.

Type, subtype and parameter names are case-insensitive and stored lowercased;
parameter values are stored unquoted and compared exactly, except ``charset``
whose value is case-insensitive too. A parameter name given twice is refused:
``text/html; charset=utf-8; charset=latin1`` has no safe reading.
"""

from __future__ import annotations

import dataclasses
import re

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidHeader
from sockit.proto.http.syntax import TCHAR, is_token, parse_parameters, quote_string, to_text

__all__ = ["MediaType"]

_TYPE_RE = re.compile(rf"[ \t]*([{TCHAR}]+)/([{TCHAR}]+)")
_CASELESS_VALUES = frozenset({"charset"})


def _same_value(name: str, a: str, b: str) -> bool:
    return a.lower() == b.lower() if name in _CASELESS_VALUES else a == b


@dataclasses.dataclass(frozen=True, slots=True)
class MediaType:
    """``type/subtype`` plus ordered parameters; ``*`` wildcards allowed as a range."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not (is_token(self.type) and is_token(self.subtype)):
            raise LocalProtocolError(f"invalid media type {self.type!r}/{self.subtype!r}")
        if self.type == "*" and self.subtype != "*":
            raise LocalProtocolError(f"invalid media range */{self.subtype}")
        object.__setattr__(self, "type", self.type.lower())
        object.__setattr__(self, "subtype", self.subtype.lower())
        params = []
        seen = set()
        for name, value in self.params:
            if not is_token(name):
                raise LocalProtocolError(f"invalid parameter name {name!r}")
            lower = name.lower()
            if lower in seen:
                raise LocalProtocolError(f"duplicate parameter {name!r}")
            seen.add(lower)
            quote_string(value)  # raises if unsendable
            params.append((lower, value))
        object.__setattr__(self, "params", tuple(params))

    @classmethod
    def parse(cls, value: str | bytes) -> MediaType:
        """Parse ``type/subtype *(OWS ";" OWS parameter)``; :class:`InvalidHeader` if bad."""
        text = to_text(value)
        match = _TYPE_RE.match(text)
        if match is None:
            raise InvalidHeader(f"invalid media type {text[:100]!r}")
        type_, subtype = match.group(1).lower(), match.group(2).lower()
        if type_ == "*" and subtype != "*":
            raise InvalidHeader(f"invalid media range {text[:100]!r}")
        params = parse_parameters(text, match.end())
        names = {name for name, _ in params}
        if len(names) != len(params):
            raise InvalidHeader(f"duplicate media type parameter in {text[:100]!r}")
        return cls(type_, subtype, tuple(params))

    @property
    def essence(self) -> str:
        """``type/subtype`` without parameters."""
        return f"{self.type}/{self.subtype}"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lowercased, or ``None``."""
        value = self.param("charset")
        return None if value is None else value.lower()

    @property
    def is_wildcard(self) -> bool:
        """Whether this is a range (``*/*`` or ``type/*``) rather than a type."""
        return self.subtype == "*"

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or ``None``."""
        lower = name.lower()
        for key, value in self.params:
            if key == lower:
                return value
        return None

    def matches(self, other: MediaType | str) -> bool:
        """Whether ``other`` falls within this media type used as a range.

        Wildcards in ``self`` match anything in their position; every
        parameter of ``self`` must appear in ``other`` with the same value.
        """
        if isinstance(other, str):
            other = MediaType.parse(other)
        if self.type not in ("*", other.type):
            return False
        if self.subtype not in ("*", other.subtype):
            return False
        for name, value in self.params:
            theirs = other.param(name)
            if theirs is None or not _same_value(name, value, theirs):
                return False
        return True

    def __str__(self) -> str:
        params = "".join(f"; {name}={quote_string(value)}" for name, value in self.params)
        return f"{self.type}/{self.subtype}{params}"
