"""HTTP/2 error codes and the two kinds of HTTP/2 error (RFC 9113 §5.4, §7).

RFC 9113 splits errors into *connection errors*, answered with GOAWAY and the
end of the connection, and *stream errors*, answered with RST_STREAM on one
stream while the connection carries on. The two exception classes mirror that
split so a connection can tell from the type alone which frame to send; both
are :class:`~sockit.errors.RemoteProtocolError` subclasses, so generic code
that only knows the shared hierarchy still catches them.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sockit.errors import RemoteProtocolError

if TYPE_CHECKING:
    from sockit.proto.http2.frames import Frame

__all__ = ["ErrorCode", "H2ConnectionError", "H2StreamError"]


class ErrorCode(enum.IntEnum):
    """The error codes of RFC 9113 §7, carried by RST_STREAM and GOAWAY.

    Frames hold error codes as plain ``int`` because a peer may send codes
    this enum does not know; they compare equal to the members here.
    """

    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    SETTINGS_TIMEOUT = 0x4
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    CONNECT_ERROR = 0xA
    ENHANCE_YOUR_CALM = 0xB
    INADEQUATE_SECURITY = 0xC
    HTTP_1_1_REQUIRED = 0xD


class H2ConnectionError(RemoteProtocolError):
    """The peer broke a rule that ends the whole connection (RFC 9113 §5.4.1).

    The connection answers with GOAWAY carrying :attr:`error_code`.
    """

    error_code: ErrorCode

    def __init__(self, message: str, error_code: ErrorCode = ErrorCode.PROTOCOL_ERROR) -> None:
        super().__init__(message, error_code=error_code, http_status=None)


class H2StreamError(RemoteProtocolError):
    """The peer broke a rule that ends one stream only (RFC 9113 §5.4.2).

    The connection answers with RST_STREAM carrying :attr:`error_code` on
    :attr:`stream_id` and keeps going. When the frame parser raises it, the
    offending frame has already been consumed; if that frame carried a field
    block (a HEADERS frame whose priority names its own stream), the parsed
    frame is kept in :attr:`frame` so the connection can still run the block
    through HPACK and keep its compression context in step with the peer's.
    """

    error_code: ErrorCode

    def __init__(
        self,
        message: str,
        stream_id: int,
        error_code: ErrorCode = ErrorCode.PROTOCOL_ERROR,
        *,
        frame: Frame | None = None,
    ) -> None:
        super().__init__(message, error_code=error_code, http_status=None)
        self.stream_id = stream_id
        self.frame = frame
