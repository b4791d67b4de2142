"""HTTP/2 (RFC 9113) as a sans-I/O protocol: frames, settings, errors.

``frames`` parses and writes the wire format, ``settings`` holds the SETTINGS
parameters and their rules, ``errors`` the RFC 9113 error codes and the two
kinds of HTTP/2 error (connection and stream).
"""

from sockit.proto.http2.config import H2Config
from sockit.proto.http2.connection import Connection, settings_header
from sockit.proto.http2.errors import ErrorCode, H2ConnectionError, H2StreamError
from sockit.proto.http2.events import (
    ConnectionClosed,
    ConnectionFailed,
    Data,
    GoAwayReceived,
    InformationalResponse,
    PingAcknowledged,
    PingReceived,
    PushPromise,
    Request,
    ResetStream,
    Response,
    SettingsAcknowledged,
    SettingsReceived,
    StreamEnded,
    StreamReset,
    Trailers,
    WindowUpdated,
)
from sockit.proto.http2.floods import FLOOD_STATS, H2FloodError
from sockit.proto.http2.flow import SendBufferFull
from sockit.proto.http2.frames import (
    PREFACE,
    ContinuationFrame,
    DataFrame,
    Flag,
    Frame,
    FrameParser,
    FrameType,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    Priority,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    UnknownFrame,
    WindowUpdateFrame,
    serialize,
    serialize_data,
    serialize_headers,
)
from sockit.proto.http2.settings import SettingCode, Settings, validate_setting
from sockit.proto.http2.state import ConnectionState, StreamState
from sockit.proto.http2.validate import MalformedHeaders

__all__ = [
    "PREFACE",
    "ContinuationFrame",
    "DataFrame",
    "ErrorCode",
    "Flag",
    "Frame",
    "FrameParser",
    "FrameType",
    "GoAwayFrame",
    "H2ConnectionError",
    "H2StreamError",
    "HeadersFrame",
    "PingFrame",
    "Priority",
    "PriorityFrame",
    "PushPromiseFrame",
    "RstStreamFrame",
    "SettingCode",
    "Settings",
    "SettingsFrame",
    "UnknownFrame",
    "WindowUpdateFrame",
    "serialize",
    "serialize_data",
    "serialize_headers",
    "validate_setting",
    # the connection
    "FLOOD_STATS",
    "Connection",
    "ConnectionClosed",
    "ConnectionFailed",
    "ConnectionState",
    "Data",
    "GoAwayReceived",
    "H2Config",
    "H2FloodError",
    "InformationalResponse",
    "MalformedHeaders",
    "PingAcknowledged",
    "PingReceived",
    "PushPromise",
    "Request",
    "ResetStream",
    "Response",
    "SendBufferFull",
    "SettingsAcknowledged",
    "SettingsReceived",
    "StreamEnded",
    "StreamReset",
    "StreamState",
    "Trailers",
    "WindowUpdated",
    "settings_header",
]
