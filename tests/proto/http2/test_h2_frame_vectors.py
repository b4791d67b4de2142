"""The public http2-frame-test-case vectors against FrameParser and serialize.

Normal cases: the wire decodes to the recorded fields (padding content is not
kept, padding length is) and serializing the decoded frame gives the wire
back, except for the padding octets, which the vectors fill with text and we
write as zeros. Error cases: decoding raises an HTTP/2 error whose code is
one of those listed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sockit.proto.http2 import (
    ContinuationFrame,
    DataFrame,
    FrameParser,
    GoAwayFrame,
    H2ConnectionError,
    H2StreamError,
    HeadersFrame,
    PingFrame,
    Priority,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
    serialize,
)

SUITE = "http2-frame-test-case"
_HERE_VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors" / SUITE
CASES = sorted(p.relative_to(_HERE_VECTORS).as_posix() for p in _HERE_VECTORS.glob("*/*.json"))
if not CASES:  # the vectors_dir fixture decides whether that is a skip or a failure
    CASES = ["<vectors missing>"]

NORMAL = [c for c in CASES if not c.startswith("error/")]
ERRORS = [c for c in CASES if c.startswith("error/") or c.startswith("<")]

CLASSES: dict[int, type] = {
    0: DataFrame,
    1: HeadersFrame,
    2: PriorityFrame,
    3: RstStreamFrame,
    4: SettingsFrame,
    5: PushPromiseFrame,
    6: PingFrame,
    7: GoAwayFrame,
    8: WindowUpdateFrame,
    9: ContinuationFrame,
}


def load(vectors_dir: Path, name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((vectors_dir / SUITE / name).read_text())
    return case


def decode_one(wire: bytes) -> object:
    parser = FrameParser()
    parser.feed(wire)
    frame = parser.next_frame()
    assert frame is not None, "a complete frame was not recognised"
    assert parser.buffered == 0
    assert parser.next_frame() is None
    return frame


def expected_priority(payload: dict[str, Any]) -> Priority | None:
    if payload.get("stream_dependency") is None:
        return None
    return Priority(payload["stream_dependency"], payload["weight"], payload["exclusive"])


def check_fields(frame: object, ftype: int, payload: dict[str, Any]) -> None:
    """Every recorded payload field equals the decoded one."""
    text = {k: v.encode() for k, v in payload.items() if isinstance(v, str)}
    if ftype == 0:
        assert isinstance(frame, DataFrame)
        assert frame.data == text["data"]
        assert frame.pad_length == payload.get("padding_length")
    elif ftype == 1:
        assert isinstance(frame, HeadersFrame)
        assert frame.block == text["header_block_fragment"]
        assert frame.pad_length == payload.get("padding_length")
        assert frame.priority == expected_priority(payload)
    elif ftype == 2:
        assert isinstance(frame, PriorityFrame)
        assert frame.priority == expected_priority(payload)
        assert payload.get("padding_length") is None
    elif ftype == 3:
        assert isinstance(frame, RstStreamFrame)
        assert frame.error_code == payload["error_code"]
    elif ftype == 4:
        assert isinstance(frame, SettingsFrame)
        assert frame.settings == tuple(tuple(p) for p in payload["settings"])
    elif ftype == 5:
        assert isinstance(frame, PushPromiseFrame)
        assert frame.promised_stream_id == payload["promised_stream_id"]
        assert frame.block == text["header_block_fragment"]
        assert frame.pad_length == payload.get("padding_length")
    elif ftype == 6:
        assert isinstance(frame, PingFrame)
        assert frame.opaque == text["opaque_data"]
    elif ftype == 7:
        assert isinstance(frame, GoAwayFrame)
        assert frame.last_stream_id == payload["last_stream_id"]
        assert frame.error_code == payload["error_code"]
        assert frame.debug_data == text["additional_debug_data"]
    elif ftype == 8:
        assert isinstance(frame, WindowUpdateFrame)
        assert frame.increment == payload["window_size_increment"]
    elif ftype == 9:
        assert isinstance(frame, ContinuationFrame)
        assert frame.block == text["header_block_fragment"]
    else:  # pragma: no cover - the suite only has the ten RFC types
        pytest.fail(f"unexpected frame type {ftype}")


@pytest.mark.parametrize("name", NORMAL)
def test_normal_case_decodes_and_reencodes(vectors_dir: Path, name: str) -> None:
    case = load(vectors_dir, name)
    assert case["error"] is None
    expected = case["frame"]
    wire = bytes.fromhex(case["wire"])

    frame = decode_one(wire)
    assert type(frame) is CLASSES[expected["type"]]
    assert frame.stream_id == expected["stream_identifier"]  # type: ignore[attr-defined]
    check_fields(frame, expected["type"], expected["frame_payload"])

    out = serialize(frame)  # type: ignore[arg-type]
    assert len(out) == len(wire) == 9 + expected["length"]
    assert out[:9] == wire[:9]  # length, type, flags, stream id
    pad = expected["frame_payload"].get("padding_length") or 0
    assert out[: len(out) - pad] == wire[: len(wire) - pad]
    assert out[len(out) - pad :] == bytes(pad)  # we pad with zeros


@pytest.mark.parametrize("name", NORMAL)
def test_normal_case_byte_by_byte(vectors_dir: Path, name: str) -> None:
    case = load(vectors_dir, name)
    wire = bytes.fromhex(case["wire"])
    parser = FrameParser()
    for i in range(len(wire) - 1):
        parser.feed(wire[i : i + 1])
        assert parser.next_frame() is None
    parser.feed(wire[-1:])
    assert parser.next_frame() == decode_one(wire)


@pytest.mark.parametrize("name", ERRORS)
def test_error_case_raises_listed_code(vectors_dir: Path, name: str) -> None:
    case = load(vectors_dir, name)
    assert case["frame"] is None
    codes = case["error"]
    parser = FrameParser()
    parser.feed(bytes.fromhex(case["wire"]))
    with pytest.raises((H2ConnectionError, H2StreamError)) as info:
        parser.next_frame()
    assert info.value.error_code in codes, f"{info.value!r} not in {codes}"
