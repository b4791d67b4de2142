"""Tests for sockit.buffer: ReceiveBuffer and WriteQueue against simple bytes models."""

from __future__ import annotations

import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sockit.buffer import ReceiveBuffer, WriteQueue
from sockit.errors import LimitExceeded, RemoteProtocolError
from sockit.limits import BufferLimits
from tests.support.feeding import splits


class SmallCompactBuffer(ReceiveBuffer):
    """Compacts early so short hypothesis runs exercise the compaction path."""

    compact_threshold = 8


def storage(buf: ReceiveBuffer) -> bytearray:
    """The backing bytearray (white-box: only for storage-size and zeroing checks)."""
    return buf._buf


# -- ReceiveBuffer: basics ----------------------------------------------------------


def test_append_len_bool_bytes() -> None:
    assert ReceiveBuffer().max_size == BufferLimits().max_receive_buffer
    buf = ReceiveBuffer(100)
    assert (len(buf), bool(buf)) == (0, False)
    buf.append(b"abc")
    buf.append(bytearray(b"de"))
    buf.append(memoryview(b"xfgx")[1:3])
    assert (len(buf), bool(buf), bytes(buf)) == (7, True, b"abcdefg")


def test_append_counts_bytes_of_wide_memoryview() -> None:
    wide = memoryview(array.array("H", [1, 2, 3]))  # 3 items, 6 bytes
    with pytest.raises(LimitExceeded):
        ReceiveBuffer(5).append(wide)
    buf = ReceiveBuffer(6)
    buf.append(wide)
    assert bytes(buf) == wide.tobytes()


@pytest.mark.parametrize(("value", "exc"), [(0, ValueError), (-1, ValueError), (True, TypeError)])
def test_max_size_is_validated(value: int, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        ReceiveBuffer(value)


def test_append_up_to_max_size_then_refuse_without_change() -> None:
    buf = ReceiveBuffer(10)
    buf.append(b"0123456789")
    buf.append(b"")  # empty input is never refused
    with pytest.raises(LimitExceeded) as info:
        buf.append(b"x")
    assert info.value.limit == "max_receive_buffer"
    assert info.value.value == 10
    assert isinstance(info.value, RemoteProtocolError)
    assert bytes(buf) == b"0123456789"
    buf.skip(4)  # only unread bytes count
    buf.append(b"abcd")
    assert bytes(buf) == b"456789abcd"


def test_refused_append_keeps_partial_line_search_consistent() -> None:
    buf = ReceiveBuffer(8)
    buf.append(b"abc\r")
    assert buf.readline(10) is None
    with pytest.raises(LimitExceeded):
        buf.append(b"\nXXXXXX")
    assert bytes(buf) == b"abc\r"
    buf.append(b"\n")
    assert buf.readline(10) == b"abc\r\n"
    assert len(buf) == 0


def test_peek_is_at_most_n_and_consume_skip_are_exact() -> None:
    buf = ReceiveBuffer()
    buf.append(b"hello world")
    assert (buf.peek(2), buf.peek(99), buf.peek(0)) == (b"he", b"hello world", b"")
    with pytest.raises(ValueError):
        buf.peek(-1)
    assert buf.consume(5) == b"hello"
    buf.skip(1)
    with pytest.raises(ValueError, match="only 5 buffered"):
        buf.consume(6)
    with pytest.raises(ValueError):
        buf.skip(6)
    with pytest.raises(ValueError):
        buf.consume(-1)
    assert bytes(buf) == b"world"
    assert buf.consume(0) == b""
    assert buf.consume(5) == b"world"
    assert not buf


def test_large_consume_and_bytes_copy_correctly() -> None:
    data = bytes(range(256)) * 64
    buf = ReceiveBuffer()
    buf.append(data)
    buf.skip(3)
    assert bytes(buf) == data[3:]
    assert buf.peek(10_000) == data[3:10_003]
    assert buf.consume(9_000) == data[3:9_003]


def test_repr_never_shows_contents() -> None:
    buf = ReceiveBuffer(50)
    buf.append(b"password=hunter2")
    assert "hunter2" not in repr(buf)
    assert "unread=16" in repr(buf)
    assert "hunter2" not in repr(WriteQueue())


@settings(max_examples=200)
@given(
    data=st.binary(max_size=30),
    consumed=st.integers(0, 30),
    sub=st.binary(max_size=3),
    start=st.integers(-35, 35),
    end=st.none() | st.integers(-35, 35),
)
def test_find_matches_bytes_find(
    data: bytes, consumed: int, sub: bytes, start: int, end: int | None
) -> None:
    buf = SmallCompactBuffer(64)
    buf.append(b"#" * 9 + data)
    buf.skip(9 + min(consumed, len(data)))
    model = data[min(consumed, len(data)) :]
    assert buf.find(sub, start, end) == model.find(sub, start, end)


# -- ReceiveBuffer: readline / read_until limit rule --------------------------------


def test_readline_returns_line_with_terminator_or_none() -> None:
    buf = ReceiveBuffer()
    buf.append(b"GET / HTTP/1.1\r")
    assert buf.readline(100) is None
    buf.append(b"\nHost: x\r\n\r\n")
    assert buf.readline(100) == b"GET / HTTP/1.1\r\n"
    assert buf.readline(100) == b"Host: x\r\n"
    assert buf.readline(100) == b"\r\n"
    assert buf.readline(100) is None
    buf.append(b"a\nb\n")
    assert buf.readline(5, terminator=b"\n") == b"a\n"
    assert buf.read_until(b"\n", 5) == b"b\n"


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        (b"aaaa\r\n", b"aaaa\r\n"),  # content exactly max_length: accepted
        (b"aaaa\r", None),  # 5 < 4 + 2 bytes: undecided yet
        (b"aaaaa", None),
        (b"aaaaa\r", "limit"),  # 6 bytes, no terminator start within them
        (b"aaaaa\r\n", "limit"),  # content 5 > 4
        (b"aaaa\rX", "limit"),
        (b"\r\nrest-is-long", b"\r\n"),
    ],
)
def test_readline_limit_rule_boundaries(data: bytes, outcome: bytes | str | None) -> None:
    buf = ReceiveBuffer()
    buf.append(data)
    if outcome == "limit":
        with pytest.raises(LimitExceeded) as info:
            buf.readline(4, limit="max_request_line_size")
        assert info.value.limit == "max_request_line_size"
        assert info.value.value == 4
        assert bytes(buf) == data  # nothing consumed on refusal
    else:
        assert buf.readline(4) == outcome


def test_read_until_validates_arguments() -> None:
    buf = ReceiveBuffer()
    buf.append(b"abc")
    with pytest.raises(ValueError):
        buf.read_until(b"", 5)
    with pytest.raises(ValueError):
        buf.readline(-1)
    assert buf.readline(0, terminator=b"a") == b"a"


def test_read_until_zero_length_lines_and_overlapping_separator() -> None:
    buf = ReceiveBuffer()
    buf.append(b"xx")
    assert buf.read_until(b"xx", 0) == b"xx"
    buf.append(b"ab")
    assert buf.read_until(b"aba", 1) is None
    buf.append(b"a")  # the hint must not skip the separator that started at 0
    assert buf.read_until(b"aba", 1) == b"aba"


def reference_lines(stream: bytes, term: bytes, max_length: int) -> tuple[list[bytes], bool]:
    """The documented rule applied to the whole stream at once."""
    lines = []
    while True:
        i = stream.find(term, 0, max_length + len(term))
        if i >= 0:
            lines.append(stream[: i + len(term)])
            stream = stream[i + len(term) :]
        elif len(stream) >= max_length + len(term):
            return lines, True
        else:
            return lines, False


def feed_lines(chunks: list[bytes], term: bytes, max_length: int) -> tuple[list[bytes], bool]:
    buf = ReceiveBuffer(1 << 16)
    lines: list[bytes] = []
    try:
        for chunk in chunks:
            buf.append(chunk)
            while (line := buf.readline(max_length, terminator=term)) is not None:
                lines.append(line)
    except LimitExceeded:
        return lines, True
    return lines, False


@settings(max_examples=150)
@given(
    stream=st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"ab"]), max_size=40).map(
        b"".join
    ),
    term=st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n"]),
    max_length=st.integers(0, 8),
    cuts=st.lists(st.integers(1, 5), max_size=30),
)
def test_readline_decisions_do_not_depend_on_chunking(
    stream: bytes, term: bytes, max_length: int, cuts: list[int]
) -> None:
    expected = reference_lines(stream, term, max_length)
    for chunks in splits(stream, seed=len(cuts)):
        assert feed_lines(chunks, term, max_length) == expected
    pos, chunks = 0, []
    for size in cuts:
        chunks.append(stream[pos : pos + size])
        pos += size
    chunks.append(stream[pos:])
    assert feed_lines(chunks, term, max_length) == expected


# -- ReceiveBuffer: views, compaction, clearing -------------------------------------


def test_view_is_a_readonly_slice_of_unread_bytes() -> None:
    buf = ReceiveBuffer()
    buf.append(b"xxhello")
    buf.skip(2)
    with buf.view() as v:
        assert v.readonly
        assert bytes(v) == b"hello"
    assert bytes(buf.view(1, 3)) == b"el"
    assert bytes(buf.view(-2)) == b"lo"
    assert bytes(buf.view(4, 1)) == b""
    assert bytes(buf.view(3, 100)) == b"lo"


def test_held_view_does_not_break_append_or_compaction() -> None:
    buf = SmallCompactBuffer(1000)
    buf.append(b"0123456789" * 3)
    held = buf.view(0, 10)
    buf.skip(25)  # would compact, but the storage is exported
    buf.append(b"abcdefghij")  # cannot resize in place: moves to fresh storage
    assert bytes(held) == b"0123456789"
    assert bytes(buf) == b"56789abcdefghij"
    buf.append(buf.view())  # appending its own view
    assert bytes(buf) == b"56789abcdefghij" * 2
    held.release()


def test_released_view_lets_storage_be_reused() -> None:
    buf = ReceiveBuffer()
    buf.append(b"abc")
    with buf.view():
        pass
    before = storage(buf)
    buf.append(b"def")
    assert storage(buf) is before
    assert bytes(buf) == b"abcdef"


def test_compaction_after_many_cycles_keeps_data_and_bounds_storage() -> None:
    buf = ReceiveBuffer(1 << 20)
    model = bytearray()
    produced = consumed = compactions = 0
    for i in range(2000):
        size_before = len(storage(buf))
        chunk = bytes((produced + k) % 251 for k in range(37 + i % 50))
        produced += len(chunk)
        buf.append(chunk)
        model += chunk
        n = min(len(buf) - 1, 50 + i % 30)  # always leaves a byte unread
        out = buf.consume(n)
        assert out == bytes(model[:n])
        del model[:n]
        consumed += n
        compactions += len(storage(buf)) < size_before
        assert len(storage(buf)) <= 2 * len(buf) + ReceiveBuffer.compact_threshold + len(chunk)
    assert bytes(buf) == bytes(model)
    assert consumed > 20 * ReceiveBuffer.compact_threshold
    assert compactions >= 20  # never drained fully: the threshold rule did this


def test_fully_consumed_buffer_drops_its_storage() -> None:
    buf = ReceiveBuffer()
    buf.append(b"x" * 100)
    buf.skip(100)
    assert len(storage(buf)) == 0


def test_clear_and_secure_clear() -> None:
    buf = ReceiveBuffer()
    buf.append(b"secret-token;rest")
    whole = buf.view()  # covers the prefix that is consumed next
    assert buf.consume(13) == b"secret-token;"
    buf.secure_clear()
    assert bytes(whole) == bytes(17)  # read and unread bytes alike are zeroed
    assert len(buf) == 0
    buf.append(b"again")
    assert bytes(buf) == b"again"
    buf.clear()
    assert not buf
    assert buf.readline(3) is None


# -- ReceiveBuffer: model-based -----------------------------------------------------

MAX = 64
SEPS = st.sampled_from([b"\r\n", b"\n", b"ab", b"b"])
LINES = st.lists(st.sampled_from([b"a", b"b", b"\n", b"\r"]), max_size=10).map(b"".join)


class ReceiveBufferMachine(RuleBasedStateMachine):
    """Every operation compared with a plain bytes model."""

    def __init__(self) -> None:
        super().__init__()
        self.buf = SmallCompactBuffer(MAX)
        self.model = b""
        self.views: list[tuple[memoryview, bytes]] = []

    @rule(data=st.binary(max_size=20) | LINES)
    def append(self, data: bytes) -> None:
        if len(self.model) + len(data) > MAX:
            with pytest.raises(LimitExceeded):
                self.buf.append(data)
        else:
            self.buf.append(memoryview(data))
            self.model += data

    @rule(n=st.integers(0, 70))
    def consume(self, n: int) -> None:
        if n > len(self.model):
            with pytest.raises(ValueError):
                self.buf.consume(n)
        else:
            assert self.buf.consume(n) == self.model[:n]
            self.model = self.model[n:]

    @rule(n=st.integers(0, 70))
    def skip_or_peek(self, n: int) -> None:
        assert self.buf.peek(n) == self.model[:n]
        if n <= len(self.model):
            self.buf.skip(n)
            self.model = self.model[n:]

    @rule(sep=SEPS, max_length=st.integers(0, 12))
    def read_until(self, sep: bytes, max_length: int) -> None:
        i = self.model.find(sep, 0, max_length + len(sep))
        if i >= 0:
            assert self.buf.read_until(sep, max_length) == self.model[: i + len(sep)]
            self.model = self.model[i + len(sep) :]
        elif len(self.model) >= max_length + len(sep):
            with pytest.raises(LimitExceeded):
                self.buf.read_until(sep, max_length)
        else:
            assert self.buf.read_until(sep, max_length) is None

    @rule(sub=SEPS, start=st.integers(-5, 10))
    def find(self, sub: bytes, start: int) -> None:
        assert self.buf.find(sub, start) == self.model.find(sub, start)

    @rule(start=st.integers(-5, 70), end=st.integers(-5, 70))
    def hold_view(self, start: int, end: int) -> None:
        if len(self.views) < 3:
            self.views.append((self.buf.view(start, end), self.model[start:end]))

    @precondition(lambda self: self.views)
    @rule()
    def release_view(self) -> None:
        view, expected = self.views.pop(0)
        assert bytes(view) == expected  # unchanged by consumes and appends
        view.release()

    @rule()
    def clear(self) -> None:
        self.buf.clear()
        self.model = b""

    @invariant()
    def matches_model(self) -> None:
        assert len(self.buf) == len(self.model)
        assert bytes(self.buf) == self.model
        assert bool(self.buf) == bool(self.model)

    def teardown(self) -> None:
        for view, _ in self.views:
            view.release()


TestReceiveBufferModel = ReceiveBufferMachine.TestCase
TestReceiveBufferModel.settings = settings(max_examples=60, stateful_step_count=40)


# -- WriteQueue -----------------------------------------------------------------------


def test_push_take_len() -> None:
    q = WriteQueue(100)
    assert not q
    src = bytearray(b"world")
    for data in (b"hello ", src, memoryview(b"!")):
        q.push(data)
    src[:] = b"XXXXX"  # pushed bytes were copied
    assert (len(q), bool(q)) == (12, True)
    assert (q.take(5), q.take(0), q.take(), q.take()) == (b"hello", b"", b" world!", b"")
    with pytest.raises(ValueError):
        q.take(-1)


def test_push_refusal_leaves_queue_untouched() -> None:
    q = WriteQueue(10, high_water=5)
    q.push(b"12345678")
    with pytest.raises(LimitExceeded) as info:
        q.push(b"abc")
    assert info.value.limit == "max_write_queue"
    assert info.value.value == 10
    assert len(q) == 8
    assert not q.writable
    q.push(b"90")
    assert q.is_full
    assert q.take() == b"1234567890"


def test_partial_sends_with_advance() -> None:
    q = WriteQueue(1 << 20)
    payload = [bytes([i]) * (100 + 37 * i) for i in range(20)]
    for p in payload:
        q.push(p)
    sent = bytearray()
    step = 1
    while q:
        views = q.peek_views(max_buffers=4)
        assert 1 <= len(views) <= 4
        flat = b"".join(views)
        n = min(len(flat), step)  # the kernel took only part of it
        sent += flat[:n]
        q.advance(n)
        step = step * 3 % 997 + 1
    assert bytes(sent) == b"".join(payload)
    with pytest.raises(ValueError):
        q.advance(1)
    with pytest.raises(ValueError):
        q.advance(-1)


def test_peek_views_limits_and_coalescing() -> None:
    q = WriteQueue(1 << 20)
    for _ in range(100):
        q.push(b"frame")  # small writes coalesce
    assert len(q.peek_views()) == 1
    q.push(b"B" * WriteQueue.coalesce_limit)  # a large write gets its own chunk
    assert [len(v) for v in q.peek_views()] == [500, WriteQueue.coalesce_limit]
    assert [len(v) for v in q.peek_views(max_bytes=502)] == [500, 2]
    assert len(q.peek_views(max_buffers=1)) == 1
    assert q.peek_views(max_bytes=0) == []
    assert all(v.readonly for v in q.peek_views())


def test_held_peek_view_survives_push_and_advance() -> None:
    q = WriteQueue()
    q.push(b"abc")
    (view,) = q.peek_views()
    q.push(b"def")  # cannot grow the exported chunk: starts a new one
    q.advance(2)
    assert bytes(view) == b"abc"
    assert q.take() == b"cdef"


def test_water_mark_hysteresis() -> None:
    q = WriteQueue(100, high_water=10, low_water=4)
    q.push(b"x" * 10)
    assert q.writable  # at the high mark is not above it
    q.push(b"x")
    assert not q.writable
    q.advance(5)  # 6 left: between the marks, still paused
    assert not q.writable
    q.advance(2)  # 4 left: at the low mark
    assert q.writable
    q.push(b"x" * 5)  # 9: between the marks, but writable stays on
    assert q.writable
    q.push(b"x" * 2)
    assert not q.writable
    q.clear()
    assert q.writable
    assert len(q) == 0


def test_water_mark_defaults_and_validation() -> None:
    q = WriteQueue()
    assert q.max_size == BufferLimits().max_write_queue
    assert (q.high_water, q.low_water) == (64 * 1024, 16 * 1024)
    assert (WriteQueue(100).high_water, WriteQueue(100).low_water) == (100, 25)
    assert WriteQueue(1000, low_water=10).high_water == 40
    assert WriteQueue(1000, high_water=40).low_water == 10
    for kwargs in ({"high_water": 101}, {"low_water": 101}, {"high_water": 5, "low_water": 6}):
        with pytest.raises(ValueError):
            WriteQueue(100, **kwargs)
    with pytest.raises(ValueError):
        WriteQueue(0)
    q = WriteQueue(100, high_water=50)
    q.push(b"x" * 30)
    q.set_water_marks(high_water=20, low_water=10)
    assert not q.writable


def test_secure_clear_zeroes_queued_chunks() -> None:
    q = WriteQueue()
    q.push(b"Authorization: Bearer abc")
    q.advance(5)
    views = q.peek_views()
    q.secure_clear()
    assert all(bytes(v) == bytes(len(v)) for v in views)
    assert len(q) == 0
    assert q.take() == b""


class WriteQueueMachine(RuleBasedStateMachine):
    """Push/take/advance compared with a bytes model, plus the hysteresis model."""

    def __init__(self) -> None:
        super().__init__()
        self.q = WriteQueue(200, high_water=60, low_water=20)
        self.model = b""
        self.paused = False

    def _pressure(self) -> None:
        if len(self.model) > 60:
            self.paused = True
        elif len(self.model) <= 20:
            self.paused = False

    @rule(data=st.binary(max_size=70))
    def push(self, data: bytes) -> None:
        if len(self.model) + len(data) > 200:
            with pytest.raises(LimitExceeded):
                self.q.push(data)
        else:
            self.q.push(data)
            self.model += data
            self._pressure()

    @rule(n=st.none() | st.integers(0, 80))
    def take(self, n: int | None) -> None:
        k = len(self.model) if n is None else n
        assert self.q.take(n) == self.model[:k]
        self.model = self.model[k:]
        self._pressure()

    @rule(n=st.integers(0, 80), max_buffers=st.none() | st.integers(1, 3))
    def send_part(self, n: int, max_buffers: int | None) -> None:
        flat = b"".join(self.q.peek_views(max_buffers=max_buffers))
        assert self.model.startswith(flat)
        n = min(n, len(flat))
        self.q.advance(n)
        self.model = self.model[n:]
        self._pressure()

    @invariant()
    def matches_model(self) -> None:
        assert len(self.q) == len(self.model)
        assert b"".join(self.q.peek_views()) == self.model
        assert self.q.writable is not self.paused
        assert self.q.is_full is (len(self.model) == 200)


TestWriteQueueModel = WriteQueueMachine.TestCase
TestWriteQueueModel.settings = settings(max_examples=60, stateful_step_count=40)
