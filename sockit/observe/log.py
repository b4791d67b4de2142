"""Logging conventions for sockit: named loggers, structured fields, trace ids.

* Every module logs through ``get_logger(__name__)`` (or ``get_logger("net.pool")``),
  a standard :class:`logging.Logger` under the ``sockit`` hierarchy.
* Structured data goes in one ``extra`` key, :data:`FIELDS_KEY`
  (``"sockit_fields"``), via :func:`log_event`; messages stay constant strings
  so that they can be grouped and searched.
* The trace and request ids of the work in progress live in a
  :mod:`contextvars` variable set by :func:`trace_context`; they follow the
  code into coroutines and into threads started with
  ``contextvars.copy_context().run``. :class:`TraceFilter` copies them onto log
  records, and :class:`JSONFormatter` writes one JSON object per line.
* The library only adds a :class:`logging.NullHandler` to the ``sockit``
  logger; handlers, levels and formatters are the application's choice.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import math
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = [
    "FIELDS_KEY",
    "ROOT_LOGGER_NAME",
    "JSONFormatter",
    "TraceContext",
    "TraceFilter",
    "current_trace",
    "get_logger",
    "log_event",
    "new_request_id",
    "new_trace_id",
    "trace_context",
]

ROOT_LOGGER_NAME = "sockit"
"""The name of the logger every sockit logger descends from."""

FIELDS_KEY = "sockit_fields"
"""The ``extra`` key (and so the ``LogRecord`` attribute) holding structured fields."""


def _install_null_handler() -> None:
    root = logging.getLogger(ROOT_LOGGER_NAME)
    if not any(isinstance(handler, logging.NullHandler) for handler in root.handlers):
        root.addHandler(logging.NullHandler())


_install_null_handler()


def get_logger(name: str = "") -> logging.Logger:
    """Return the ``sockit.<name>`` logger.

    ``name`` may already start with ``sockit.`` (so ``get_logger(__name__)``
    works in sockit's modules); an empty name gives the ``sockit`` logger itself.
    """
    if not name or name == ROOT_LOGGER_NAME:
        return logging.getLogger(ROOT_LOGGER_NAME)
    if name.startswith(ROOT_LOGGER_NAME + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT_LOGGER_NAME}.{name}")


def log_event(
    logger: logging.Logger,
    level: int,
    msg: str,
    /,
    *,
    exc_info: bool | BaseException | None = None,
    stack_info: bool = False,
    **fields: object,
) -> None:
    """Log ``msg`` with ``fields`` stored under ``extra={FIELDS_KEY: fields}``.

    ``msg`` is used as is (no ``%`` formatting). Nothing is built when
    ``level`` is disabled for ``logger``. The record's location is the caller's.
    """
    if logger.isEnabledFor(level):
        logger.log(
            level,
            msg,
            exc_info=exc_info,
            stack_info=stack_info,
            stacklevel=2,
            extra={FIELDS_KEY: fields},
        )


# --------------------------------------------------------------------------- trace ids


@dataclass(frozen=True, slots=True)
class TraceContext:
    """The trace and request ids of the current context (``None`` when unset)."""

    trace_id: str | None = None
    request_id: str | None = None


_TRACE: contextvars.ContextVar[TraceContext] = contextvars.ContextVar(
    "sockit_trace",
    default=TraceContext(),  # noqa: B039 - a frozen dataclass, never mutated
)


def current_trace() -> TraceContext:
    """Return the trace and request ids of the current context."""
    return _TRACE.get()


@contextmanager
def trace_context(
    trace_id: str | None = None, request_id: str | None = None
) -> Iterator[TraceContext]:
    """Set the trace and/or request id for the ``with`` block, then restore the old ones.

    An argument left as ``None`` keeps the enclosing value, so a request
    nested in a trace only needs ``trace_context(request_id=...)``. Yields the
    new :class:`TraceContext`.
    """
    outer = _TRACE.get()
    inner = TraceContext(
        trace_id if trace_id is not None else outer.trace_id,
        request_id if request_id is not None else outer.request_id,
    )
    token = _TRACE.set(inner)
    try:
        yield inner
    finally:
        _TRACE.reset(token)


def new_trace_id() -> str:
    """Return a random 128-bit trace id as 32 hex digits (W3C Trace Context shape)."""
    return secrets.token_hex(16)


def new_request_id() -> str:
    """Return a random 64-bit request id as 16 hex digits."""
    return secrets.token_hex(8)


class TraceFilter(logging.Filter):
    """Stamp each record with ``trace_id`` and ``request_id`` from the current context.

    Attach it to a *handler* (logger filters do not see records propagated
    from child loggers). It never rejects a record and keeps ids a record
    already carries, so with a ``QueueHandler`` put it on the queue handler,
    where the record is still in the logging thread's context.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids (``None`` when unset) and accept the record."""
        attrs = record.__dict__
        if "trace_id" not in attrs or "request_id" not in attrs:
            trace = _TRACE.get()
            attrs.setdefault("trace_id", trace.trace_id)
            attrs.setdefault("request_id", trace.request_id)
        return True


# --------------------------------------------------------------------------- JSON


def _finite(value: object) -> object:
    """Replace non-finite floats (not valid JSON) by strings, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class JSONFormatter(logging.Formatter):
    """Format each record as one line of JSON.

    Keys: ``ts`` (ISO 8601 UTC, milliseconds), ``level``, ``logger``, ``msg``;
    ``trace_id`` / ``request_id`` when set (see :class:`TraceFilter`);
    ``fields`` with the structured fields of :func:`log_event` when there are
    any; ``exc`` and ``stack`` with formatted traceback text when present.
    Values JSON cannot hold are written with ``str()``.
    """

    def __init__(self, *, ensure_ascii: bool = True) -> None:
        super().__init__()
        self._ensure_ascii = ensure_ascii

    def _dumps(self, obj: dict[str, object]) -> str:
        try:
            return json.dumps(
                obj, default=str, ensure_ascii=self._ensure_ascii, allow_nan=False,
                separators=(",", ":"),
            )  # fmt: skip
        except ValueError:  # NaN / infinity somewhere in the fields
            return json.dumps(
                _finite(obj), default=str, ensure_ascii=self._ensure_ascii, separators=(",", ":")
            )

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single-line JSON object."""
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        obj: dict[str, object] = {
            "ts": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        attrs = record.__dict__
        for key in ("trace_id", "request_id"):
            if attrs.get(key) is not None:
                obj[key] = attrs[key]
        fields = attrs.get(FIELDS_KEY)
        if isinstance(fields, Mapping) and fields:
            obj["fields"] = dict(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            obj["exc"] = record.exc_text
        if record.stack_info:
            obj["stack"] = self.formatStack(record.stack_info)
        return self._dumps(obj)
