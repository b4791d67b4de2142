"""Cache-Control (RFC 9111 §5.2, plus RFC 5861 and RFC 8246 extensions).

One typed object serves requests and responses; a directive that does not
apply to a message's direction is simply ignored by whoever reads it.

Recipient rules applied when parsing: names are case-insensitive; arguments
may be tokens or quoted-strings; delta-seconds larger than 2**31 become 2**31
(RFC 9111 §1.2.2); when a valued directive repeats, the first occurrence is
used (RFC 9111 §4.2.1). Unknown directives are kept in ``extensions``.
Malformed input (``max-age=abc``, ``max-age`` without a value, a value on a
directive that takes none) raises :class:`InvalidHeader`: RFC 9111 suggests
treating such a response as stale, which the caller can do by catching it.
"""

from __future__ import annotations

import dataclasses
import re

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidHeader
from sockit.proto.http.syntax import (
    QUOTED_STRING,
    TCHAR,
    is_token,
    quote_string,
    split_list,
    to_text,
    unquote_string,
)

__all__ = ["DELTA_SECONDS_MAX", "CacheControl"]

#: The value delta-seconds saturate at (RFC 9111 §1.2.2).
DELTA_SECONDS_MAX = 2**31

_DIRECTIVE_RE = re.compile(rf"([{TCHAR}]+)(?:=(?:([{TCHAR}]+)|({QUOTED_STRING})))?")
_DIGITS_RE = re.compile(r"[0-9]+")

_SECONDS = {
    "max-age": "max_age",
    "s-maxage": "s_maxage",
    "min-fresh": "min_fresh",
    "stale-while-revalidate": "stale_while_revalidate",
    "stale-if-error": "stale_if_error",
}
_FLAGS = {
    "no-store": "no_store",
    "no-transform": "no_transform",
    "only-if-cached": "only_if_cached",
    "must-revalidate": "must_revalidate",
    "proxy-revalidate": "proxy_revalidate",
    "must-understand": "must_understand",
    "public": "public",
    "immutable": "immutable",
}


def _delta_seconds(name: str, value: str | None) -> int:
    if value is None or _DIGITS_RE.fullmatch(value) is None:
        raise InvalidHeader(f"Cache-Control {name} needs delta-seconds, got {value!r}")
    if len(value) > 10:
        return DELTA_SECONDS_MAX
    return min(int(value), DELTA_SECONDS_MAX)


def _field_names(name: str, value: str) -> tuple[str, ...]:
    names = [part.strip(" \t").lower() for part in value.split(",")]
    names = [n for n in names if n]
    if not names or not all(is_token(n) for n in names):
        raise InvalidHeader(f"Cache-Control {name} needs field names, got {value!r}")
    return tuple(names)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CacheControl:
    """The directives of a Cache-Control field; absent ones are ``None``/``False``.

    ``no_cache`` is the unqualified directive; ``no_cache_fields`` the field
    names of ``no-cache="..."`` (likewise ``private``). ``max_stale_any`` is
    ``max-stale`` without a value (any staleness is acceptable).
    """

    max_age: int | None = None
    s_maxage: int | None = None
    max_stale: int | None = None
    max_stale_any: bool = False
    min_fresh: int | None = None
    stale_while_revalidate: int | None = None
    stale_if_error: int | None = None
    no_cache: bool = False
    no_cache_fields: tuple[str, ...] = ()
    no_store: bool = False
    no_transform: bool = False
    only_if_cached: bool = False
    must_revalidate: bool = False
    proxy_revalidate: bool = False
    must_understand: bool = False
    public: bool = False
    private: bool = False
    private_fields: tuple[str, ...] = ()
    immutable: bool = False
    extensions: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self) -> None:
        for attr in (*_SECONDS.values(), "max_stale"):
            value = getattr(self, attr)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise LocalProtocolError(f"CacheControl.{attr} must be an int >= 0")
        for name in (*self.no_cache_fields, *self.private_fields):
            if not is_token(name):
                raise LocalProtocolError(f"invalid field name {name!r} in CacheControl")
        for name, value in self.extensions:
            if not is_token(name):
                raise LocalProtocolError(f"invalid Cache-Control extension {name!r}")
            if value is not None:
                quote_string(value)

    @classmethod
    def parse(cls, value: str | bytes) -> CacheControl:
        """Parse a (combined) Cache-Control value; :class:`InvalidHeader` if bad."""
        fields: dict[str, object] = {}
        no_cache_fields: list[str] = []
        private_fields: list[str] = []
        extensions: list[tuple[str, str | None]] = []
        for element in split_list(to_text(value)):
            match = _DIRECTIVE_RE.fullmatch(element)
            if match is None:
                raise InvalidHeader(f"malformed Cache-Control directive {element[:100]!r}")
            name = match.group(1).lower()
            arg = match.group(2)
            if match.group(3) is not None:
                arg = unquote_string(match.group(3))
            if name in _SECONDS:
                seconds = _delta_seconds(name, arg)
                fields.setdefault(_SECONDS[name], seconds)
            elif name == "max-stale":
                if arg is None:
                    fields["max_stale_any"] = True
                else:
                    fields.setdefault("max_stale", _delta_seconds(name, arg))
            elif name in ("no-cache", "private"):
                if arg is None:
                    fields[name.replace("-", "_")] = True
                else:
                    target = no_cache_fields if name == "no-cache" else private_fields
                    target.extend(f for f in _field_names(name, arg) if f not in target)
            elif name in _FLAGS:
                if arg is not None:
                    raise InvalidHeader(f"Cache-Control {name} takes no argument")
                fields[_FLAGS[name]] = True
            else:
                extensions.append((name, arg))
        return cls(
            no_cache_fields=tuple(no_cache_fields),
            private_fields=tuple(private_fields),
            extensions=tuple(extensions),
            **fields,  # type: ignore[arg-type]
        )

    def __str__(self) -> str:
        parts: list[str] = []
        for directive, attr in _SECONDS.items():
            value = getattr(self, attr)
            if value is not None:
                parts.append(f"{directive}={value}")
        if self.max_stale is not None:
            parts.append(f"max-stale={self.max_stale}")
        elif self.max_stale_any:
            parts.append("max-stale")
        if self.no_cache:
            parts.append("no-cache")
        if self.no_cache_fields:
            parts.append(f'no-cache="{", ".join(self.no_cache_fields)}"')
        if self.private:
            parts.append("private")
        if self.private_fields:
            parts.append(f'private="{", ".join(self.private_fields)}"')
        parts.extend(directive for directive, attr in _FLAGS.items() if getattr(self, attr))
        for name, arg in self.extensions:
            parts.append(name if arg is None else f"{name}={quote_string(arg)}")
        return ", ".join(parts)
