"""HTTP/2 (RFC 9113) as a sans-I/O protocol: frames, settings, errors.

``frames`` parses and writes the wire format, ``settings`` holds the SETTINGS
parameters and their rules, ``errors`` the RFC 9113 error codes and the two
kinds of HTTP/2 error (connection and stream).
"""

from sockit.proto.http2.errors import ErrorCode, H2ConnectionError, H2StreamError
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
]
