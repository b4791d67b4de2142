"""WebSocket (RFC 6455) with permessage-deflate (RFC 7692), sans-I/O.

::

    from sockit.proto.events import Role
    from sockit.proto.ws import Connection, TextMessage

    conn = Connection(Role.SERVER)
    for event in conn.receive_data(chunk):
        if isinstance(event, TextMessage):
            conn.send(TextMessage(event.data))
    out = conn.data_to_send()

The framing machine is :class:`Connection` (``connection.py``), its events
are in ``events.py``, frames and masking in ``frames.py``, the
permessage-deflate codec in ``deflate.py`` and close codes and errors in
``errors.py``. The opening handshake and the extension negotiation are in
``handshake*.py`` and ``extensions.py``.
"""

from sockit.proto.ws.connection import Connection, ConnectionState
from sockit.proto.ws.deflate import PerMessageDeflate
from sockit.proto.ws.errors import CloseCode, WebSocketError, WebSocketLimitExceeded
from sockit.proto.ws.events import (
    BytesMessage,
    CloseConnection,
    ConnectionFailed,
    MessageFragment,
    Ping,
    Pong,
    TextMessage,
)
from sockit.proto.ws.extensions import (
    DeflateConfig,
    DeflateParams,
    Extension,
    accept_deflate_response,
    deflate_offer,
    format_extension,
    negotiate_deflate,
    parse_extensions,
    parse_subprotocols,
)
from sockit.proto.ws.frames import (
    Frame,
    FrameParser,
    Opcode,
    is_valid_close_code,
    mask_bytes,
    serialize_frame,
)
from sockit.proto.ws.handshake import (
    AcceptConnection,
    HandshakeAccepted,
    HandshakeClosed,
    HandshakeError,
    HandshakeRejected,
    HandshakeRequest,
    HandshakeState,
    RejectConnection,
    WebSocketRequest,
    accept_key,
)
from sockit.proto.ws.handshake_client import ClientHandshake
from sockit.proto.ws.handshake_server import (
    ServerHandshake,
    accept_headers,
    reject_response,
    validate_request,
)

__all__ = [
    "AcceptConnection",
    "BytesMessage",
    "ClientHandshake",
    "CloseCode",
    "CloseConnection",
    "Connection",
    "ConnectionFailed",
    "ConnectionState",
    "DeflateConfig",
    "DeflateParams",
    "Extension",
    "Frame",
    "FrameParser",
    "HandshakeAccepted",
    "HandshakeClosed",
    "HandshakeError",
    "HandshakeRejected",
    "HandshakeRequest",
    "HandshakeState",
    "MessageFragment",
    "Opcode",
    "PerMessageDeflate",
    "Ping",
    "Pong",
    "RejectConnection",
    "ServerHandshake",
    "TextMessage",
    "WebSocketError",
    "WebSocketLimitExceeded",
    "WebSocketRequest",
    "accept_deflate_response",
    "accept_headers",
    "accept_key",
    "deflate_offer",
    "format_extension",
    "is_valid_close_code",
    "mask_bytes",
    "negotiate_deflate",
    "parse_extensions",
    "parse_subprotocols",
    "reject_response",
    "serialize_frame",
    "validate_request",
]
