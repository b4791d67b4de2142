"""Sec-WebSocket-Extensions / Sec-WebSocket-Protocol parsing and permessage-deflate negotiation.

The header grammar is RFC 6455 §9.1 (with the implied whitespace of its
RFC 2616-style ABNF)::

    Sec-WebSocket-Extensions = 1#extension
    extension = token *( ";" extension-param )
    extension-param = token [ "=" ( token / quoted-string ) ]

A quoted value must be a token once unquoted. Extension and parameter names
are compared case-insensitively (they are returned lowercased). A header that
breaks the grammar is refused as a whole (:class:`HandshakeError`, 400).

permessage-deflate (RFC 7692 §5-7) is negotiated here; the codec is
``sockit.proto.ws.deflate``. What each side does:

* **Server** (:func:`negotiate_deflate`): offers are tried in the client's
  order and the first acceptable one wins. An offer with a parameter twice,
  an unknown parameter or a bad value (window bits outside 8..15, with
  leading zeros, missing where required, a value on a flag) is skipped, not
  fatal. ``server_no_context_takeover`` is always granted. A requested
  ``server_max_window_bits`` is answered with a value no larger; a request
  for **8 declines the offer**, because zlib cannot produce a raw deflate
  stream with a 256-byte window (``deflateInit2`` refuses ``-8``), and our
  config's own ``server_max_window_bits=8`` is raised to 9 for the same
  reason. ``client_max_window_bits`` appears in the response only when the
  client offered it (§7.1.2.2); a config value the client cannot be told is
  then simply not applied (compression still runs, our inflater keeps a
  32 KiB window). We never ask a client for 8 unless it offered 8 itself
  (a config value of 8 asks for 9): zlib-based clients cannot honour it.
* **Client** (:func:`deflate_offer`, :func:`accept_deflate_response`): one
  offer, always with ``client_max_window_bits`` (bare, or with the
  configured value) since we can honour any window the server asks for. The
  response must be a valid acceptance of that offer: no parameter we did not
  allow, ``server_no_context_takeover`` present if we asked for it,
  ``server_max_window_bits`` present and no larger if we asked for it, and
  ``client_max_window_bits`` with a value no larger than ours. Anything else
  fails the handshake.

:class:`DeflateParams` is the outcome both sides agree on; the codec takes
it. ``client_no_context_takeover`` in a client's offer is the RFC's hint
("I will not use context takeover"): the client keeps its promise (its
params say so) but a server only relies on it when its own response says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sockit.proto.ws.errors import HandshakeError

__all__ = [
    "PERMESSAGE_DEFLATE",
    "DeflateConfig",
    "DeflateParams",
    "Extension",
    "accept_deflate_response",
    "deflate_offer",
    "format_extension",
    "negotiate_deflate",
    "parse_extensions",
    "parse_subprotocols",
]

#: The extension token of RFC 7692.
PERMESSAGE_DEFLATE = "permessage-deflate"


# -- the general header parser --------------------------------------------------------

_TCHAR = r"!#$%&'*+\-.^_`|~0-9A-Za-z"
_TOKEN = f"[{_TCHAR}]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_TOKEN_RE = re.compile(_TOKEN)
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
# One element's name, then its parameters one at a time, then the separator.
_NAME_RE = re.compile(rf"[ \t]*({_TOKEN})")
_PARAM_RE = re.compile(rf"[ \t]*;[ \t]*({_TOKEN})(?:[ \t]*=[ \t]*(?:({_TOKEN})|({_QUOTED})))?")
_SEP_RE = re.compile(r"[ \t]*(?:,|\Z)")
_EMPTY_RE = re.compile(r"[ \t]*,")


@dataclass(frozen=True, slots=True)
class Extension:
    """One element of a Sec-WebSocket-Extensions field: a name and its parameters.

    Names are lowercased; a parameter's value is ``None`` when it has none,
    else the token (quoted-strings already unquoted).
    """

    name: str
    params: tuple[tuple[str, str | None], ...] = ()


def _syntax(what: str) -> HandshakeError:
    return HandshakeError(f"malformed {what}", http_status=400)


def parse_extensions(values: Iterable[bytes | str]) -> list[Extension]:
    """Every extension of the Sec-WebSocket-Extensions field lines ``values``, in order.

    Empty list elements are skipped; a line that breaks the grammar raises
    :class:`HandshakeError` (400).
    """
    out: list[Extension] = []
    for raw in values:
        text = raw if isinstance(raw, str) else bytes(raw).decode("latin-1")
        pos = 0
        end = len(text)
        while pos < end:
            empty = _EMPTY_RE.match(text, pos)
            if empty is not None:
                pos = empty.end()
                continue
            if not text[pos:].strip(" \t"):
                break
            name = _NAME_RE.match(text, pos)
            if name is None:
                raise _syntax("Sec-WebSocket-Extensions field")
            pos = name.end()
            params: list[tuple[str, str | None]] = []
            while True:
                param = _PARAM_RE.match(text, pos)
                if param is None:
                    break
                value: str | None = param.group(2)
                quoted = param.group(3)
                if quoted is not None:
                    inner = quoted[1:-1]
                    value = _QUOTED_PAIR_RE.sub(r"\1", inner) if "\\" in inner else inner
                    if _TOKEN_RE.fullmatch(value) is None:
                        raise _syntax("Sec-WebSocket-Extensions parameter (quoted non-token)")
                params.append((param.group(1).lower(), value))
                pos = param.end()
            sep = _SEP_RE.match(text, pos)
            if sep is None:
                raise _syntax("Sec-WebSocket-Extensions field")
            pos = sep.end()
            out.append(Extension(name.group(1).lower(), tuple(params)))
    return out


def format_extension(extension: Extension) -> bytes:
    """The wire form of one extension (``name; param; param=value``)."""
    parts = [extension.name]
    for name, value in extension.params:
        parts.append(name if value is None else f"{name}={value}")
    return "; ".join(parts).encode("latin-1")


_PROTOCOL_SPLIT_RE = re.compile(r"[ \t]*,[ \t]*")


def parse_subprotocols(values: Iterable[bytes | str]) -> list[str]:
    """The subprotocols listed in Sec-WebSocket-Protocol field lines, in order.

    Each element must be a token (RFC 6455 §4.1); empty elements are
    skipped; anything else raises :class:`HandshakeError` (400).
    """
    out: list[str] = []
    for raw in values:
        text = raw if isinstance(raw, str) else bytes(raw).decode("latin-1")
        for item in _PROTOCOL_SPLIT_RE.split(text.strip(" \t")):
            if not item:
                continue
            if _TOKEN_RE.fullmatch(item) is None:
                raise _syntax("Sec-WebSocket-Protocol field")
            out.append(item)
    return out


# -- permessage-deflate ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeflateParams:
    """The permessage-deflate parameters in force on one connection (RFC 7692 §7.1).

    ``server_*`` govern what the server compresses (and the client
    inflates), ``client_*`` the other direction. A window of 8 bits is a
    legal agreement; see ``sockit.proto.ws.deflate`` for how zlib copes.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15

    def __post_init__(self) -> None:
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if type(bits) is not int or not 8 <= bits <= 15:
                raise ValueError("DeflateParams window bits must be ints from 8 to 15")


@dataclass(frozen=True, kw_only=True)
class DeflateConfig:
    """What we offer (client) or accept (server) for permessage-deflate.

    ``enabled=False`` turns the extension off. The no-context-takeover flags
    ask for (client) or impose (server) a fresh compression context per
    message; the window bits (8..15, ``None``: not requested) ask the other
    side to use a smaller window (client: ``server_max_window_bits`` in the
    offer; server: ``client_max_window_bits`` in the response) or, for our
    own direction, promise one. ``level`` is the zlib level (0-9) and
    messages shorter than ``min_size`` bytes are sent uncompressed (RSV1
    clear).
    """

    enabled: bool = True
    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    level: int = 6
    min_size: int = 0

    def __post_init__(self) -> None:
        for flag in (
            self.enabled,
            self.server_no_context_takeover,
            self.client_no_context_takeover,
        ):
            if type(flag) is not bool:
                raise ValueError("DeflateConfig flags must be bools")
        for bits in (self.server_max_window_bits, self.client_max_window_bits):
            if bits is not None and (type(bits) is not int or not 8 <= bits <= 15):
                raise ValueError("DeflateConfig window bits must be None or an int from 8 to 15")
        if type(self.level) is not int or not 0 <= self.level <= 9:
            raise ValueError("DeflateConfig.level must be an int from 0 to 9")
        if type(self.min_size) is not int or self.min_size < 0:
            raise ValueError("DeflateConfig.min_size must be a non-negative int")


_SNCT = "server_no_context_takeover"
_CNCT = "client_no_context_takeover"
_SMWB = "server_max_window_bits"
_CMWB = "client_max_window_bits"
# A window bits value: 8..15 in decimal without leading zeros (RFC 7692 §7.1.2).
_BITS = {str(n): n for n in range(8, 16)}


@dataclass(frozen=True, slots=True)
class _Deflate:
    """The parameters one permessage-deflate element carries, checked."""

    snct: bool
    cnct: bool
    smwb: int | None
    has_cmwb: bool  # client_max_window_bits present, with or without a value
    cmwb: int | None


def _read_deflate(params: tuple[tuple[str, str | None], ...], *, response: bool) -> _Deflate | str:
    """The element's parameters, or the reason they are unusable."""
    seen: set[str] = set()
    snct = cnct = has_cmwb = False
    smwb: int | None = None
    cmwb: int | None = None
    for name, value in params:
        if name in seen:
            return f"parameter {name} given twice"
        seen.add(name)
        if name in (_SNCT, _CNCT):
            if value is not None:
                return f"{name} takes no value"
            if name == _SNCT:
                snct = True
            else:
                cnct = True
        elif name in (_SMWB, _CMWB):
            if value is None:
                if name == _SMWB or response:
                    return f"{name} needs a value"
                has_cmwb = True
                continue
            bits = _BITS.get(value)
            if bits is None:
                return f"{name} must be 8 to 15"
            if name == _SMWB:
                smwb = bits
            else:
                has_cmwb = True
                cmwb = bits
        else:
            return f"unknown parameter {name}"
    return _Deflate(snct, cnct, smwb, has_cmwb, cmwb)


def _deflate_value(
    snct: bool, cnct: bool, smwb: int | None, has_cmwb: bool, cmwb: int | None
) -> bytes:
    params: list[tuple[str, str | None]] = []
    if snct:
        params.append((_SNCT, None))
    if cnct:
        params.append((_CNCT, None))
    if smwb is not None:
        params.append((_SMWB, str(smwb)))
    if has_cmwb:
        params.append((_CMWB, None if cmwb is None else str(cmwb)))
    return format_extension(Extension(PERMESSAGE_DEFLATE, tuple(params)))


def _accept_offer(offer: _Deflate, config: DeflateConfig) -> tuple[DeflateParams, bytes] | None:
    """The server's answer to one valid offer, or ``None`` to decline it."""
    snct = offer.snct or config.server_no_context_takeover
    ours = config.server_max_window_bits
    if ours is not None:
        ours = max(ours, 9)  # zlib cannot compress with a 256-byte window
    smwb: int | None
    if offer.smwb is not None:
        if offer.smwb < 9:
            return None
        smwb = offer.smwb if ours is None else min(ours, offer.smwb)
    else:
        smwb = ours
    cnct = config.client_no_context_takeover
    cmwb: int | None = None
    if offer.has_cmwb:
        asked = offer.cmwb
        cap = config.client_max_window_bits
        if cap is not None:
            cap = max(cap, 9)  # never ask a client for 8 itself: zlib-based ones cannot
        if cap is not None and asked is not None:
            cmwb = min(cap, asked)
        else:
            cmwb = cap if cap is not None else asked
    params = DeflateParams(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=15 if smwb is None else smwb,
        client_max_window_bits=15 if cmwb is None else cmwb,
    )
    return params, _deflate_value(snct, cnct, smwb, cmwb is not None, cmwb)


def negotiate_deflate(
    header_values: Iterable[bytes | str], config: DeflateConfig | None
) -> tuple[DeflateParams, bytes] | None:
    """Server: pick the first acceptable permessage-deflate offer.

    ``header_values`` are the request's Sec-WebSocket-Extensions lines.
    Returns the parameters in force and the response's field value, or
    ``None`` when no offer is acceptable (or ``config`` is ``None`` or
    disabled). Unusable offers are skipped; a field that breaks the grammar
    raises :class:`HandshakeError` (400). Other extensions are ignored.
    """
    if config is None or not config.enabled:
        return None
    for ext in parse_extensions(header_values):
        if ext.name != PERMESSAGE_DEFLATE:
            continue
        offer = _read_deflate(ext.params, response=False)
        if isinstance(offer, str):
            continue
        accepted = _accept_offer(offer, config)
        if accepted is not None:
            return accepted
    return None


def deflate_offer(config: DeflateConfig) -> bytes:
    """Client: the Sec-WebSocket-Extensions value offering permessage-deflate per ``config``.

    ``client_max_window_bits`` is always offered (bare unless ``config`` sets
    it): we can follow whatever window the server asks us to use.
    """
    return _deflate_value(
        config.server_no_context_takeover,
        config.client_no_context_takeover,
        config.server_max_window_bits,
        True,
        config.client_max_window_bits,
    )


def _refuse(reason: str) -> HandshakeError:
    return HandshakeError(
        f"invalid permessage-deflate response: {reason}", http_status=None
    )


def accept_deflate_response(value: bytes | str, config: DeflateConfig) -> DeflateParams:
    """Client: check the server's Sec-WebSocket-Extensions answer to our offer.

    ``value`` is the whole field value (lines joined with ``", "``); it must
    hold exactly one permessage-deflate element that validly accepts the
    offer :func:`deflate_offer` made from ``config``. Returns the
    parameters in force; raises :class:`HandshakeError` otherwise.
    """
    try:
        extensions = parse_extensions([value])
    except HandshakeError as exc:
        raise _refuse(exc.message) from None
    if not extensions:
        raise _refuse("no extension in the response")
    if len(extensions) != 1 or extensions[0].name != PERMESSAGE_DEFLATE:
        names = ", ".join(ext.name for ext in extensions)
        raise _refuse(f"the server agreed to extensions we did not offer ({names})")
    got = _read_deflate(extensions[0].params, response=True)
    if isinstance(got, str):
        raise _refuse(got)
    if config.server_no_context_takeover and not got.snct:
        raise _refuse("server_no_context_takeover was requested but not granted")
    asked_smwb = config.server_max_window_bits
    if asked_smwb is not None:
        if got.smwb is None:
            raise _refuse("server_max_window_bits was requested but not granted")
        if got.smwb > asked_smwb:
            raise _refuse(f"server_max_window_bits={got.smwb} is above the {asked_smwb} asked")
    ours = config.client_max_window_bits
    cmwb = 15 if ours is None else ours
    bits = got.cmwb
    if bits is not None:
        if bits > cmwb:
            raise _refuse(f"client_max_window_bits={bits} is above the {cmwb} offered")
        cmwb = bits
    return DeflateParams(
        server_no_context_takeover=got.snct,
        client_no_context_takeover=got.cnct or config.client_no_context_takeover,
        server_max_window_bits=15 if got.smwb is None else got.smwb,
        client_max_window_bits=cmwb,
    )
