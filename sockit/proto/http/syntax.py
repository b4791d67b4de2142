"""The common syntax components of HTTP field values (RFC 9110 §5.6).

Tokens, quoted-strings, comma-separated lists and ``;name=value`` parameters
are shared by most structured fields (media types, Accept*, Cache-Control,
Range, ...). The helpers here work on ``str``; wire bytes are mapped to text
with ISO-8859-1 (:func:`to_text`), which is lossless, so every octet a field
may carry (``obs-text`` included) survives and non-ASCII never raises.
"""

from __future__ import annotations

import re

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidHeader

__all__ = [
    "is_token",
    "parse_parameters",
    "quote_string",
    "split_list",
    "to_text",
    "unquote_string",
]

#: tchar from RFC 9110 §5.6.2, as a regex character class body.
TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
#: qdtext / quoted-pair bodies (RFC 9110 §5.6.4), obs-text included.
_QDTEXT = r"\t \x21\x23-\x5b\x5d-\x7e\x80-\xff"
_QPAIR = r"\\[\t \x21-\x7e\x80-\xff]"
QUOTED_STRING = rf'"(?:[{_QDTEXT}]|{_QPAIR})*"'

_TOKEN_RE = re.compile(rf"[{TCHAR}]+")
_QUOTED_STRING_RE = re.compile(QUOTED_STRING)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
# One parameter, anchored at the current position: OWS ";" OWS [ name=value ].
_PARAM_RE = re.compile(rf"[ \t]*;[ \t]*(?:([{TCHAR}]+)=(?:([{TCHAR}]+)|({QUOTED_STRING})))?")
# One list element: runs of non-comma, non-quote text and whole quoted-strings.
_ELEMENT_RE = re.compile(rf'(?:[^,"]+|{QUOTED_STRING})*')
_OWS = " \t"


def to_text(value: str | bytes | bytearray | memoryview) -> str:
    """Field-value text: bytes are decoded as ISO-8859-1 (never fails)."""
    if isinstance(value, str):
        return value
    return bytes(value).decode("latin-1")


def is_token(text: str) -> bool:
    """Whether ``text`` is a non-empty RFC 9110 token."""
    return _TOKEN_RE.fullmatch(text) is not None


def unquote_string(quoted: str) -> str:
    """The content of a quoted-string, with quoted-pairs resolved.

    ``quoted`` includes the surrounding double quotes and must already have
    been matched against the grammar (the parsers here guarantee that).
    """
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    return _QUOTED_PAIR_RE.sub(r"\1", inner)


def quote_string(value: str) -> str:
    """``value`` as a token when it is one, else as a quoted-string.

    Raises :class:`sockit.errors.LocalProtocolError` when ``value`` holds
    characters no quoted-string can carry (CTLs, DEL, beyond ISO-8859-1).
    """
    if _TOKEN_RE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    quoted = f'"{escaped}"'
    if _QUOTED_STRING_RE.fullmatch(quoted) is None:
        raise LocalProtocolError(f"cannot send {value!r} as a quoted-string")
    return quoted


def split_list(value: str | bytes) -> list[str]:
    """Split a list-valued field (``#element``, RFC 9110 §5.6.1).

    Commas inside quoted-strings do not split; surrounding OWS is stripped and
    empty elements (``a, , b``) are dropped, as recipients must. An unterminated
    quoted-string raises :class:`InvalidHeader`.
    """
    text = to_text(value)
    if '"' not in text:
        parts = [part.strip(_OWS) for part in text.split(",")]
        return [part for part in parts if part]
    out: list[str] = []
    pos = 0
    end = len(text)
    while True:
        match = _ELEMENT_RE.match(text, pos)
        assert match is not None  # the pattern matches the empty string
        stop = match.end()
        if stop < end and text[stop] != ",":
            raise InvalidHeader(f"unterminated or malformed quoted-string in {text!r}")
        element = text[pos:stop].strip(_OWS)
        if element:
            out.append(element)
        if stop >= end:
            return out
        pos = stop + 1


def parse_parameters(text: str, pos: int = 0) -> list[tuple[str, str]]:
    """Parse ``*( OWS ";" OWS [ parameter ] )`` from ``pos`` to the end of ``text``.

    Names are lowercased (they are case-insensitive); values are returned with
    quoted-string escapes resolved. Trailing OWS is allowed; anything else
    that is not a parameter raises :class:`InvalidHeader`. No whitespace is
    allowed around ``=`` (RFC 9110 §5.6.6).
    """
    params: list[tuple[str, str]] = []
    end = len(text)
    while pos < end:
        match = _PARAM_RE.match(text, pos)
        if match is None:
            if not text[pos:].strip(_OWS):
                break
            raise InvalidHeader(f"malformed parameters in {text!r}")
        name = match.group(1)
        if name is not None:
            token = match.group(2)
            val = token if token is not None else unquote_string(match.group(3))
            params.append((name.lower(), val))
        elif match.end() < end and text[match.end()] not in ";" + _OWS:
            # ";" followed by something that is not a parameter
            raise InvalidHeader(f"malformed parameter in {text!r}")
        pos = match.end()
    return params
