"""The exception hierarchy: shape, attributes, OSError compatibility, pickling."""

from __future__ import annotations

import errno
import pickle

import pytest

import sockit
from sockit import errors


def test_hierarchy_matches_architecture() -> None:
    assert issubclass(errors.LocalProtocolError, errors.ProtocolError)
    assert issubclass(errors.RemoteProtocolError, errors.ProtocolError)
    assert issubclass(errors.LimitExceeded, errors.RemoteProtocolError)
    assert issubclass(errors.ProtocolError, errors.SockitError)
    for cls in (errors.TLSError, errors.ProxyError, errors.NetworkError, errors.Timeout):
        assert issubclass(cls, errors.SockitError)
    for cls in (errors.ConnectError, errors.ConnectionClosed, errors.AddressError,
                errors.MessageTooLarge):
        assert issubclass(cls, errors.NetworkError)
        assert issubclass(cls, OSError)
    assert issubclass(errors.Timeout, TimeoutError)


def test_protocol_error_carries_codes() -> None:
    exc = errors.RemoteProtocolError("bad header", error_code=7, http_status=431)
    assert (exc.error_code, exc.http_status, str(exc)) == (7, 431, "bad header")
    assert errors.RemoteProtocolError("x").http_status == 400
    assert errors.LocalProtocolError("x").http_status is None


def test_limit_exceeded_names_the_limit() -> None:
    exc = errors.LimitExceeded("too many", limit="max_header_count", value=100, http_status=431)
    assert exc.limit == "max_header_count"
    assert exc.value == 100
    assert exc.http_status == 431
    with pytest.raises(errors.RemoteProtocolError):
        raise exc


def test_network_error_is_an_oserror_with_errno() -> None:
    exc = errors.ConnectError(errno.ECONNREFUSED, "Connection refused")
    assert exc.errno == errno.ECONNREFUSED
    assert exc.strerror == "Connection refused"
    assert "Connection refused" in str(exc)
    with pytest.raises(OSError) as info:
        raise exc
    assert info.value.errno == errno.ECONNREFUSED


def test_timeout_phase_is_validated() -> None:
    exc = errors.Timeout("connect took too long", phase="connect")
    assert exc.phase is errors.Phase.CONNECT
    assert str(exc) == "connect took too long"
    with pytest.raises(ValueError):
        errors.Timeout("x", phase="lunch")


def test_proxy_error_reply_code() -> None:
    assert errors.ProxyError("refused", reply_code=5).reply_code == 5


@pytest.mark.parametrize(
    "exc",
    [
        errors.RemoteProtocolError("r", error_code=1, http_status=413),
        errors.LimitExceeded("l", limit="max_body_size", value=10, http_status=413),
        errors.Timeout("t", phase="read"),
        errors.ConnectError(errno.ECONNREFUSED, "refused"),
        errors.ProxyError("p", reply_code=2),
    ],
)
def test_exceptions_survive_pickling(exc: Exception) -> None:
    """Errors cross process boundaries (worker pools) intact."""
    clone = pickle.loads(pickle.dumps(exc))
    assert type(clone) is type(exc)
    assert str(clone) == str(exc)
    for attr in ("error_code", "http_status", "limit", "value", "phase", "errno", "reply_code"):
        assert getattr(clone, attr, None) == getattr(exc, attr, None)


def test_public_names_exported() -> None:
    for name in ("SockitError", "LimitExceeded", "Timeout", "NetworkError"):
        assert getattr(sockit, name) is getattr(errors, name)
