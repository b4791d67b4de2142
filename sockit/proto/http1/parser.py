"""Parsing complete HTTP/1.1 message heads (RFC 9112 §2-§5) and trailer sections.

The connection finds where a head ends and hands the whole head here, so
every decision below is a function of the head's bytes alone: however TCP
split them, the same head gives the same fields or the same error.

Two paths produce the same result:

* The **fast path** handles the heads real clients send: one ``match`` of
  the start line and one ``findall`` of field lines, with every byte class
  and every bound (method, target, name and value length) inside the
  compiled patterns, which are built per :class:`HTTP1Limits` and cached.
  Counting LFs proves the matches cover every line (see the comment at
  :meth:`HeadParser.parse_request`). It is deliberately conservative:
  anything unusual (obs-fold, a bare CR or LF, trailing whitespace in a
  value, a version other than 1.0/1.1) falls through.
* The **slow path** walks the head line by line, in order, and either builds
  the same result (for heads the fast path was too cautious about) or raises
  for the first rule the head breaks, naming the rule and, for bounds, the
  limit. It also implements the client's opt-in :class:`LenientRules`.

Errors carry the status a server should answer with: 431 for a field or the
block being too large, 414 for the request line or target, 501 for an
over-long method (no method that long is implemented anywhere), 505 for a
well-formed but unsupported version, and 400 for everything else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import HTTP1Limits

__all__ = [
    "HOST_RE",
    "HTTP1Config",
    "HeadParser",
    "LenientRules",
    "ParsedRequest",
    "ParsedResponse",
    "check_host",
    "check_target",
    "head_parser",
    "parser_for",
]

_TCHAR_CLASS = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
#: Every tchar byte: ``name.translate(None, _TCHARS)`` is empty iff name is all tchar.
_TCHARS = bytes(b for b in range(256) if re.fullmatch(rb"[" + _TCHAR_CLASS + rb"]", bytes([b])))
#: Bytes a field value may hold: HTAB, SP..~ and obs-text.
_VALUE_OK = bytes([0x09, *range(0x20, 0x7F), *range(0x80, 0x100)])
#: Bytes a request-target may hold: visible ASCII except ``#``.
_TARGET_OK = bytes([0x21, 0x22, *range(0x24, 0x7F)])
_OWS = b" \t"

_VERSION_RE = re.compile(rb"HTTP/([0-9])\.([0-9])")
_REASON_RE = re.compile(rb"[\t \x21-\x7e\x80-\xff]*")
_STATUS_RE = re.compile(rb"[0-9]{3}")
_V10 = b"1.0"
_V11 = b"1.1"
_VERSIONS = {b"0": _V10, b"1": _V11}

# Request targets (RFC 9112 §3.2). Character classes were checked already.
_ABSOLUTE_RE = re.compile(rb"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?]*)(.*)", re.DOTALL)
_HOST_CHARS = rb"A-Za-z0-9\-._~!$&'()*+,;=%"
_AUTHORITY_RE = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[" + _HOST_CHARS + rb"]+):[0-9]{1,5}")
HOST_RE = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[" + _HOST_CHARS + rb"]*)(?::[0-9]*)?")

_DEFAULT_LIMITS = HTTP1Limits()

#: ``(method, target, version, fields)``.
ParsedRequest = tuple[bytes, bytes, bytes, list[tuple[bytes, bytes]]]
#: ``(version, status, reason, fields)``.
ParsedResponse = tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]


@dataclass(frozen=True, slots=True)
class LenientRules:
    """Opt-in tolerance for broken *servers*, used by the client role only.

    Every rule defaults to strict. A server (which must not be lenient about
    what it accepts, since a lenient parser is how requests get smuggled past
    a stricter front end) refuses a config with any of these.
    """

    #: Accept lines ending in LF alone (RFC 9112 §2.2 lets recipients do so).
    allow_bare_lf: bool = False
    #: Accept obs-fold continuation lines, unfolded into one SP (RFC 9112 §5.2).
    allow_obs_fold: bool = False
    #: Accept whitespace between a field name and its colon, dropping it.
    allow_space_before_colon: bool = False
    #: Accept a status line without the SP before the (empty) reason phrase.
    allow_missing_reason: bool = False


@dataclass(frozen=True, slots=True)
class HTTP1Config:
    """How one :class:`Connection` parses and what it tolerates."""

    #: Every size bound (heads, fields, chunks, trailers, bodies).
    limits: HTTP1Limits = _DEFAULT_LIMITS
    #: Client only: opt-in tolerance for broken servers. A server refuses it.
    lenient: LenientRules | None = None
    #: Most bytes held back while parsing waits for the application
    #: (pipelined requests, data after an Upgrade/CONNECT request before the
    #: answer); more is a LimitExceeded (``limit="max_incomplete_event_size"``,
    #: 400). A safety net against a peer that pipelines without end: unlike
    #: the HTTP1Limits bounds it depends on when the application calls
    #: ``start_next_cycle``, not only on the bytes. ``None``: no bound. (The
    #: head being parsed is bounded by ``limits.max_header_block_size``.)
    max_incomplete_event_size: int | None = 1024 * 1024
    #: Client only: accept LF-only line ends in responses (RFC 9112 §2.2).
    allow_bare_lf_in_responses: bool = False
    #: Client only: refuse a response whose Transfer-Encoding does not end in
    #: chunked, instead of reading its body until close (RFC 9112 §6.3 rule 4).
    strict_transfer_encoding: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.limits, HTTP1Limits):
            raise ValueError("HTTP1Config.limits must be an HTTP1Limits")
        if self.lenient is not None and not isinstance(self.lenient, LenientRules):
            raise ValueError("HTTP1Config.lenient must be LenientRules or None")
        size = self.max_incomplete_event_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise ValueError("HTTP1Config.max_incomplete_event_size must be a positive int")


def _bad(message: str, status: int = 400) -> RemoteProtocolError:
    return RemoteProtocolError(message, http_status=status)


def _too_big(what: str, limit: str, value: int, status: int) -> LimitExceeded:
    return LimitExceeded(
        f"{what} is longer than {limit}={value}", limit=limit, value=value, http_status=status
    )


def check_target(method: bytes, target: bytes) -> None:
    """Refuse a request-target whose form does not suit its method (400).

    origin-form (``/path?q``) for everything but CONNECT; authority-form
    (``host:port``) for CONNECT only; ``*`` for OPTIONS only; absolute-form
    (``scheme://authority/...``) for proxies, where http(s) URIs must have a
    host and no userinfo (RFC 9110 §4.2.1, §4.2.4). The characters were
    checked by the parser already.
    """
    if target[:1] == b"/":
        if method == b"CONNECT":
            raise _bad("CONNECT needs an authority-form target (host:port)")
        return
    if method == b"CONNECT":
        if _AUTHORITY_RE.fullmatch(target) is None:
            raise _bad("CONNECT needs an authority-form target (host:port)")
        return
    if target == b"*":
        if method != b"OPTIONS":
            raise _bad("the asterisk-form target is only for OPTIONS")
        return
    m = _ABSOLUTE_RE.fullmatch(target)
    if m is None:
        raise _bad("request-target is not origin-form, absolute-form or asterisk-form")
    if m[1].lower() in (b"http", b"https") and (not m[2] or b"@" in m[2]):
        raise _bad("an http(s) absolute-form target needs a host and no userinfo")


def check_host(value: bytes) -> None:
    """Refuse a Host field value that is not ``uri-host [":" port]`` (400)."""
    if HOST_RE.fullmatch(value) is None:
        raise _bad("invalid Host field value")


@functools.lru_cache(maxsize=32)
def _fields_pattern(max_name: int, max_value: int) -> re.Pattern[bytes]:
    # One field line, with the CRLF that precedes it: a literal CRLF anchors
    # every attempt, then a token name, OWS, and a value of one bitmap class
    # that must end on a non-blank byte and be followed by CRLF.
    return re.compile(
        rb"\r\n([" + _TCHAR_CLASS + rb"]{1,%d}):[ \t]*"
        rb"([\t\x20-\x7e\x80-\xff]{0,%d})(?<![ \t])(?=\r\n)" % (max_name, max_value)
    )


@functools.lru_cache(maxsize=32)
def _request_line_pattern(max_method: int, max_uri: int) -> re.Pattern[bytes]:
    return re.compile(
        rb"(["
        + _TCHAR_CLASS
        + rb"]{1,%d}) ([\x21\x22\x24-\x7e]{1,%d}) HTTP/1\.([01])(?=\r\n)" % (max_method, max_uri)
    )


_STATUS_LINE_RE = re.compile(
    rb"HTTP/1\.([01]) ([1-5][0-9][0-9]) ([\t \x21-\x7e\x80-\xff]*)(?=\r\n)"
)


class HeadParser:
    """Parses complete heads for one set of limits and rules (immutable, shared)."""

    __slots__ = (
        "_bare_lf",
        "_fields",
        "_lenient",
        "_limits",
        "_max_count",
        "_max_request_line",
        "_max_status_line",
        "_request_line",
    )

    def __init__(
        self, limits: HTTP1Limits, lenient: LenientRules | None = None, *, bare_lf: bool = False
    ) -> None:
        self._limits = limits
        self._lenient = lenient if lenient is not None else LenientRules()
        self._bare_lf = bare_lf or self._lenient.allow_bare_lf
        self._fields = _fields_pattern(
            limits.max_header_name_size, limits.max_header_value_size
        ).findall
        self._request_line = _request_line_pattern(
            limits.max_method_size, limits.max_uri_size
        ).match
        self._max_count = limits.max_header_count
        self._max_request_line = limits.max_request_line_size
        self._max_status_line = limits.max_status_line_size

    # -- fast path ------------------------------------------------------------
    #
    # The start line pattern matches at 0 and ends before a CRLF; findall
    # then collects every field line after it. Each match holds exactly one
    # LF (its leading CRLF) and ends right before the next CRLF, and the last
    # two LFs of a head ending in CRLF CRLF can start no match. So if the
    # matches number the LFs minus two, they tile every line: no bare CR or
    # LF, no obs-fold, no invalid byte anywhere, all bounds respected. A value
    # with trailing OWS fails its match (the lookbehind), so the stripped
    # value is what the bound applies to.

    def parse_request(self, head: bytes) -> ParsedRequest:
        """``(method, target, version, fields)`` of a request head.

        ``head`` runs from the request line through the empty line ending
        the head; the version is ``b"1.0"`` or ``b"1.1"``.
        """
        m = self._request_line(head)
        if m is not None and m.end() <= self._max_request_line:
            fields = self._fields(head, m.end())
            if (
                len(fields) == head.count(b"\n") - 2
                and head[-4:] == b"\r\n\r\n"
                and len(fields) <= self._max_count
            ):
                method, target, minor = m.groups()
                if target[0] != 0x2F or method == b"CONNECT":
                    check_target(method, target)
                return method, target, _VERSIONS[minor], fields
        return self._slow_request(head)

    def fast_request(self, data: bytes | bytearray, pos: int, stop: int) -> ParsedRequest | None:
        """The fast path alone, on ``data[pos:stop]`` in place (no copy of the head).

        The slice must end in CRLF CRLF. Returns ``None`` (and decides
        nothing) unless it is an ordinary origin-form request the fast path
        proves valid; the caller then takes the general way. When it returns
        a result, that slice is exactly the head :meth:`InputBuffer.take_head`
        would find (the tiling leaves no room for an earlier empty line or a
        bare LF) and :meth:`parse_request` would give the same result.
        """
        m = self._request_line(data, pos, stop)
        if m is None:
            return None
        start = m.end()
        if start - pos > self._max_request_line:
            return None
        fields = self._fields(data, start, stop)
        count = len(fields)
        if count != data.count(b"\n", pos, stop) - 2 or count > self._max_count:
            return None
        method, target, minor = m.groups()
        if target[0] != 0x2F or method == b"CONNECT":
            return None
        return method, target, _VERSIONS[minor], fields

    def fast_response(self, data: bytes | bytearray, pos: int, stop: int) -> ParsedResponse | None:
        """:meth:`fast_request` for a response head: the fast path alone, in place."""
        m = _STATUS_LINE_RE.match(data, pos, stop)
        if m is None or m.end() - pos > self._max_status_line:
            return None
        fields = self._fields(data, m.end(), stop)
        if len(fields) != data.count(b"\n", pos, stop) - 2 or len(fields) > self._max_count:
            return None
        minor, status, reason = m.groups()
        return _VERSIONS[minor], int(status), reason, fields

    def parse_response(self, head: bytes) -> ParsedResponse:
        """``(version, status, reason, fields)`` of a response head."""
        m = _STATUS_LINE_RE.match(head)
        if m is not None and m.end() <= self._max_status_line:
            fields = self._fields(head, m.end())
            if (
                len(fields) == head.count(b"\n") - 2
                and head[-4:] == b"\r\n\r\n"
                and len(fields) <= self._max_count
            ):
                minor, status, reason = m.groups()
                return _VERSIONS[minor], int(status), reason, fields
        return self._slow_response(head)

    def parse_trailers(self, section: bytes) -> list[tuple[bytes, bytes]]:
        """The fields of a complete trailer section (ending in its empty line)."""
        lines = section.split(b"\n")
        fields = self._field_lines(lines[:-2])
        self._check_line_end(lines[-2])
        return fields

    # -- slow path ------------------------------------------------------------

    def _check_line_end(self, raw: bytes) -> bytes:
        """The line without its CR; refuses a bare LF unless allowed."""
        if raw[-1:] == b"\r":
            return raw[:-1]
        if not self._bare_lf:
            raise _bad("line ends in a bare LF (CRLF required)")
        return raw

    # -- start lines ------------------------------------------------------------
    #
    # A start line is complete as soon as its LF arrives, so the connection
    # validates it before the rest of the head is there (an HTTP/0.9-style
    # ``GET /`` is refused at once instead of waiting for a head that never
    # ends). The order is fixed, whole or split: the line's length bound, then
    # its syntax, and only then the bound on the whole head.

    def start_line_bound(self, request: bool) -> int:
        """The longest start line allowed, not counting its CRLF."""
        return self._max_request_line if request else self._max_status_line

    def overlong_start_line(self, request: bool) -> LimitExceeded:
        """The error for a start line over :meth:`start_line_bound` (414 or 431)."""
        if request:
            return _too_big("request line", "max_request_line_size", self._max_request_line, 414)
        return _too_big("status line", "max_status_line_size", self._max_status_line, 431)

    def check_start_line(self, raw: bytes, request: bool) -> None:
        """Validate a complete start line (``raw`` runs up to its LF, CR included)."""
        if request:
            self._request_line_parts(raw)
        else:
            self._status_line_parts(raw)

    def _request_line_parts(self, raw: bytes) -> tuple[bytes, bytes, bytes]:
        limits = self._limits
        if len(raw) - raw.endswith(b"\r") > limits.max_request_line_size:
            raise self.overlong_start_line(True)
        if raw[-1:] != b"\r":
            raise _bad("request line ends in a bare LF (CRLF required)")
        pieces = raw[:-1].split(b" ")
        if len(pieces) != 3 or not pieces[0] or not pieces[1]:
            raise _bad("malformed request line (want: method SP target SP version)")
        method, target, version = pieces
        if len(method) > limits.max_method_size:
            raise _too_big("method", "max_method_size", limits.max_method_size, 501)
        if method.translate(None, _TCHARS):
            raise _bad("invalid character in method")
        if len(target) > limits.max_uri_size:
            raise _too_big("request-target", "max_uri_size", limits.max_uri_size, 414)
        if target.translate(None, _TARGET_OK):
            raise _bad("invalid character in request-target")
        check_target(method, target)
        return method, target, self._version(version)

    def _status_line_parts(self, raw: bytes) -> tuple[bytes, int, bytes]:
        if len(raw) - raw.endswith(b"\r") > self._max_status_line:
            raise self.overlong_start_line(False)
        line = self._check_line_end(raw)
        version = self._version(line[:8])
        if line[8:9] != b" " or _STATUS_RE.fullmatch(line, 9, 12) is None:
            raise _bad("malformed status line (want: version SP 3DIGIT SP reason)")
        status = int(line[9:12])
        if not 100 <= status <= 599:
            raise _bad(f"status code {status} is outside 100-599")
        rest = line[12:]
        if not rest:
            if not self._lenient.allow_missing_reason:
                raise _bad("status line lacks the SP before the reason phrase")
            reason = b""
        elif rest[:1] != b" " or _REASON_RE.fullmatch(rest, 1) is None:
            raise _bad("invalid reason phrase")
        else:
            reason = rest[1:]
        return version, status, reason

    def _slow_request(self, head: bytes) -> ParsedRequest:
        lines = head.split(b"\n")
        method, target, version = self._request_line_parts(lines[0])
        return method, target, version, self._head_fields(lines)

    def _slow_response(self, head: bytes) -> ParsedResponse:
        lines = head.split(b"\n")
        version, status, reason = self._status_line_parts(lines[0])
        return version, status, reason, self._head_fields(lines)

    def _version(self, text: bytes) -> bytes:
        m = _VERSION_RE.fullmatch(text)
        if m is None:
            raise _bad("malformed HTTP version")
        if m[1] != b"1" or m[2] not in b"01":
            raise _bad(f"HTTP version {text.decode('ascii')} is not supported", 505)
        return _V10 if m[2] == b"0" else _V11

    def _head_fields(self, lines: list[bytes]) -> list[tuple[bytes, bytes]]:
        fields = self._field_lines(lines[1:-2])
        self._check_line_end(lines[-2])
        return fields

    def _field_lines(self, lines: list[bytes]) -> list[tuple[bytes, bytes]]:
        """Field lines in order; the first rule broken is the one reported."""
        limits = self._limits
        lenient = self._lenient
        max_name = limits.max_header_name_size
        max_value = limits.max_header_value_size
        max_count = limits.max_header_count
        fields: list[tuple[bytes, bytes]] = []
        for raw in lines:
            line = self._check_line_end(raw)
            if line[:1] in (b" ", b"\t"):
                if not fields:
                    raise _bad("whitespace before the first field line")
                if not lenient.allow_obs_fold:
                    raise _bad("obs-fold (line folding) is not allowed")
                name, value = fields[-1]
                more = line.strip(_OWS)
                value = value + b" " + more if value and more else value or more
                if len(value) > max_value:
                    raise _too_big("field value", "max_header_value_size", max_value, 431)
                if value.translate(None, _VALUE_OK):
                    raise _bad("invalid character in field value")
                fields[-1] = (name, value)
                continue
            if len(fields) >= max_count:
                raise _too_big("field section", "max_header_count", max_count, 431)
            colon = line.find(b":")
            if colon < 0:
                raise _bad("field line without a colon")
            name = line[:colon]
            if len(name) > max_name:
                raise _too_big("field name", "max_header_name_size", max_name, 431)
            value = line[colon + 1 :].strip(_OWS)
            if len(value) > max_value:
                raise _too_big("field value", "max_header_value_size", max_value, 431)
            if name[-1:] in (b" ", b"\t"):
                if not lenient.allow_space_before_colon:
                    raise _bad("whitespace between field name and colon")
                name = name.rstrip(_OWS)
            if not name:
                raise _bad("empty field name")
            if name.translate(None, _TCHARS):
                raise _bad("invalid character in field name")
            if value.translate(None, _VALUE_OK):
                raise _bad("invalid character in field value")
            fields.append((name, value))
        return fields


@functools.lru_cache(maxsize=64)
def head_parser(
    limits: HTTP1Limits, lenient: LenientRules | None = None, *, bare_lf: bool = False
) -> HeadParser:
    """A shared :class:`HeadParser` for these limits and rules (cached)."""
    return HeadParser(limits, lenient, bare_lf=bare_lf)


_DEFAULT_CONFIG = HTTP1Config()
_Setup = tuple[HTTP1Config, HeadParser, bool]
_SETUPS: dict[int, tuple[object, _Setup]] = {}


def parser_for(config: HTTP1Config | None, server: bool) -> _Setup:
    """``(config, parser, bare_lf)`` for a connection: ``config`` checked and completed.

    ``None`` means the defaults. TypeError for something else than an
    :class:`HTTP1Config`; ValueError for lenient rules on a server. Cached by
    identity (configs hash slowly), so connections made with one config share
    one immutable parser; the cache holds the config, so its id stays unique.
    """
    key = id(config) if server else ~id(config)
    hit = _SETUPS.get(key)
    if hit is not None and hit[0] is config:
        return hit[1]
    if config is None:
        cfg = _DEFAULT_CONFIG
    elif not isinstance(config, HTTP1Config):
        raise TypeError("config must be an HTTP1Config")
    else:
        cfg = config
    lenient = cfg.lenient
    if lenient is not None and server:
        raise ValueError("lenient parsing is for clients only: a server must be strict")
    bare_lf = not server and (
        cfg.allow_bare_lf_in_responses or (lenient is not None and lenient.allow_bare_lf)
    )
    setup = (cfg, head_parser(cfg.limits, None if server else lenient, bare_lf=bare_lf), bare_lf)
    if len(_SETUPS) >= 256:
        _SETUPS.clear()
    _SETUPS[key] = (config, setup)
    return setup
