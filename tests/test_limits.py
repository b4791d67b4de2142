"""Limits: defaults match DEFAULTS.md, and nonsense is refused at construction."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit import limits
from sockit.limits import HPACKLimits, HTTP1Limits, limit_groups

GROUPS = limit_groups()


def test_every_group_constructs_with_defaults() -> None:
    assert len(GROUPS) >= 20
    for cls in GROUPS.values():
        obj = cls()
        assert dataclasses.is_dataclass(obj)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, dataclasses.fields(obj)[0].name, 1)


@pytest.mark.parametrize(
    ("cls", "field", "expected"),
    [
        (limits.HTTP1Limits, "max_header_name_size", 256),
        (limits.HTTP1Limits, "max_header_value_size", 8192),
        (limits.HTTP1Limits, "max_header_block_size", 65536),
        (limits.HTTP1Limits, "max_header_count", 100),
        (limits.HTTP1Limits, "max_method_size", 16),
        (limits.HTTP1Limits, "max_chunk_size", 16 * 1024 * 1024),
        (limits.HTTP1Limits, "max_chunk_extension_size", 1024),
        (limits.HTTP1Limits, "max_trailer_size", 4096),
        (limits.ServerLimits, "max_connections", 1000),
        (limits.ServerLimits, "max_body_size", 10 * 1024 * 1024),
        (limits.ServerLimits, "request_read_timeout", 30.0),
        (limits.ServerLimits, "listen_backlog", 128),
        (limits.ClientLimits, "max_connections_per_host", 6),
        (limits.ClientLimits, "max_redirects", 10),
        (limits.HPACKLimits, "header_table_size", 4096),
        (limits.HTTP2Limits, "max_concurrent_streams", 100),
        (limits.HTTP2Limits, "initial_window_size", 65535),
        (limits.HTTP2Limits, "max_frame_size", 16384),
        (limits.HTTP2Limits, "max_continuation_frames", 32),
        (limits.WSLimits, "max_frame_size", 16 * 1024 * 1024),
        (limits.WSLimits, "max_message_size", 64 * 1024 * 1024),
        (limits.WSLimits, "max_fragments", 1000),
        (limits.WSLimits, "max_control_payload", 125),
        (limits.TLSDefaults, "allow_tls12", False),
        (limits.TLSDefaults, "verify_depth", 10),
        (limits.DTLSDefaults, "mtu", 1400),
        (limits.DNSDefaults, "workers", 4),
        (limits.HappyEyeballsDefaults, "connection_attempt_delay", 0.25),
        (limits.ReconnectDefaults, "circuit_failure_threshold", 5),
        (limits.SYNProtectDefaults, "score_initial", 0.8),
        (limits.TimerLimits, "max_timers", 100_000),
        (limits.SocketLimits, "max_passed_fds", 253),
        (limits.SocketLimits, "max_udp_payload", 65507),
    ],
)
def test_defaults_match_or_tighten_reference(cls: type, field: str, expected: object) -> None:
    assert getattr(cls(), field) == expected


def test_hpack_bomb_guard_is_derived() -> None:
    assert HPACKLimits().max_decoded_size == 10 * 16 * 1024
    assert HPACKLimits(max_header_list_size=1024 * 1024).max_decoded_size == 1024 * 1024


def test_client_retry_default_caps_at_ten_seconds() -> None:
    assert limits.ClientLimits().retry.max_delay == 10.0
    assert limits.RetryDefaults().max_delay == 30.0


@pytest.mark.parametrize(
    "changes",
    [
        {"max_header_count": -1},
        {"max_header_count": 0},
        {"max_header_count": 10**9},
        {"max_header_count": True},
        {"max_header_count": 2.5},
        {"max_header_count": "100"},
        {"max_header_count": None},
        {"max_uri_size": 9000},  # longer than the request line may be
    ],
)
def test_nonsense_is_a_value_error(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HTTP1Limits(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cls", "changes"),
    [
        (limits.ServerLimits, {"request_read_timeout": -1.0}),
        (limits.ServerLimits, {"request_read_timeout": float("nan")}),
        (limits.ServerLimits, {"request_read_timeout": float("inf")}),
        (limits.ServerLimits, {"max_connections_per_client": 2000}),
        (limits.HTTP2Limits, {"max_frame_size": 100}),
        (limits.HPACKLimits, {"header_table_size": 70000}),
        (limits.SYNProtectDefaults, {"score_block": 0.9}),
        (limits.TLSDefaults, {"allow_tls12": 1}),
        (limits.TLSDefaults, {"ciphersuites": 5}),
        (limits.RetryDefaults, {"initial_delay": 60.0}),
        (limits.DTLSDefaults, {"mtu": 100}),
    ],
)
def test_cross_field_and_type_rules(cls: type, changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        cls(**changes)


def test_replace_validates_and_keeps_the_rest() -> None:
    base = HTTP1Limits()
    smaller = base.replace(max_header_count=10)
    assert smaller.max_header_count == 10
    assert smaller.max_header_value_size == base.max_header_value_size
    with pytest.raises(ValueError):
        base.replace(max_header_count=-5)


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        HTTP1Limits(100)  # type: ignore[misc]


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_any_integer_either_accepted_in_range_or_refused(n: int) -> None:
    try:
        obj = HTTP1Limits(max_header_count=n)
    except ValueError:
        assert not 1 <= n <= 10_000
    else:
        assert obj.max_header_count == n
        assert 1 <= n <= 10_000


def test_optional_body_limit() -> None:
    assert HTTP1Limits().max_body_size is None
    assert HTTP1Limits(max_body_size=0).max_body_size == 0
