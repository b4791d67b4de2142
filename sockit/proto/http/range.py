"""Range requests (RFC 9110 §14): the Range and Content-Range fields.

Only the ``bytes`` unit is understood; :func:`parse_range` returns ``None``
for any other unit, because a server MUST ignore a Range it does not
understand (RFC 9110 §14.2). Numbers of any length are accepted; those beyond
2**63 saturate there (they are past the end of any representation), so an
adversarial run of digits can neither raise nor cost quadratic time.

Abuse bounds (RFC 9110 §14.2 "ignore, coalesce or reject"): more than
``max_ranges`` ranges raise :class:`LimitExceeded` (``http_status`` 416), and
:meth:`RangeRequest.resolve` merges overlapping and adjacent ranges by
default so ``0-,0-,0-`` cannot multiply the response.
"""

from __future__ import annotations

import dataclasses
import re

from sockit.errors import LimitExceeded, LocalProtocolError
from sockit.proto.http.exceptions import InvalidHeader
from sockit.proto.http.syntax import is_token, to_text

__all__ = [
    "DEFAULT_MAX_RANGES",
    "ByteRange",
    "ContentRange",
    "RangeRequest",
    "format_content_range",
    "format_unsatisfied_range",
    "parse_content_range",
    "parse_range",
]

#: How many ranges one Range field may carry before it is refused.
DEFAULT_MAX_RANGES = 100
_SATURATED = 2**63
_SPEC_RE = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")
_CONTENT_RANGE_RE = re.compile(r"([0-9]+)-([0-9]+)/([0-9]+|\*)|\*/([0-9]+)")


def _number(digits: str) -> int:
    return _SATURATED if len(digits) > 18 else int(digits)


def _check_length(length: int) -> None:
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise LocalProtocolError(f"representation length must be an int >= 0, not {length!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class ByteRange:
    """One range-spec: ``first-last``, ``first-`` (``last`` None) or ``-suffix_length``."""

    first: int | None = None
    last: int | None = None
    suffix_length: int | None = None

    def __post_init__(self) -> None:
        values = (self.first, self.last, self.suffix_length)
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0)
               for v in values):  # fmt: skip
            raise LocalProtocolError(f"invalid byte range {values!r}")
        if (self.first is None) == (self.suffix_length is None) or (
            self.suffix_length is not None and self.last is not None
        ):
            raise LocalProtocolError(f"a byte range is first[-last] or -suffix, not {values!r}")
        if self.first is not None and self.last is not None and self.last < self.first:
            raise LocalProtocolError(f"byte range ends before it starts: {values!r}")

    def __str__(self) -> str:
        if self.suffix_length is not None:
            return f"-{self.suffix_length}"
        return f"{self.first}-" if self.last is None else f"{self.first}-{self.last}"


@dataclasses.dataclass(frozen=True, slots=True)
class RangeRequest:
    """The byte ranges of a Range field, in request order."""

    ranges: tuple[ByteRange, ...]

    def resolve(self, length: int, *, coalesce: bool = True) -> list[tuple[int, int]] | None:
        """Inclusive ``(start, end)`` offsets into a representation of ``length`` bytes.

        ``None`` means unsatisfiable: answer 416 with
        :func:`format_unsatisfied_range`. An empty list means satisfiable but
        empty (a suffix range on a zero-length representation, RFC 9110
        §14.1.1): send the whole representation with 200. With ``coalesce``
        the ranges are sorted and overlapping or adjacent ones merged.
        """
        _check_length(length)
        out: list[tuple[int, int]] = []
        empty_but_satisfiable = False
        for spec in self.ranges:
            if spec.suffix_length is not None:
                if spec.suffix_length == 0:
                    continue
                if length == 0:
                    empty_but_satisfiable = True
                    continue
                out.append((max(0, length - spec.suffix_length), length - 1))
                continue
            assert spec.first is not None
            if spec.first >= length:
                continue
            end = length - 1 if spec.last is None else min(spec.last, length - 1)
            out.append((spec.first, end))
        if not out:
            return [] if empty_but_satisfiable else None
        if coalesce and len(out) > 1:
            out.sort()
            merged = [out[0]]
            for start, end in out[1:]:
                prev_start, prev_end = merged[-1]
                if start <= prev_end + 1:
                    merged[-1] = (prev_start, max(prev_end, end))
                else:
                    merged.append((start, end))
            out = merged
        return out

    def __str__(self) -> str:
        return "bytes=" + ", ".join(str(r) for r in self.ranges)


def parse_range(value: str | bytes, *, max_ranges: int = DEFAULT_MAX_RANGES) -> RangeRequest | None:
    """Parse a Range field; ``None`` if its unit is not ``bytes``.

    Raises :class:`InvalidHeader` for bad syntax (including ``last < first``,
    which makes the whole field invalid; a server may then ignore it) and
    :class:`LimitExceeded` for more than ``max_ranges`` ranges.
    """
    text = to_text(value)
    unit, sep, range_set = text.partition("=")
    if not sep or not is_token(unit):
        raise InvalidHeader(f"malformed Range {text[:100]!r}")
    if unit.lower() != "bytes":
        return None
    ranges: list[ByteRange] = []
    for part in range_set.split(","):
        element = part.strip(" \t")
        if not element:
            continue
        if len(ranges) >= max_ranges:
            raise LimitExceeded(
                f"Range has more than {max_ranges} ranges",
                limit="max_ranges",
                value=max_ranges,
                http_status=416,
            )
        match = _SPEC_RE.fullmatch(element)
        if match is None:
            raise InvalidHeader(f"malformed byte range {element[:100]!r}")
        first, last, suffix = match.groups()
        if suffix is not None:
            ranges.append(ByteRange(suffix_length=_number(suffix)))
            continue
        start = _number(first)
        end = _number(last) if last else None
        if end is not None and end < start:
            raise InvalidHeader(f"byte range {element[:100]!r} ends before it starts")
        ranges.append(ByteRange(start, end))
    if not ranges:
        raise InvalidHeader(f"Range without ranges: {text[:100]!r}")
    return RangeRequest(tuple(ranges))


@dataclasses.dataclass(frozen=True, slots=True)
class ContentRange:
    """A bytes Content-Range: ``start``/``end`` are ``None`` for ``*/length``."""

    start: int | None
    end: int | None
    length: int | None


def parse_content_range(value: str | bytes) -> ContentRange:
    """Parse ``bytes first-last/length``, ``bytes first-last/*`` or ``bytes */length``.

    Invalid (RFC 9110 §14.4): last before first, or a length not beyond
    last; either raises :class:`InvalidHeader`, as do other units.
    """
    text = to_text(value)
    unit, sep, rest = text.partition(" ")
    if not sep or unit.lower() != "bytes":
        raise InvalidHeader(f"unsupported Content-Range {text[:100]!r}")
    match = _CONTENT_RANGE_RE.fullmatch(rest)
    if match is None:
        raise InvalidHeader(f"malformed Content-Range {text[:100]!r}")
    first, last, complete, unsatisfied = match.groups()
    if unsatisfied is not None:
        return ContentRange(None, None, _number(unsatisfied))
    start, end = _number(first), _number(last)
    length = None if complete == "*" else _number(complete)
    if end < start or (length is not None and length <= end):
        raise InvalidHeader(f"inconsistent Content-Range {text[:100]!r}")
    return ContentRange(start, end, length)


def format_content_range(start: int, end: int, length: int | None) -> str:
    """``bytes start-end/length`` (``*`` for an unknown length); checked."""
    for v in (start, end, length):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise LocalProtocolError(f"Content-Range bounds must be ints >= 0, not {v!r}")
    if end < start or (length is not None and end >= length):
        raise LocalProtocolError(f"inconsistent Content-Range {start}-{end}/{length}")
    return f"bytes {start}-{end}/{'*' if length is None else length}"


def format_unsatisfied_range(length: int) -> str:
    """``bytes */length``, sent with a 416 response."""
    _check_length(length)
    return f"bytes */{length}"
