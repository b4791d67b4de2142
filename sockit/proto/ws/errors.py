"""WebSocket close codes and the errors that carry them.

Every refusal of peer input on an open WebSocket ends the connection with a
close code (RFC 6455 §7.4): :class:`WebSocketError` carries the code we
answer with in ``error_code`` (1002 protocol error, 1007 bad payload data,
1009 too big, ...). :class:`WebSocketLimitExceeded` is the flavour for a
configured bound of :class:`~sockit.limits.WSLimits`: it is also a
:class:`~sockit.errors.LimitExceeded` (``limit`` names the field, ``value``
the bound) and always closes with 1009.

:class:`~sockit.proto.ws.Connection` never lets these escape from
``receive_data``: it turns them into a ``ConnectionFailed`` event. They are
raised by the lower pieces (the deflate codec, the frame parser) and by the
opening handshake.

The handshake's own error (``HandshakeError``) is defined at the end of this
file, after the marker below.
"""

from __future__ import annotations

import enum

from sockit.errors import LimitExceeded, RemoteProtocolError

__all__ = ["CloseCode", "WebSocketError", "WebSocketLimitExceeded"]


class CloseCode(enum.IntEnum):
    """The close status codes of RFC 6455 §7.4.1 and the IANA registry."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    #: Never on the wire: a close frame arrived without a status code.
    NO_STATUS_RCVD = 1005
    #: Never on the wire: the transport ended without any close frame.
    ABNORMAL_CLOSURE = 1006
    INVALID_FRAME_PAYLOAD_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    #: Never on the wire: the TLS handshake failed.
    TLS_HANDSHAKE = 1015


class WebSocketError(RemoteProtocolError):
    """The peer broke RFC 6455/7692; ``error_code`` is the close code to answer with.

    The default is 1002 (protocol error); invalid UTF-8 or undecodable
    compressed data uses 1007.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: int | None = CloseCode.PROTOCOL_ERROR,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=http_status)


class WebSocketLimitExceeded(LimitExceeded, WebSocketError):
    """A :class:`~sockit.limits.WSLimits` bound was hit: close with 1009.

    ``limit`` names the field (``"max_message_size"``), ``value`` the bound.
    """

    def __init__(self, message: str, *, limit: str, value: int | float) -> None:
        super().__init__(
            message,
            limit=limit,
            value=value,
            error_code=CloseCode.MESSAGE_TOO_BIG,
            http_status=None,
        )


# ---- handshake errors (helper E appends HandshakeError below this line) ----


class HandshakeError(RemoteProtocolError):
    """The WebSocket opening handshake failed (RFC 6455 §4).

    On a server, ``http_status`` is the refusal to answer with (400, or 426
    for an unsupported ``Sec-WebSocket-Version``, 403 ...) and ``headers`` the
    fields that refusal must carry (``Sec-WebSocket-Version: 13`` with a 426).
    On a client it is raised for an invalid ``101`` (``http_status`` ``None``)
    or by drivers for a refusal (``http_status`` the server's status).
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = 400,
        error_code: int | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=http_status)
        self.headers = headers


__all__ += ["HandshakeError"]
