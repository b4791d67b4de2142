"""Validators for :class:`~sockit.server.StaticFiles`: entity-tags and the conditional
request fields (RFC 9110 §8.8, §13).

Everything here is a pure function of header values, the representation's
validators and (for the "strong Last-Modified" rule) the current time, so the
whole precedence table of RFC 9110 §13.2.2 can be tested without a socket.

A malformed entity-tag list matches nothing: for ``If-None-Match`` that means
the condition holds and the full answer is sent; for ``If-Match`` it means
``412`` — the conservative reading for a header the client got wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

from sockit.proto.http import Headers, try_parse_http_date

__all__ = [
    "EntityTag",
    "TagList",
    "evaluate_preconditions",
    "if_range_matches",
    "make_etag",
    "parse_etag_list",
]

_OWS = b" \t"


@dataclasses.dataclass(frozen=True, slots=True)
class EntityTag:
    """One entity-tag: ``opaque`` is the text between the quotes."""

    opaque: bytes
    weak: bool = False

    def __str__(self) -> str:
        text = '"' + self.opaque.decode("latin-1") + '"'
        return "W/" + text if self.weak else text

    def strong_equals(self, other: EntityTag) -> bool:
        """Strong comparison (RFC 9110 §8.8.3.2): both strong, same opaque text."""
        return not self.weak and not other.weak and self.opaque == other.opaque

    def weak_equals(self, other: EntityTag) -> bool:
        """Weak comparison: same opaque text, weakness ignored."""
        return self.opaque == other.opaque


@dataclasses.dataclass(frozen=True, slots=True)
class TagList:
    """An ``If-Match`` / ``If-None-Match`` value: ``*`` (``any``) or a list of tags."""

    tags: tuple[EntityTag, ...] = ()
    any: bool = False


def _is_etagc(byte: int) -> bool:
    return byte == 0x21 or 0x23 <= byte <= 0x7E or byte >= 0x80


def _parse_one(value: bytes, pos: int) -> tuple[EntityTag, int] | None:
    """The entity-tag starting at ``pos`` and the offset after it, or ``None``."""
    weak = value.startswith(b"W/", pos)
    if weak:
        pos += 2
    if value[pos : pos + 1] != b'"':
        return None
    end = value.find(b'"', pos + 1)
    if end < 0:
        return None
    opaque = value[pos + 1 : end]
    if not all(_is_etagc(b) for b in opaque):
        return None
    return EntityTag(opaque, weak), end + 1


def parse_etag_list(value: bytes) -> TagList | None:
    """Parse ``"*"`` or ``#entity-tag``; ``None`` if malformed (an empty list is malformed).

    Entity-tags may hold commas, so this scans the value itself rather than
    splitting it as a generic list.
    """
    stripped = value.strip(_OWS)
    if stripped == b"*":
        return TagList(any=True)
    tags: list[EntityTag] = []
    pos, end = 0, len(value)
    while True:
        while pos < end and value[pos] in b" \t,":
            pos += 1
        if pos >= end:
            break
        parsed = _parse_one(value, pos)
        if parsed is None:
            return None
        tag, pos = parsed
        tags.append(tag)
        while pos < end and value[pos] in _OWS:
            pos += 1
        if pos < end and value[pos] != 0x2C:  # something other than a comma follows
            return None
    return TagList(tuple(tags)) if tags else None


def make_etag(st: os.stat_result, *, weak: bool, coding: str = "identity") -> EntityTag:
    """An entity-tag from the file's inode, size and mtime in nanoseconds, and its coding.

    The three are hashed (BLAKE2b, 64 bits, hex) rather than shown, so the tag
    does not publish inode numbers; ``coding`` makes each precompressed
    variant's tag distinct from the identity one, as RFC 9110 §8.8.3 requires.
    """
    material = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{coding}".encode()
    digest = hashlib.blake2b(material, digest_size=8).hexdigest().encode()
    return EntityTag(digest, weak)


def _http_date(headers: Headers, name: bytes) -> int | None:
    """A date field, or ``None`` if absent, invalid or sent more than once (RFC 9110 §13.1.3)."""
    values = headers.get_all_raw(name)
    if len(values) != 1:
        return None
    return try_parse_http_date(values[0])


def _tag_list(headers: Headers, name: bytes) -> TagList | None:
    value = headers.get_raw(name)
    if value is None:
        return None
    return parse_etag_list(value) or TagList()  # malformed: matches nothing


def evaluate_preconditions(
    headers: Headers, *, method: bytes, etag: EntityTag | None, last_modified: int
) -> int | None:
    """``412``, ``304``, or ``None`` to go on, in the order of RFC 9110 §13.2.2.

    1. ``If-Match`` (strong comparison) false → 412; absent: ``If-Unmodified-Since``
       earlier than Last-Modified → 412.
    2. ``If-None-Match`` (weak comparison) true → 304 for GET/HEAD (412 for others);
       absent: for GET/HEAD, ``If-Modified-Since`` not earlier than Last-Modified → 304.
    ``last_modified`` is whole seconds, as sent in the Last-Modified field.
    """
    if_match = _tag_list(headers, b"if-match")
    if if_match is not None:
        if not if_match.any and not (
            etag is not None and any(etag.strong_equals(t) for t in if_match.tags)
        ):
            return 412
    else:
        since = _http_date(headers, b"if-unmodified-since")
        if since is not None and last_modified > since:
            return 412
    safe = method in (b"GET", b"HEAD")
    if_none_match = _tag_list(headers, b"if-none-match")
    if if_none_match is not None:
        if if_none_match.any or (
            etag is not None and any(etag.weak_equals(t) for t in if_none_match.tags)
        ):
            return 304 if safe else 412
        return None
    if safe:
        since = _http_date(headers, b"if-modified-since")
        if since is not None and last_modified <= since:
            return 304
    return None


def if_range_matches(
    value: bytes, *, etag: EntityTag | None, last_modified: int, last_modified_strong: bool
) -> bool:
    """Whether an ``If-Range`` value lets the Range apply (RFC 9110 §13.1.5).

    An entity-tag must match strongly (a weak tag never does); a date must
    equal Last-Modified exactly, and only counts when Last-Modified is a
    strong validator (the file changed at least a second before now,
    RFC 9110 §8.8.2.2). Anything else — including a malformed value — means
    the Range is ignored and the whole representation is sent.
    """
    text = value.strip(_OWS)
    if text.startswith((b'"', b"W/")):
        parsed = _parse_one(text, 0)
        if parsed is None or parsed[1] != len(text) or etag is None:
            return False
        return parsed[0].strong_equals(etag)
    date = try_parse_http_date(text)
    return date is not None and last_modified_strong and date == last_modified
