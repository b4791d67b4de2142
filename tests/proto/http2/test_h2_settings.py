"""SETTINGS parameters: RFC 9113 §6.5.2 value rules, defaults, applying pairs."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import RemoteProtocolError
from sockit.proto.http2 import (
    ErrorCode,
    FrameParser,
    H2ConnectionError,
    H2StreamError,
    SettingCode,
    Settings,
    SettingsFrame,
    serialize,
    validate_setting,
)

PROTOCOL = ErrorCode.PROTOCOL_ERROR


def refused(code: int, value: int) -> ErrorCode:
    with pytest.raises(H2ConnectionError) as info:
        validate_setting(code, value)
    return info.value.error_code


def test_codes_and_error_codes_match_the_rfc() -> None:
    assert [(c.name, c.value) for c in SettingCode] == [
        ("HEADER_TABLE_SIZE", 1),
        ("ENABLE_PUSH", 2),
        ("MAX_CONCURRENT_STREAMS", 3),
        ("INITIAL_WINDOW_SIZE", 4),
        ("MAX_FRAME_SIZE", 5),
        ("MAX_HEADER_LIST_SIZE", 6),
        ("ENABLE_CONNECT_PROTOCOL", 8),
    ]
    assert [c.value for c in ErrorCode] == list(range(14))
    assert ErrorCode.HTTP_1_1_REQUIRED.name == "HTTP_1_1_REQUIRED"


@pytest.mark.parametrize("code", [SettingCode.ENABLE_PUSH, SettingCode.ENABLE_CONNECT_PROTOCOL])
def test_boolean_settings_accept_0_and_1_only(code: int) -> None:
    validate_setting(code, 0)
    validate_setting(code, 1)
    assert refused(code, 2) is PROTOCOL
    assert refused(code, 2**32 - 1) is PROTOCOL


def test_initial_window_size_at_2_31_minus_1_and_2_31() -> None:
    validate_setting(SettingCode.INITIAL_WINDOW_SIZE, 0)
    validate_setting(SettingCode.INITIAL_WINDOW_SIZE, 2**31 - 1)
    assert refused(SettingCode.INITIAL_WINDOW_SIZE, 2**31) is ErrorCode.FLOW_CONTROL_ERROR
    assert refused(SettingCode.INITIAL_WINDOW_SIZE, 2**32 - 1) is ErrorCode.FLOW_CONTROL_ERROR


def test_max_frame_size_bounds() -> None:
    validate_setting(SettingCode.MAX_FRAME_SIZE, 16384)
    validate_setting(SettingCode.MAX_FRAME_SIZE, 16777215)
    assert refused(SettingCode.MAX_FRAME_SIZE, 16383) is PROTOCOL
    assert refused(SettingCode.MAX_FRAME_SIZE, 16777216) is PROTOCOL
    assert refused(SettingCode.MAX_FRAME_SIZE, 0) is PROTOCOL


@pytest.mark.parametrize("code", [1, 3, 6, 0, 7, 9, 0xFFFF])
@pytest.mark.parametrize("value", [0, 1, 2, 2**31, 2**32 - 1])
def test_other_and_unknown_settings_take_any_32_bit_value(code: int, value: int) -> None:
    validate_setting(code, value)


@pytest.mark.parametrize("value", [-1, 2**32])
def test_values_outside_32_bits_are_refused(value: int) -> None:
    assert refused(SettingCode.HEADER_TABLE_SIZE, value) is PROTOCOL
    assert refused(0x99, value) is PROTOCOL


def test_defaults_are_the_rfc_initial_values() -> None:
    s = Settings()
    assert s.header_table_size == 4096
    assert s.enable_push is True
    assert s.max_concurrent_streams is None
    assert s.initial_window_size == 65535
    assert s.max_frame_size == 16384
    assert s.max_header_list_size is None
    assert s.enable_connect_protocol is False
    assert s.pairs() == ()
    assert s.get(SettingCode.INITIAL_WINDOW_SIZE) == 65535
    assert s.get(SettingCode.ENABLE_PUSH) == 1
    assert s.get(SettingCode.MAX_CONCURRENT_STREAMS) is None
    assert s.get(0x99) is None


def test_apply_sets_values_and_reports_them() -> None:
    s = Settings()
    changed = s.apply([(1, 0), (2, 0), (3, 100), (4, 1), (5, 16385), (6, 8192), (8, 1)])
    assert changed == {1: 0, 2: 0, 3: 100, 4: 1, 5: 16385, 6: 8192, 8: 1}
    assert all(isinstance(k, SettingCode) for k in changed)
    assert s == Settings(
        header_table_size=0,
        enable_push=False,
        max_concurrent_streams=100,
        initial_window_size=1,
        max_frame_size=16385,
        max_header_list_size=8192,
        enable_connect_protocol=True,
    )
    assert s.enable_push is False and s.enable_connect_protocol is True
    assert dict(s.pairs()) == changed


def test_apply_last_duplicate_wins_and_unknown_codes_are_ignored() -> None:
    s = Settings()
    changed = s.apply([(4, 10), (0x99, 123), (0, 5), (4, 20)])
    assert changed == {SettingCode.INITIAL_WINDOW_SIZE: 20}
    assert s.initial_window_size == 20
    assert s.apply([]) == {}
    # a repeated value is still reported: the peer did send it
    assert s.apply([(4, 20)]) == {SettingCode.INITIAL_WINDOW_SIZE: 20}


@pytest.mark.parametrize(
    ("pair", "code"),
    [
        ((2, 2), ErrorCode.PROTOCOL_ERROR),
        ((4, 2**31), ErrorCode.FLOW_CONTROL_ERROR),
        ((5, 16383), ErrorCode.PROTOCOL_ERROR),
        ((5, 16777216), ErrorCode.PROTOCOL_ERROR),
        ((8, 2), ErrorCode.PROTOCOL_ERROR),
    ],
)
def test_apply_is_all_or_nothing(pair: tuple[int, int], code: ErrorCode) -> None:
    s = Settings()
    with pytest.raises(H2ConnectionError) as info:
        s.apply([(3, 7), (4, 100), pair])
    assert info.value.error_code is code
    assert s == Settings()


def test_connect_protocol_cannot_be_withdrawn() -> None:
    s = Settings()
    s.apply([(8, 0)])  # 0 while it was never on is fine
    s.apply([(8, 1)])
    s.apply([(8, 1)])
    with pytest.raises(H2ConnectionError) as info:
        s.apply([(3, 1), (8, 0)])
    assert info.value.error_code is PROTOCOL
    assert s.enable_connect_protocol is True and s.max_concurrent_streams is None


def test_settings_parsed_from_the_wire_apply_cleanly() -> None:
    wire = serialize(SettingsFrame(((4, 2**31 - 1), (0x1234, 9), (5, 2**24 - 1))))
    parser = FrameParser()
    parser.feed(wire)
    frame = parser.next_frame()
    assert isinstance(frame, SettingsFrame)
    s = Settings()
    assert s.apply(frame.settings) == {4: 2**31 - 1, 5: 2**24 - 1}
    assert s.max_frame_size == 2**24 - 1


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1)), max_size=10))
def test_any_wire_pairs_apply_or_raise_a_connection_error(pairs: list[tuple[int, int]]) -> None:
    s = Settings()
    before = Settings()
    try:
        changed = s.apply(pairs)
    except H2ConnectionError as exc:
        assert exc.error_code in (ErrorCode.PROTOCOL_ERROR, ErrorCode.FLOW_CONTROL_ERROR)
        assert s == before
    else:
        assert set(changed) <= set(SettingCode)
        for code, value in changed.items():
            assert s.get(code) == value


def test_error_classes() -> None:
    conn = H2ConnectionError("bad", ErrorCode.FRAME_SIZE_ERROR)
    assert isinstance(conn, RemoteProtocolError)
    assert conn.error_code is ErrorCode.FRAME_SIZE_ERROR and str(conn) == "bad"
    assert H2ConnectionError("x").error_code is ErrorCode.PROTOCOL_ERROR
    stream = H2StreamError("worse", 5, ErrorCode.REFUSED_STREAM)
    assert isinstance(stream, RemoteProtocolError)
    assert (stream.stream_id, stream.error_code, stream.frame) == (
        5,
        ErrorCode.REFUSED_STREAM,
        None,
    )
    assert H2StreamError("y", 3).error_code is ErrorCode.PROTOCOL_ERROR
    copy = pickle.loads(pickle.dumps(stream))
    assert (type(copy), copy.stream_id, copy.error_code, str(copy)) == (
        H2StreamError,
        5,
        ErrorCode.REFUSED_STREAM,
        "worse",
    )
