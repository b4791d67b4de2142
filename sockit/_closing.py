"""``with obj:`` for every sockit object that owns a resource and has ``close()``."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["Closing"]

_C = TypeVar("_C", bound="Closing")


class Closing:
    """Mixin: entering returns the object, leaving calls its ``close()``."""

    __slots__ = ()

    def close(self) -> None:
        """Release the resource; subclasses implement it (idempotently)."""
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
