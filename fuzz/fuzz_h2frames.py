"""atheris harness: the HTTP/2 frame parser (``sockit.proto.http2.frames``).

Property: arbitrary bytes, delivered in one to three cuts chosen by the
fuzzer, either parse into frames or raise a ``SockitError`` subclass (a stream
error lets parsing go on; a connection error ends it). Every frame parsed
serializes to bytes that parse back to an equal frame, and the same input fed
whole gives the same frames and the same final error. Any other exception, or
a broken round trip, is a crash.
"""

import itertools
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.proto.http2.errors import H2ConnectionError, H2StreamError
    from sockit.proto.http2.frames import FrameParser, serialize

# control byte 0 picks the advertised SETTINGS_MAX_FRAME_SIZE
MAX_SIZES = (16384, 16385, 65536, 2**24 - 1)


def run(chunks: list[bytes], max_frame_size: int) -> tuple[list[object], object]:
    """Frames and stream errors in order, then the connection error (or None)."""
    parser = FrameParser(max_frame_size)
    seen: list[object] = []
    try:
        for chunk in chunks:
            parser.feed(chunk)
            while True:
                try:
                    frame = parser.next_frame()
                except H2StreamError as exc:
                    seen.append(("stream error", exc.stream_id, exc.error_code))
                    continue
                if frame is None:
                    break
                seen.append(frame)
    except H2ConnectionError as exc:
        return seen, exc.error_code
    return seen, None


def check_round_trip(frame: object, max_frame_size: int) -> None:
    parser = FrameParser(max_frame_size)
    parser.feed(serialize(frame))  # type: ignore[arg-type]
    again = parser.next_frame()
    if again != frame or parser.buffered:
        raise RuntimeError(f"round trip changed {frame!r} into {again!r}")


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    # a 6-byte control block keeps seed files readable:
    # max frame size choice, cut count, two 16-bit cut offsets
    ctrl = fdp.ConsumeBytes(6).ljust(6, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    max_frame_size = MAX_SIZES[ctrl[0] % len(MAX_SIZES)]
    ncuts = 1 + ctrl[1] % 3
    offsets = [int.from_bytes(ctrl[2:4], "big"), int.from_bytes(ctrl[4:6], "big")]
    cuts = sorted(o % (len(data) + 1) for o in offsets[: ncuts - 1])
    bounds = [0, *cuts, len(data)]
    try:
        split = run([data[a:b] for a, b in itertools.pairwise(bounds)], max_frame_size)
    except SockitError as exc:  # only the H2 errors above are expected
        raise RuntimeError(f"unexpected {exc!r}") from exc
    if split != run([data], max_frame_size):
        raise RuntimeError("cutting the input changed the frames")
    for item in split[0]:
        if not isinstance(item, tuple):
            check_round_trip(item, max_frame_size)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
