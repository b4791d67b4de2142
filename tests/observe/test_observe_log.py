"""Logging conventions: logger names, structured fields, trace ids, JSON lines."""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sockit.observe import (
    FIELDS_KEY,
    JSONFormatter,
    TraceContext,
    TraceFilter,
    current_trace,
    get_logger,
    log_event,
    new_request_id,
    new_trace_id,
    trace_context,
)
from sockit.observe.log import _install_null_handler


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, ListHandler]]:
    """A sockit logger with a record-collecting handler that stamps trace ids."""
    logger = get_logger("tests.observe")
    handler = ListHandler()
    handler.addFilter(TraceFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


# --------------------------------------------------------------------------- loggers


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("net", "sockit.net"),
        ("net.pool", "sockit.net.pool"),
        ("sockit.server.http1", "sockit.server.http1"),
        ("sockit", "sockit"),
        ("", "sockit"),
        ("sockitish", "sockit.sockitish"),
    ],
)
def test_get_logger_names(name: str, expected: str) -> None:
    logger = get_logger(name)
    assert logger.name == expected
    assert logger is logging.getLogger(expected)


def test_library_installs_only_a_null_handler() -> None:
    result = run_python(
        "import logging, sockit.observe\n"
        "root = logging.getLogger('sockit')\n"
        "print([type(h).__name__ for h in root.handlers], len(logging.getLogger().handlers))\n"
        "logging.getLogger('sockit.net').warning('must not reach stderr')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['NullHandler'] 0"
    # Without the NullHandler, logging.lastResort would print the warning.
    assert "must not reach stderr" not in result.stderr


def test_null_handler_installation_is_idempotent() -> None:
    root = logging.getLogger("sockit")
    before = list(root.handlers)
    _install_null_handler()
    _install_null_handler()
    assert root.handlers == before
    assert sum(isinstance(h, logging.NullHandler) for h in root.handlers) == 1


# --------------------------------------------------------------------------- structured fields


def test_log_event_puts_fields_under_one_extra_key(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    log_event(logger, logging.INFO, "connection reused", host="example.com", idle=0.25)
    (record,) = handler.records
    assert record.getMessage() == "connection reused"
    assert record.levelno == logging.INFO
    assert getattr(record, FIELDS_KEY) == {"host": "example.com", "idle": 0.25}
    assert FIELDS_KEY == "sockit_fields"
    assert not hasattr(record, "host")
    # The record points at the caller, not at log_event.
    assert record.funcName == "test_log_event_puts_fields_under_one_extra_key"
    assert record.filename == "test_observe_log.py"


def test_log_event_keeps_percent_signs_and_respects_levels(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    logger.setLevel(logging.WARNING)
    log_event(logger, logging.INFO, "dropped")
    log_event(logger, logging.WARNING, "100% of %s used", pool="a")
    (record,) = handler.records
    assert record.getMessage() == "100% of %s used"


def test_log_event_exc_info(captured: tuple[logging.Logger, ListHandler]) -> None:
    logger, handler = captured
    try:
        raise ValueError("boom")
    except ValueError:
        log_event(logger, logging.ERROR, "failed", exc_info=True, step=3)
    (record,) = handler.records
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError


# --------------------------------------------------------------------------- trace context


def test_trace_context_sets_nests_and_restores() -> None:
    assert current_trace() == TraceContext(None, None)
    with trace_context(trace_id="t1") as outer:
        assert outer == TraceContext("t1", None)
        assert current_trace() == outer
        with trace_context(request_id="r1"):
            assert current_trace() == TraceContext("t1", "r1")
            with trace_context(trace_id="t2", request_id="r2"):
                assert current_trace() == TraceContext("t2", "r2")
            assert current_trace() == TraceContext("t1", "r1")
        assert current_trace() == TraceContext("t1", None)
    assert current_trace() == TraceContext(None, None)


def test_trace_context_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError), trace_context(trace_id="t", request_id="r"):
        raise RuntimeError
    assert current_trace() == TraceContext(None, None)


def test_filter_stamps_records_and_keeps_explicit_ids(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    logger.info("outside")
    with trace_context(trace_id="abc", request_id="req-1"):
        logger.info("inside")
        logger.info("explicit", extra={"trace_id": "given"})
    outside, inside, explicit = handler.records
    assert (outside.trace_id, outside.request_id) == (None, None)  # type: ignore[attr-defined]
    assert (inside.trace_id, inside.request_id) == ("abc", "req-1")  # type: ignore[attr-defined]
    assert (explicit.trace_id, explicit.request_id) == ("given", "req-1")  # type: ignore[attr-defined]
    assert TraceFilter().filter(logging.makeLogRecord({})) is True


def test_trace_ids_follow_copy_context_into_threads(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured

    def work() -> None:
        logger.info("in thread")

    with trace_context(trace_id="trace-x", request_id="req-x"):
        ctx = contextvars.copy_context()
        with_context = threading.Thread(target=ctx.run, args=(work,))
        without_context = threading.Thread(target=work)
    with_context.start()
    with_context.join()
    without_context.start()
    without_context.join()
    copied, plain = handler.records
    assert (copied.trace_id, copied.request_id) == ("trace-x", "req-x")  # type: ignore[attr-defined]
    if not getattr(sys.flags, "thread_inherit_context", False):
        assert plain.trace_id is None  # type: ignore[attr-defined]


def test_concurrent_threads_keep_their_own_trace_ids(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        with trace_context(trace_id=f"t{i}", request_id=f"r{i}"):
            barrier.wait()
            for _ in range(20):
                logger.info("tick", extra={"worker": i})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(handler.records) == 160
    for record in handler.records:
        worker = record.worker  # type: ignore[attr-defined]
        assert (record.trace_id, record.request_id) == (f"t{worker}", f"r{worker}")  # type: ignore[attr-defined]


def test_asyncio_tasks_are_isolated() -> None:
    async def handle(i: int) -> tuple[str | None, str | None]:
        with trace_context(request_id=f"r{i}"):
            await asyncio.sleep(0)
            trace = current_trace()
            return trace.trace_id, trace.request_id

    async def main() -> list[tuple[str | None, str | None]]:
        with trace_context(trace_id="shared"):
            return list(await asyncio.gather(*(handle(i) for i in range(5))))

    assert asyncio.run(main()) == [("shared", f"r{i}") for i in range(5)]


def test_new_ids_are_random_hex() -> None:
    trace, request = new_trace_id(), new_request_id()
    assert len(trace) == 32
    assert len(request) == 16
    int(trace, 16)
    int(request, 16)
    assert new_trace_id() != trace


# --------------------------------------------------------------------------- JSON formatter


def test_json_formatter_writes_one_parseable_line_per_record() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(TraceFilter())
    handler.setFormatter(JSONFormatter())
    logger = get_logger("tests.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with trace_context(trace_id="t-1", request_id="r-1"):
            log_event(logger, logging.INFO, "multi\nline", peer="10.0.0.1", n=3, obj=object())
        try:
            raise KeyError("missing")
        except KeyError:
            logger.exception("lookup failed")
        logger.debug("plain %s", "args")
        log_event(logger, logging.WARNING, "odd numbers", ratio=float("nan"), top=float("inf"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    first, second, third, fourth = (strict_json(line) for line in lines)
    assert first["msg"] == "multi\nline"
    assert first["level"] == "INFO"
    assert first["logger"] == "sockit.tests.json"
    assert (first["trace_id"], first["request_id"]) == ("t-1", "r-1")
    assert first["fields"]["peer"] == "10.0.0.1"
    assert first["fields"]["n"] == 3
    assert first["fields"]["obj"].startswith("<object object")
    stamp = datetime.datetime.fromisoformat(first["ts"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None
    assert abs(stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds() < 60

    assert second["level"] == "ERROR"
    assert "KeyError: 'missing'" in second["exc"]
    assert "trace_id" not in second
    assert "fields" not in second

    assert third["msg"] == "plain args"
    assert fourth["fields"] == {"ratio": "nan", "top": "inf"}


def strict_json(line: str) -> dict[str, Any]:
    def reject(constant: str) -> object:
        raise AssertionError(f"non-standard JSON constant {constant}")

    value = json.loads(line, parse_constant=reject)
    assert isinstance(value, dict)
    return value


def test_json_formatter_stack_info_and_ascii() -> None:
    record = logging.LogRecord("sockit.x", logging.INFO, __file__, 1, "héllo", None, None)
    record.stack_info = "Stack (most recent call last):\n  here"
    text = JSONFormatter().format(record)
    assert "\n" not in text
    assert "h\\u00e9llo" in text
    data = json.loads(text)
    assert data["stack"].endswith("here")
    assert json.loads(JSONFormatter(ensure_ascii=False).format(record))["msg"] == "héllo"
    assert "héllo" in JSONFormatter(ensure_ascii=False).format(record)
