"""TLS between a :class:`~sockit.net.channel.Channel`'s socket and its machine.

The channel stays protocol-agnostic: with a :class:`TLSLayer` set, every read
is decrypted before the machine sees it and every byte the machine (or a
file segment) produces is encrypted before it is queued. Protocol switches
(HTTP/2, WebSocket) replace the machine above the layer; the layer stays.

An EOF without ``close_notify`` after the handshake is passed on as a plain
EOF ("ragged EOF"), as servers commonly do: HTTP's own framing already tells
a truncated message from a complete one. An EOF during the handshake, a
failed verification or garbage records raise the engine's
:class:`~sockit.errors.TLSError`; the alert the engine queued is in
:meth:`TLSLayer.output` for the caller to flush before closing.
"""

from __future__ import annotations

from typing import Final

from sockit.errors import TLSError
from sockit.proto.tls import CloseNotify, HandshakeComplete, TLSConnection, TLSData

__all__ = ["TLSLayer"]

_EMPTY: Final = b""


class TLSLayer:
    """One :class:`TLSConnection` used as a channel's transport filter."""

    __slots__ = ("conn", "handshake", "peer_closed")

    def __init__(self, conn: TLSConnection) -> None:
        self.conn = conn
        #: The :class:`HandshakeComplete` event once the handshake is done.
        self.handshake: HandshakeComplete | None = None
        #: Whether the peer sent close_notify (what follows is EOF to the machine).
        self.peer_closed = False

    @property
    def alpn_protocol(self) -> str | None:
        """The negotiated ALPN protocol (``None`` before the handshake or without ALPN)."""
        return self.conn.alpn_protocol

    def decrypt(self, data: bytes | memoryview) -> bytes:
        """Feed ciphertext; the plaintext it completes (``b""`` if none yet)."""
        events = self.conn.receive_data(data)
        if not events:
            return _EMPTY
        parts: list[bytes] = []
        for event in events:
            kind = type(event)
            if kind is TLSData:
                assert isinstance(event, TLSData)
                parts.append(event.data)
            elif kind is HandshakeComplete:
                assert isinstance(event, HandshakeComplete)
                self.handshake = event
            elif kind is CloseNotify:
                self.peer_closed = True
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def eof(self) -> None:
        """The transport ended; refuses only an EOF in the middle of the handshake."""
        try:
            self.conn.receive_eof()
        except TLSError:
            if self.handshake is None:
                raise
            # ragged EOF after the handshake: HTTP framing judges truncation

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext``; returns every record now queued (handshake bytes too)."""
        conn = self.conn
        if plaintext:
            conn.send_data(plaintext)
        return conn.data_to_send()

    def output(self) -> bytes:
        """Records the engine queued on its own (handshake flights, alerts, tickets)."""
        return self.conn.data_to_send()

    def close(self) -> bytes:
        """Queue our close_notify; the records to send."""
        self.conn.close()
        return self.conn.data_to_send()
