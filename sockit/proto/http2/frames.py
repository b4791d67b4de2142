"""HTTP/2 frames: their types, parsing and serialization (RFC 9113 §4, §6).

::

    from sockit.proto.http2.frames import FrameParser, DataFrame, serialize

    parser = FrameParser()
    parser.feed(serialize(DataFrame(1, b"hello", end_stream=True)))
    for frame in parser:
        ...

The definitions live in ``_model``, the parser in ``_parse`` and the writer in
``_serialize``; this module is the one to import from.
"""

from sockit.proto.http2._model import (
    PREFACE,
    ContinuationFrame,
    DataFrame,
    Flag,
    Frame,
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
)
from sockit.proto.http2._parse import FrameParser
from sockit.proto.http2._serialize import serialize, serialize_data, serialize_headers

__all__ = [
    "PREFACE",
    "ContinuationFrame",
    "DataFrame",
    "Flag",
    "Frame",
    "FrameParser",
    "FrameType",
    "GoAwayFrame",
    "HeadersFrame",
    "PingFrame",
    "Priority",
    "PriorityFrame",
    "PushPromiseFrame",
    "RstStreamFrame",
    "SettingsFrame",
    "UnknownFrame",
    "WindowUpdateFrame",
    "serialize",
    "serialize_data",
    "serialize_headers",
]
