"""The send half of the WebSocket machine: events in, frames queued.

Everything the application hands to :meth:`send` is checked before a byte is
queued, and a refusal (:class:`~sockit.errors.LocalProtocolError`) leaves the
connection as it was:

* messages only while OPEN (not after our close: RFC 6455 §5.5.1), and not
  while a message sent in fragments is unfinished;
* a text message must encode to UTF-8 (no lone surrogates); text sent as
  ``bytes`` fragments is validated incrementally, so a bad byte is refused in
  the fragment that carries it;
* control payloads at most 125 bytes; a close code one an endpoint may send
  (1000-1003, 1007-1014, 3000-4999; 1005 sends a close without a code) with
  a reason of at most 123 bytes of UTF-8.

Whole messages go out as one frame, compressed when permessage-deflate is
in force and the message has at least ``DeflateConfig.min_size`` bytes. A
message sent in fragments is compressed (every fragment flushed) whenever
permessage-deflate is in force: its size is not known up front.
"""

from __future__ import annotations

from typing import Final

from sockit.errors import LocalProtocolError
from sockit.proto.events import Event
from sockit.proto.ws._core import ConnectionState, Step
from sockit.proto.ws._receive import _Receiver
from sockit.proto.ws.events import (
    BytesMessage,
    CloseConnection,
    MessageFragment,
    Ping,
    Pong,
    TextMessage,
)
from sockit.proto.ws.frames import is_valid_close_code
from sockit.utf8 import InvalidUTF8, UTF8Decoder

__all__: list[str] = []

_OPEN: Final = ConnectionState.OPEN
_REMOTE_CLOSING: Final = ConnectionState.REMOTE_CLOSING
_TEXT: Final = 0x1
_BINARY: Final = 0x2
_PING: Final = 0x9
_PONG: Final = 0xA


class _Sender(_Receiver):
    """Turning sent events into frames (see the module docstring)."""

    __slots__ = ("_min_size", "_s_comp", "_s_op", "_s_utf8")

    _min_size: int  # messages shorter than this are sent uncompressed

    def _init_sender(self) -> None:
        self._s_op = 0  # the opcode of a message being sent in fragments (0: none)
        self._s_comp = False
        self._s_utf8 = UTF8Decoder()

    def send(self, event: Event) -> None:
        """Queue ``event``'s frames; see the module docstring for what is refused.

        Takes :class:`TextMessage`, :class:`BytesMessage`,
        :class:`MessageFragment`, :class:`Ping`, :class:`Pong` and
        :class:`CloseConnection`.
        """
        kind = type(event)
        if kind is BytesMessage or kind is TextMessage:
            if kind is TextMessage:
                assert isinstance(event, TextMessage)
                try:
                    payload = event.data.encode("utf-8")
                except UnicodeEncodeError:
                    raise LocalProtocolError("text is not encodable as UTF-8") from None
                opcode = _TEXT
            else:
                assert isinstance(event, BytesMessage)
                payload = event.data if type(event.data) is bytes else bytes(event.data)
                opcode = _BINARY
            self._check_message()
            deflate = self._deflate
            if deflate is not None and len(payload) >= self._min_size:
                self._emit(opcode, deflate.compress(payload), True, True)
            else:
                self._emit(opcode, payload)
        elif isinstance(event, MessageFragment):
            self._send_fragment(event)
        elif isinstance(event, (Ping, Pong)):
            payload = bytes(event.payload)
            if self._state is not _OPEN:
                raise LocalProtocolError(f"cannot send a ping or pong in state {self._state.name}")
            if len(payload) > 125:
                raise LocalProtocolError("a ping or pong payload is at most 125 bytes")
            if isinstance(event, Ping):
                self._emit(_PING, payload)
                self._track_ping(payload)
            else:
                self._emit(_PONG, payload)
        elif isinstance(event, CloseConnection):
            self._send_close(event.error_code, event.reason)
        else:
            raise LocalProtocolError(f"a WebSocket connection cannot send {kind.__name__}")

    def _check_message(self) -> None:
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot send a message in state {self._state.name}")
        if self._s_op:
            raise LocalProtocolError("a message sent in fragments is not finished")

    def _send_fragment(self, event: MessageFragment) -> None:
        data = event.data
        text = bool(event.text)
        if self._state is not _OPEN:
            raise LocalProtocolError(f"cannot send a message in state {self._state.name}")
        if isinstance(data, str):
            if not text:
                raise LocalProtocolError("str data in a binary fragment")
            try:
                raw = data.encode("utf-8")
            except UnicodeEncodeError:
                raise LocalProtocolError("text is not encodable as UTF-8") from None
        else:
            raw = bytes(data)
        first = not self._s_op
        if not first and text != (self._s_op == _TEXT):
            raise LocalProtocolError("a fragment's kind (text or binary) differs from its message")
        if text:
            decoder = self._s_utf8
            if first:
                decoder.reset()
            try:
                decoder.decode(raw, event.final)
            except InvalidUTF8 as exc:
                raise LocalProtocolError(f"text fragment is not UTF-8: {exc.message}") from None
        if first:
            self._s_op = _TEXT if text else _BINARY
            self._s_comp = self._deflate is not None
        opcode = self._s_op if first else 0
        deflate = self._deflate
        if self._s_comp and deflate is not None:
            raw = deflate.compress_fragment(raw, event.final)
        self._emit(opcode, raw, event.final, first and self._s_comp)
        if event.final:
            self._s_op = 0

    def _send_close(self, code: int, reason: str) -> None:
        if self._state is not _OPEN and self._state is not _REMOTE_CLOSING:
            raise LocalProtocolError(f"cannot send a close in state {self._state.name}")
        if code == 1005:
            if reason:
                raise LocalProtocolError("a close without a status code has no reason")
        elif not is_valid_close_code(code):
            raise LocalProtocolError(f"{code} is not a close code an endpoint may send")
        try:
            raw = reason.encode("utf-8")
        except UnicodeEncodeError:
            raise LocalProtocolError("the close reason is not encodable as UTF-8") from None
        if len(raw) > 123:
            raise LocalProtocolError("a close reason is at most 123 bytes of UTF-8")
        self._emit_close(code, reason)
        self._s_op = 0
        self._move(Step.SEND_CLOSE)

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        self._out = []
        return data
