"""HTTP/2 SETTINGS parameters: codes, validation, and the values in force.

Each side of a connection has its own :class:`Settings`: the values the peer
sent (which bind what we send) and the values we advertised (which, once
acknowledged, bind what the peer sends). Unknown codes are ignored, as
RFC 9113 §6.5.2 requires, so extensions never break a connection.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sockit.proto.http2.errors import ErrorCode, H2ConnectionError

__all__ = ["SettingCode", "Settings", "validate_setting"]

_MAX_WINDOW = (1 << 31) - 1
_MIN_FRAME = 1 << 14
_MAX_FRAME = (1 << 24) - 1
_MAX_U32 = (1 << 32) - 1
_BOOLEAN = (0x2, 0x8)  # ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL


class SettingCode(enum.IntEnum):
    """Setting identifiers of RFC 9113 §6.5.2 and RFC 8441 §3."""

    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6
    ENABLE_CONNECT_PROTOCOL = 0x8


def validate_setting(code: int, value: int) -> None:
    """Raise :class:`H2ConnectionError` if ``value`` is not allowed for ``code``.

    ENABLE_PUSH and ENABLE_CONNECT_PROTOCOL must be 0 or 1 and MAX_FRAME_SIZE
    within 2**14 .. 2**24 - 1 (PROTOCOL_ERROR); INITIAL_WINDOW_SIZE must not
    exceed 2**31 - 1 (FLOW_CONTROL_ERROR). Any value must fit 32 bits; unknown
    codes are otherwise accepted.
    """
    if not 0 <= value <= _MAX_U32:
        raise H2ConnectionError(f"setting {code:#x} value {value} is not a 32-bit value")
    if code == SettingCode.INITIAL_WINDOW_SIZE:
        if value > _MAX_WINDOW:
            raise H2ConnectionError(
                f"SETTINGS_INITIAL_WINDOW_SIZE {value} exceeds 2**31 - 1",
                ErrorCode.FLOW_CONTROL_ERROR,
            )
    elif code == SettingCode.MAX_FRAME_SIZE:
        if not _MIN_FRAME <= value <= _MAX_FRAME:
            raise H2ConnectionError(
                f"SETTINGS_MAX_FRAME_SIZE {value} is outside {_MIN_FRAME}..{_MAX_FRAME}"
            )
    elif code in _BOOLEAN and value > 1:
        raise H2ConnectionError(f"{SettingCode(code).name} must be 0 or 1, not {value}")


@dataclass
class Settings:
    """The SETTINGS values in force for one side, starting from the RFC defaults.

    ``None`` for ``max_concurrent_streams`` and ``max_header_list_size``
    means the setting was never sent: unlimited.
    """

    header_table_size: int = 4096
    enable_push: bool = True
    max_concurrent_streams: int | None = None
    initial_window_size: int = 65535
    max_frame_size: int = 16384
    max_header_list_size: int | None = None
    enable_connect_protocol: bool = False

    def apply(self, pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
        """Validate and apply (code, value) pairs in order, all or nothing.

        Returns every known code the pairs carried, mapped to its new value
        (when a code repeats, the last value wins), whether or not the value
        differs from before; unknown codes are ignored. Raises
        :class:`H2ConnectionError` without changing anything if any pair is
        invalid, including an attempt to turn ENABLE_CONNECT_PROTOCOL off
        after it was on (RFC 8441 §3).
        """
        changed: dict[int, int] = {}
        for code, value in pairs:
            validate_setting(code, value)
            if code in _FIELDS:
                changed[code] = value
        if self.enable_connect_protocol and changed.get(SettingCode.ENABLE_CONNECT_PROTOCOL) == 0:
            raise H2ConnectionError("SETTINGS_ENABLE_CONNECT_PROTOCOL went from 1 to 0")
        for code, value in changed.items():
            name, as_bool = _FIELDS[code]
            setattr(self, name, bool(value) if as_bool else value)
        return {SettingCode(code): value for code, value in changed.items()}

    def get(self, code: int) -> int | None:
        """The value in force for ``code`` as the wire integer (``None``: unset or unknown)."""
        field = _FIELDS.get(code)
        if field is None:
            return None
        value: int | None = getattr(self, field[0])
        return None if value is None else int(value)

    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The (code, value) pairs that differ from the RFC defaults, to advertise."""
        default = Settings()
        out = []
        for code in SettingCode:
            value = self.get(code)
            if value is not None and value != default.get(code):
                out.append((int(code), value))
        return tuple(out)


_FIELDS: dict[int, tuple[str, bool]] = {
    SettingCode.HEADER_TABLE_SIZE: ("header_table_size", False),
    SettingCode.ENABLE_PUSH: ("enable_push", True),
    SettingCode.MAX_CONCURRENT_STREAMS: ("max_concurrent_streams", False),
    SettingCode.INITIAL_WINDOW_SIZE: ("initial_window_size", False),
    SettingCode.MAX_FRAME_SIZE: ("max_frame_size", False),
    SettingCode.MAX_HEADER_LIST_SIZE: ("max_header_list_size", False),
    SettingCode.ENABLE_CONNECT_PROTOCOL: ("enable_connect_protocol", True),
}
