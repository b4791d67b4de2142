"""The permessage-deflate codec (RFC 7692 §7.2) for one connection.

Negotiation lives in :mod:`sockit.proto.ws.extensions`; this module does the
compressing and inflating once :class:`DeflateParams` are agreed. Which
parameters apply to which direction follows the role: a server compresses
under the ``server_*`` parameters and inflates under the ``client_*`` ones, a
client the other way round.

* **Compressing** a message: DEFLATE it, flush with ``Z_SYNC_FLUSH`` (the
  output then ends with the empty stored block ``00 00 ff ff``), and remove
  those four bytes (§7.2.1). When *our* ``no_context_takeover`` applies the
  flush is ``Z_FULL_FLUSH`` instead, which also forgets the window, so the
  next message never refers back (cheaper than a new compressor: no
  allocation). A fragmented send flushes after every fragment so each frame
  can be inflated as it arrives; only the last one has its tail removed.
* **Inflating** a message: feed each frame's payload as it arrives, and after
  the last frame the four bytes ``00 00 ff ff`` (§7.2.2). Every call to
  zlib passes ``max_length`` = what is left of ``max_message_size`` plus one,
  so a compression bomb stops after producing at most the cap plus one byte:
  the inflated size is checked *while* inflating, never after.
  :class:`WebSocketLimitExceeded` (1009) reports it. When *their*
  ``no_context_takeover`` applies, a fresh inflater starts every message, so
  a peer that breaks its promise and refers back fails (1007) instead of
  being silently accepted. A stream the peer ended (a block with BFINAL set)
  also gets a fresh inflater for the next message; data after that end
  within the same message is refused (1007), as is anything zlib rejects.

Window bits: zlib cannot *compress* raw DEFLATE with an 8-bit (256-byte)
window (``deflateInit2`` refuses ``-8``), so an agreed window of 8 for our
direction compresses with 9, as other zlib-based implementations do
(``extensions.negotiate_deflate`` avoids agreeing to 8 for that reason).
zlib *inflates* with ``-8``, but a zlib-based peer that agreed to 8 really
uses 9 and may refer up to 512 bytes back across messages, so we inflate
with at least 9 bits; a larger window than agreed is harmless for inflating.
"""

from __future__ import annotations

import zlib
from typing import Final

from sockit.proto.events import Role
from sockit.proto.ws.errors import CloseCode, WebSocketError, WebSocketLimitExceeded
from sockit.proto.ws.extensions import DeflateParams

__all__ = ["PerMessageDeflate"]

#: The empty stored block that ends a sync flush; removed and re-appended (§7.2).
TAIL: Final = b"\x00\x00\xff\xff"

_SYNC: Final = zlib.Z_SYNC_FLUSH
_FULL: Final = zlib.Z_FULL_FLUSH


class PerMessageDeflate:
    """Compress outgoing and inflate incoming messages for one connection.

    ``level`` is the zlib level (0-9); ``max_message_size`` caps the inflated
    size of one message (``WSLimits.max_message_size``).
    """

    __slots__ = (
        "_compressor",
        "_flush",
        "_inflated",
        "_inflater",
        "_level",
        "_max_message_size",
        "_our_bits",
        "_reset_inflater",
        "_their_bits",
        "params",
        "role",
    )

    def __init__(
        self,
        params: DeflateParams,
        role: Role,
        *,
        level: int = 6,
        max_message_size: int,
    ) -> None:
        self.params = params
        self.role = role
        if role is Role.SERVER:
            ours_nct = params.server_no_context_takeover
            theirs_nct = params.client_no_context_takeover
            our_bits = params.server_max_window_bits
            their_bits = params.client_max_window_bits
        else:
            ours_nct = params.client_no_context_takeover
            theirs_nct = params.server_no_context_takeover
            our_bits = params.client_max_window_bits
            their_bits = params.server_max_window_bits
        self._our_bits = max(our_bits, 9)
        self._their_bits = max(their_bits, 9)
        self._flush = _FULL if ours_nct else _SYNC
        self._reset_inflater = theirs_nct
        self._level = level
        self._max_message_size = max_message_size
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -self._our_bits)
        self._inflater = zlib.decompressobj(-self._their_bits)
        self._inflated = 0

    # -- sending --------------------------------------------------------------------

    def compress(self, payload: bytes | bytearray | memoryview) -> bytes:
        """The payload of a whole compressed message (RSV1 set on its frame)."""
        c = self._compressor
        out = c.compress(payload) + c.flush(self._flush)
        return out[:-4] if out.endswith(TAIL) else out

    def compress_fragment(self, data: bytes | bytearray | memoryview, final: bool) -> bytes:
        """The payload of one frame of a message sent in fragments.

        Every fragment is flushed so the peer can inflate it on arrival; the
        last one (``final``) is flushed like :meth:`compress` and loses the tail.
        """
        c = self._compressor
        if not final:
            return c.compress(data) + c.flush(_SYNC)
        out = c.compress(data) + c.flush(self._flush)
        return out[:-4] if out.endswith(TAIL) else out

    # -- receiving ------------------------------------------------------------------

    @property
    def inflated(self) -> int:
        """Bytes inflated so far in the message being received."""
        return self._inflated

    def decompress(self, fragment: bytes | bytearray | memoryview, final: bool) -> bytes:
        """Inflate the next piece of a compressed message's payload.

        ``fragment`` is a frame's payload or any piece of it, in order;
        ``final`` marks the end of the message's last frame (the tail is
        appended then). Raises :class:`WebSocketLimitExceeded` (1009) as soon
        as the message inflates past ``max_message_size``, and
        :class:`WebSocketError` (1007) for data zlib refuses; either way the
        codec must not be used again.
        """
        d = self._inflater
        out = b""
        if fragment:
            if d.eof:
                raise WebSocketError(
                    "compressed data after the end of the DEFLATE stream",
                    error_code=CloseCode.INVALID_FRAME_PAYLOAD_DATA,
                )
            out = self._inflate(d, fragment)
        if final:
            if not d.eof:
                tail = self._inflate(d, TAIL)
                out = out + tail if out else tail
            self._inflated = 0
            if self._reset_inflater or d.eof:
                self._inflater = zlib.decompressobj(-self._their_bits)
        return out

    def _inflate(self, d: zlib._Decompress, data: bytes | bytearray | memoryview) -> bytes:
        allowed = self._max_message_size - self._inflated
        try:
            out = d.decompress(data, allowed + 1)
        except zlib.error as exc:
            raise WebSocketError(
                f"invalid compressed data: {exc}",
                error_code=CloseCode.INVALID_FRAME_PAYLOAD_DATA,
            ) from None
        if len(out) > allowed:
            raise WebSocketLimitExceeded(
                f"message inflates past max_message_size {self._max_message_size}",
                limit="max_message_size",
                value=self._max_message_size,
            )
        if d.unused_data and not (d.eof and data is TAIL):
            raise WebSocketError(
                "compressed data after the end of the DEFLATE stream",
                error_code=CloseCode.INVALID_FRAME_PAYLOAD_DATA,
            )
        self._inflated += len(out)
        return out
