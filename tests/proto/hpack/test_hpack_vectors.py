"""The public hpack-test-case stories (../shared/vectors/hpack-test-case).

Every story of every implementation directory decodes, case by case with one
:class:`Decoder` per story, to exactly the recorded headers. A case's
``header_table_size`` (when present and not null) is the
SETTINGS_HEADER_TABLE_SIZE the encoder was told, i.e. the decoder's
:attr:`~Decoder.max_table_size` from that case on.

``raw-data`` holds the same stories without wire bytes: each is encoded with
our :class:`Encoder` and decoded both by our :class:`Decoder` and by the
``hpack`` library's, which must agree with the recorded headers.
"""

from __future__ import annotations

import json
from pathlib import Path

import hpack
import pytest

from sockit.proto.hpack import Decoder, Encoder

# Folder names are fixed by the upstream repository; the list keeps test ids
# stable and makes a missing folder a failure instead of a silent gap.
IMPLEMENTATIONS = (
    "go-hpack",
    "haskell-http2-linear-huffman",
    "nghttp2",
    "nghttp2-16384-4096",
    "nghttp2-change-table-size",
    "node-http2-hpack",
    "python-hpack",
    "swift-nio-hpack-huffman",
)


def stories(folder: Path) -> list[Path]:
    found = sorted(folder.glob("story_*.json"))
    assert found, f"no stories in {folder}"
    return found


def expected(case: dict[str, object]) -> list[tuple[bytes, bytes]]:
    headers = case["headers"]
    assert isinstance(headers, list)
    return [(k.encode(), v.encode()) for item in headers for k, v in item.items()]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_every_story_decodes(vectors_dir: Path, implementation: str) -> None:
    folder = vectors_dir / "hpack-test-case" / implementation
    checked = 0
    for path in stories(folder):
        decoder = Decoder()
        for case in json.loads(path.read_text())["cases"]:
            if case.get("header_table_size") is not None:  # swift-nio writes null
                decoder.max_table_size = case["header_table_size"]
            got = decoder.decode(bytes.fromhex(case["wire"]))
            assert got == expected(case), f"{path.name} seqno {case['seqno']}"
            checked += 1
    assert checked > 100


def test_raw_data_round_trips_through_us_and_hpack(vectors_dir: Path) -> None:
    folder = vectors_dir / "hpack-test-case" / "raw-data"
    total_in = total_out = 0
    for path in stories(folder):
        encoder, ours, theirs = Encoder(), Decoder(), hpack.Decoder()
        for case in json.loads(path.read_text())["cases"]:
            headers = expected(case)
            block = encoder.encode(headers)
            assert ours.decode(block) == headers, path.name
            assert [tuple(f) for f in theirs.decode(block, raw=True)] == headers, path.name
            total_in += sum(len(n) + len(v) for n, v in headers)
            total_out += len(block)
    # the encoder compresses: real request/response streams shrink a lot
    assert total_out < total_in / 2
