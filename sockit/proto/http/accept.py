"""Proactive negotiation: Accept, Accept-Encoding, Accept-Language (RFC 9110 §12).

The parsers return items in header order with their quality value; the
``best_*`` helpers pick among the server's offers. For every offer the most
specific matching element of the header supplies its weight (RFC 9110
§12.5.1); the offer with the highest weight above zero wins, and ties go to
the earlier offer, so the order of ``offers`` is the server's preference.

Choices: an absent header (``None``) accepts everything; an Accept or
Accept-Language value with no elements is treated as absent too. Parameters
after ``q`` in Accept (the old ``accept-ext``) are ignored. Malformed values
raise :class:`InvalidHeader`; a server may catch it and ignore the field.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TypeVar

from sockit.proto.http.exceptions import InvalidHeader
from sockit.proto.http.mediatype import MediaType
from sockit.proto.http.syntax import TCHAR, parse_parameters, split_list, to_text

__all__ = [
    "MediaRange",
    "QualityItem",
    "best_encoding",
    "best_language",
    "best_match",
    "media_quality",
    "parse_accept",
    "parse_accept_encoding",
    "parse_accept_language",
    "parse_qvalue",
]

_QVALUE_RE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_RANGE_RE = re.compile(rf"([{TCHAR}]+)/([{TCHAR}]+)")
_CODING_RE = re.compile(rf"([{TCHAR}]+)")
_LANGUAGE_RE = re.compile(r"\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_CODING_ALIASES = {"x-gzip": "gzip", "x-compress": "compress"}

_IMPLICIT_IDENTITY = 0.001

_Offer = TypeVar("_Offer", str, MediaType)


@dataclasses.dataclass(frozen=True, slots=True)
class MediaRange:
    """One element of Accept: a media range and its weight."""

    media_type: MediaType
    q: float = 1.0


@dataclasses.dataclass(frozen=True, slots=True)
class QualityItem:
    """One element of Accept-Encoding or Accept-Language, lowercased, with weight."""

    value: str
    q: float = 1.0


def parse_qvalue(text: str) -> float:
    """A qvalue: 0 to 1 with at most three decimals (RFC 9110 §12.4.2)."""
    if _QVALUE_RE.fullmatch(text) is None:
        raise InvalidHeader(f"invalid qvalue {text[:20]!r}")
    return float(text)


def _weighted(element: str, pos: int, *, extensions: bool) -> tuple[list[tuple[str, str]], float]:
    """Parameters before ``q`` and the weight; without ``extensions`` only q is allowed."""
    params = parse_parameters(element, pos)
    if not extensions:
        if not params:
            return params, 1.0
        if len(params) == 1 and params[0][0] == "q":
            return [], parse_qvalue(params[0][1])
        raise InvalidHeader(f"unexpected parameters in {element[:100]!r}")
    for i, (name, value) in enumerate(params):
        if name == "q":
            return params[:i], parse_qvalue(value)
    return params, 1.0


def parse_accept(value: str | bytes) -> list[MediaRange]:
    """Parse Accept into media ranges with weights, in header order."""
    out: list[MediaRange] = []
    for element in split_list(to_text(value)):
        match = _RANGE_RE.match(element)
        if match is None:
            raise InvalidHeader(f"invalid media range {element[:100]!r}")
        type_, subtype = match.group(1).lower(), match.group(2).lower()
        if type_ == "*" and subtype != "*":
            raise InvalidHeader(f"invalid media range {element[:100]!r}")
        params, q = _weighted(element, match.end(), extensions=True)
        names = {name for name, _ in params}
        if len(names) != len(params):
            raise InvalidHeader(f"duplicate parameter in {element[:100]!r}")
        out.append(MediaRange(MediaType(type_, subtype, tuple(params)), q))
    return out


def _parse_simple(value: str | bytes, pattern: re.Pattern[str], what: str) -> list[QualityItem]:
    out: list[QualityItem] = []
    for element in split_list(to_text(value)):
        match = pattern.match(element)
        if match is None:
            raise InvalidHeader(f"invalid {what} {element[:100]!r}")
        _, q = _weighted(element, match.end(), extensions=False)
        out.append(QualityItem(match.group().lower(), q))
    return out


def parse_accept_encoding(value: str | bytes) -> list[QualityItem]:
    """Parse Accept-Encoding: content codings (or ``identity``, ``*``) with weights."""
    items = _parse_simple(value, _CODING_RE, "content coding")
    return [QualityItem(_CODING_ALIASES.get(i.value, i.value), i.q) for i in items]


def parse_accept_language(value: str | bytes) -> list[QualityItem]:
    """Parse Accept-Language: language ranges (RFC 4647 §2.1) with weights."""
    return _parse_simple(value, _LANGUAGE_RE, "language range")


def _media_weight(offer: MediaType, ranges: list[MediaRange]) -> float:
    best: tuple[int, int, int] | None = None
    weight = 0.0
    for item in ranges:
        candidate = item.media_type
        if not candidate.matches(offer):
            continue
        specificity = (candidate.type != "*", candidate.subtype != "*", len(candidate.params))
        if best is None or specificity > best:
            best, weight = specificity, item.q
    return weight


def _pick(offers: Sequence[_Offer], weights: list[float]) -> _Offer | None:
    best: _Offer | None = None
    best_q = 0.0
    for offer, q in zip(offers, weights, strict=True):
        if q > best_q:
            best, best_q = offer, q
    return best


def media_quality(offer: MediaType | str, accept: str | bytes | None) -> float:
    """The weight Accept gives ``offer``: its most specific matching range's q.

    1.0 when the header is absent or empty, 0.0 when no range matches.
    """
    ranges = None if accept is None else parse_accept(accept)
    if not ranges:
        return 1.0
    return _media_weight(offer if isinstance(offer, MediaType) else MediaType.parse(offer), ranges)


def best_match(offers: Sequence[_Offer], accept: str | bytes | None) -> _Offer | None:
    """The offered media type the Accept value weighs highest, or ``None``.

    ``offers`` are concrete media types (strings or :class:`MediaType`); the
    one returned is the object passed in.
    """
    if not offers:
        return None
    ranges = None if accept is None else parse_accept(accept)
    if not ranges:
        return offers[0]
    parsed = [o if isinstance(o, MediaType) else MediaType.parse(o) for o in offers]
    return _pick(offers, [_media_weight(o, ranges) for o in parsed])


def best_encoding(offers: Sequence[str], accept_encoding: str | bytes | None) -> str | None:
    """The offered content coding to use, or ``None`` if none is acceptable.

    ``identity`` is acceptable unless excluded by ``identity;q=0`` or by
    ``*;q=0`` without an ``identity`` element (RFC 9110 §12.5.3); ``*``
    weighs every coding not listed, identity included. Unlisted identity
    with no ``*`` gets the smallest weight (0.001): acceptable, but any coding
    the client listed is preferred. An empty
    value allows only ``identity``. With no header at all any coding is
    acceptable, but ``identity`` is preferred if offered: clients that send
    nothing rarely decode anything.
    """
    if not offers:
        return None
    if accept_encoding is None:
        return "identity" if "identity" in offers else offers[0]
    items = parse_accept_encoding(accept_encoding)
    weights_by_coding: dict[str, float] = {}
    for item in items:
        weights_by_coding.setdefault(item.value, item.q)
    star = weights_by_coding.get("*")
    weights = []
    for offer in offers:
        coding = _CODING_ALIASES.get(offer.lower(), offer.lower())
        q = weights_by_coding.get(coding)
        if q is None and star is not None:
            q = star
        elif q is None:
            q = _IMPLICIT_IDENTITY if coding == "identity" else 0.0
        weights.append(q)
    return _pick(offers, weights)


def _language_weight(offer: str, ranges: list[QualityItem]) -> float:
    tag = offer.lower()
    best_len = -1
    weight = 0.0
    for item in ranges:
        rng = item.value
        if rng == "*":
            length = 0
        elif tag == rng or tag.startswith(rng + "-"):
            length = len(rng)
        else:
            continue
        if length > best_len:
            best_len, weight = length, item.q
    return weight


def best_language(offers: Sequence[str], accept_language: str | bytes | None) -> str | None:
    """The offered language tag to use (RFC 4647 basic filtering), or ``None``.

    A range matches a tag equal to it or starting with it plus ``-``; the
    longest matching range gives the weight; ``*`` matches anything.
    """
    if not offers:
        return None
    ranges = None if accept_language is None else parse_accept_language(accept_language)
    if not ranges:
        return offers[0]
    return _pick(offers, [_language_weight(o, ranges) for o in offers])
