"""Events of the WebSocket machine (:class:`sockit.proto.ws.Connection`).

The same classes go both ways: ``receive_data`` returns them and ``send``
takes them. Whole messages are :class:`TextMessage` and
:class:`BytesMessage`; with ``stream_messages=True`` every data frame comes
out as a :class:`MessageFragment` instead, and an application may send a
message as a series of fragments whatever that setting.

:class:`CloseConnection` and :class:`ConnectionFailed` are both
:class:`~sockit.proto.events.ConnectionTerminated`: ``error_code`` is the
close code (``code`` is an alias), ``reason`` its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sockit.proto.events import ConnectionTerminated, DataReceived, Event

__all__ = [
    "BytesMessage",
    "CloseConnection",
    "ConnectionFailed",
    "MessageFragment",
    "Ping",
    "Pong",
    "TextMessage",
]


@dataclass(frozen=True, slots=True)
class TextMessage(Event):
    """A whole text message (already validated UTF-8, decoded)."""

    data: str


@dataclass(frozen=True, slots=True)
class BytesMessage(DataReceived):
    """A whole binary message."""


@dataclass(frozen=True, slots=True)
class MessageFragment(Event):
    """One frame's share of a message, for streaming.

    Received (``stream_messages=True``): ``data`` is ``str`` for a text
    message (the characters completed so far; a multi-byte character split
    across frames comes out with the frame that completes it) and ``bytes``
    for a binary one; ``final`` marks the message's last fragment. Sent: the
    first fragment starts a message of the kind ``text`` says (``data`` may
    then be ``str``, or UTF-8 ``bytes`` cut anywhere), later ones continue it
    until one with ``final=True``.
    """

    data: bytes | str
    text: bool
    final: bool


@dataclass(frozen=True, slots=True)
class Ping(Event):
    """A ping (received: the pong is already queued when ``auto_pong`` is on)."""

    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Pong(Event):
    """A pong, answering a ping or unsolicited (a heartbeat)."""

    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class CloseConnection(ConnectionTerminated):
    """The close handshake: ``CloseConnection(code, reason)``.

    Received: the peer sent a close frame (code 1005 when it carried no
    status code). If we had not closed yet, our reply (the same code, or an
    empty close answering an empty one) is already queued; the connection is
    CLOSED. Received with code 1006: the transport ended without a close
    frame; nothing is queued. Sent: starts the close handshake (code 1005
    sends a close frame without a status code).
    """

    error_code: int = 1000
    reason: str = ""

    @property
    def code(self) -> int:
        """The close code (the same as ``error_code``)."""
        return self.error_code


@dataclass(frozen=True, slots=True)
class ConnectionFailed(ConnectionTerminated):
    """We failed the connection (RFC 6455 §7.1.7): the peer broke a rule or a limit.

    The close frame carrying ``code`` (1002, 1007, 1009, 1011 ...) is already
    queued (unless our close was sent before) and the connection is CLOSED:
    flush, then close the transport.
    Events completed before the failure come before this one.
    """

    error_code: int = 1002
    reason: str = ""

    @property
    def code(self) -> int:
        """The close code we sent (the same as ``error_code``)."""
        return self.error_code


# Cheap constructors for the receive path: a frozen dataclass's __init__ goes
# through object.__setattr__ per field; the slot descriptors do not.
_new: Final = object.__new__
_set_data: Final = vars(DataReceived)["data"].__set__
_set_text: Final = vars(TextMessage)["data"].__set__


def make_bytes(data: bytes) -> BytesMessage:
    """A :class:`BytesMessage` without the frozen-dataclass __init__."""
    event: BytesMessage = _new(BytesMessage)
    _set_data(event, data)
    return event


def make_text(data: str) -> TextMessage:
    """A :class:`TextMessage` without the frozen-dataclass __init__."""
    event: TextMessage = _new(TextMessage)
    _set_text(event, data)
    return event
