"""ChunkBuffer against a bytearray model: any appends and takes give the same bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sockit.proto.tls._fast_buffer import ChunkBuffer

ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.binary(max_size=40)),
        st.tuples(st.just("take"), st.integers(-2, 100)),
        st.tuples(st.just("head"), st.just(0)),
        st.tuples(st.just("some"), st.integers(-2, 100)),
    ),
    max_size=60,
)


@given(ops)
def test_chunk_buffer_matches_a_bytearray(steps: list[tuple[str, object]]) -> None:
    buf, model = ChunkBuffer(), bytearray()
    for op, arg in steps:
        if op == "append":
            assert isinstance(arg, bytes)
            buf.append(arg)
            model += arg
        elif op == "take":
            assert isinstance(arg, int)
            n = max(0, min(arg, len(model)))
            assert buf.take(arg) == bytes(model[:n])
            del model[:n]
        elif op == "some":
            assert isinstance(arg, int)
            head = buf.head_size()
            got = buf.take_some(arg)
            n = max(0, min(arg, head))
            assert got == bytes(model[:n])
            del model[:n]
        else:
            head = buf.head_size()
            assert (head > 0) == (len(model) > 0) and head <= len(model)
        assert len(buf) == len(model)


def test_whole_chunks_are_handed_over_without_copying() -> None:
    buf = ChunkBuffer()
    chunk = bytes(range(200)) * 10
    buf.append(chunk)
    buf.append(b"")
    buf.append(b"tail")
    assert buf.head_size() == len(chunk)
    assert buf.take_some(len(chunk) + 1) is chunk
    assert buf.take(1) == b"t" and buf.head_size() == 3
    assert buf.take_some(2) == b"ai" and buf.take_some(0) == b""
    buf.append(b"l")
    assert buf.take(10) == b"ll" and not buf and buf.take(5) == b""
    assert buf.take_some(5) == b""
