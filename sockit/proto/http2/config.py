"""How one HTTP/2 :class:`~sockit.proto.http2.connection.Connection` behaves.

:class:`H2Config` gathers the protocol bounds of :mod:`sockit.limits`
(``HTTP2Limits`` for SETTINGS and flood guards, ``HPACKLimits`` for the
header decoder) with the connection's own choices: flow-control mode, push,
extended CONNECT, send buffering and the bounds that ``HTTP2Limits`` does not
have yet (empty-frame floods, stalled streams, the SETTINGS ACK timeout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sockit.limits import HPACKLimits, HTTP2Limits
from sockit.proto.events import Role
from sockit.proto.http2.settings import SettingCode

__all__ = ["H2Config", "advertised_settings"]

_MIB = 1024 * 1024


def _positive_int(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}.{name} must be a positive int, not {value!r}")


def _positive_float(owner: str, name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{owner}.{name} must be a positive finite number, not {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class H2Config:
    """Settings, bounds and behaviour of one HTTP/2 connection (either role).

    What we advertise in SETTINGS comes from ``limits`` and ``hpack``:
    HEADER_TABLE_SIZE (``hpack.header_table_size``), MAX_CONCURRENT_STREAMS,
    INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE and MAX_HEADER_LIST_SIZE (from
    ``limits``); a client also sends ENABLE_PUSH (``enable_push``), a server
    ENABLE_CONNECT_PROTOCOL when ``enable_connect_protocol`` is set.
    """

    #: SETTINGS we advertise, the connection window, and the flood guards.
    limits: HTTP2Limits = field(default_factory=HTTP2Limits)
    #: Bounds of the HPACK decoder (table size, header list, bomb guard).
    hpack: HPACKLimits = field(default_factory=HPACKLimits)
    #: Return flow-control credit as soon as data is received (``True``), or
    #: only when the application calls ``acknowledge_received_data``.
    auto_window_update: bool = True
    #: Client: accept server push (advertise ENABLE_PUSH 1). Server: ignored
    #: (whether the server may push is ``limits.enable_push`` and the peer's
    #: ENABLE_PUSH).
    enable_push: bool = False
    #: Server: advertise and accept RFC 8441 extended CONNECT (``:protocol``).
    enable_connect_protocol: bool = False
    #: Check header fields we send with the receive rules (LocalProtocolError).
    validate_outbound_headers: bool = True
    #: Most bytes one stream may hold waiting for flow-control credit;
    #: more is :class:`~sockit.proto.http2.flow.SendBufferFull`.
    max_stream_send_buffer: int = 1 * _MIB
    #: Most bytes all streams together may hold waiting for credit.
    max_connection_send_buffer: int = 16 * _MIB
    #: A stream whose send window stays closed this long (seconds) while it
    #: holds buffered data is reset with CANCEL: a peer cannot pin our memory
    #: by never reading.
    stalled_stream_timeout: float = 30.0
    #: Seconds the peer has to acknowledge our SETTINGS (then GOAWAY SETTINGS_TIMEOUT).
    settings_ack_timeout: float = 10.0
    #: Empty frames without END_STREAM (DATA of no data, HEADERS or
    #: CONTINUATION with an empty field-block fragment) the peer may send
    #: per second on average, and in a burst, before GOAWAY ENHANCE_YOUR_CALM.
    #: Candidates for ``HTTP2Limits``.
    empty_frame_rate: float = 10.0
    empty_frame_burst: int = 100
    #: How many recently closed streams are remembered, so frames the peer
    #: sent before it saw our RST_STREAM or END_STREAM are recognised (and
    #: ignored or refused with the right code) instead of looking like
    #: streams that never existed.
    closed_streams_kept: int = 512

    def __post_init__(self) -> None:
        owner = "H2Config"
        if not isinstance(self.limits, HTTP2Limits):
            raise ValueError("H2Config.limits must be an HTTP2Limits")
        if not isinstance(self.hpack, HPACKLimits):
            raise ValueError("H2Config.hpack must be an HPACKLimits")
        for name in (
            "auto_window_update",
            "enable_push",
            "enable_connect_protocol",
            "validate_outbound_headers",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{owner}.{name} must be a bool")
        for name in (
            "max_stream_send_buffer",
            "max_connection_send_buffer",
            "empty_frame_burst",
            "closed_streams_kept",
        ):
            _positive_int(owner, name, getattr(self, name))
        for name in ("stalled_stream_timeout", "settings_ack_timeout", "empty_frame_rate"):
            _positive_float(owner, name, getattr(self, name))


def advertised_settings(role: Role, config: H2Config) -> dict[int, int]:
    """The SETTINGS a connection in ``role`` advertises at the start (RFC 9113 §6.5.2)."""
    limits = config.limits
    values: dict[int, int] = {
        SettingCode.HEADER_TABLE_SIZE: config.hpack.header_table_size,
    }
    if role is Role.CLIENT:
        values[SettingCode.ENABLE_PUSH] = 1 if config.enable_push else 0
    values[SettingCode.MAX_CONCURRENT_STREAMS] = limits.max_concurrent_streams
    values[SettingCode.INITIAL_WINDOW_SIZE] = limits.initial_window_size
    values[SettingCode.MAX_FRAME_SIZE] = limits.max_frame_size
    values[SettingCode.MAX_HEADER_LIST_SIZE] = limits.max_header_list_size
    if role is Role.SERVER and config.enable_connect_protocol:
        values[SettingCode.ENABLE_CONNECT_PROTOCOL] = 1
    return values
