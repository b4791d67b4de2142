"""Method properties and the status code table."""

from __future__ import annotations

import pytest

from sockit.errors import LocalProtocolError
from sockit.proto.http import (
    HTTPStatus,
    Method,
    StatusClass,
    is_cacheable,
    is_idempotent,
    is_known_method,
    is_safe,
    is_valid_method,
    is_valid_status,
    reason_phrase,
    status_allows_body,
    status_class,
)
from sockit.proto.http.status import (
    is_client_error,
    is_informational,
    is_redirect,
    is_server_error,
    is_success,
)


def test_method_properties() -> None:
    assert [m for m in Method if is_safe(m)] == [
        Method.GET,
        Method.HEAD,
        Method.OPTIONS,
        Method.TRACE,
    ]
    assert {m.value for m in Method if is_idempotent(m)} == {
        "GET",
        "HEAD",
        "OPTIONS",
        "TRACE",
        "PUT",
        "DELETE",
    }
    assert {m.value for m in Method if is_cacheable(m)} == {"GET", "HEAD", "POST"}
    assert not is_idempotent("POST")
    assert not is_idempotent("PATCH")
    assert not is_safe("CONNECT")
    assert is_safe(b"GET") and is_idempotent(b"PUT") and is_cacheable(b"HEAD")
    assert is_known_method(b"PATCH") and not is_known_method(b"get")


def test_methods_are_case_sensitive() -> None:
    assert is_known_method("GET")
    assert not is_known_method("get")
    assert not is_safe("get")
    assert is_valid_method("get")
    assert Method.GET == "GET"
    assert str(Method.PATCH) == "PATCH"


def test_method_token_validation() -> None:
    assert is_valid_method("M-SEARCH")
    assert is_valid_method(b"PROPFIND")
    for bad in ["", "GET ", "G(ET", "GÉT", "GET\r\n"]:
        assert not is_valid_method(bad)


def test_status_table() -> None:
    assert int(HTTPStatus.NOT_FOUND) == 404
    assert HTTPStatus(404).phrase == "Not Found"
    assert HTTPStatus.CONTENT_TOO_LARGE.phrase == "Content Too Large"  # RFC 9110 name
    assert HTTPStatus(422).phrase == "Unprocessable Content"
    assert HTTPStatus.NOT_FOUND.status_class is StatusClass.CLIENT_ERROR
    for code in (103, 421, 425, 428, 429, 431, 451):
        assert reason_phrase(code)
    for unregistered in (306, 418, 510, 599):
        with pytest.raises(ValueError):
            HTTPStatus(unregistered)
        assert reason_phrase(unregistered) == ""


def test_reason_phrase_and_class_validate() -> None:
    assert reason_phrase(200) == "OK"
    assert reason_phrase(HTTPStatus.IM_USED) == "IM Used"
    assert status_class(299) is StatusClass.SUCCESSFUL
    assert status_class(HTTPStatus.BAD_GATEWAY) is StatusClass.SERVER_ERROR
    for bad in (99, 600, 1000, -1, True):
        assert not is_valid_status(bad)
        with pytest.raises(LocalProtocolError):
            reason_phrase(bad)
        with pytest.raises(LocalProtocolError):
            status_class(bad)


def test_classification() -> None:
    assert is_informational(101) and not is_informational(200)
    assert is_success(204) and not is_success(300)
    assert is_redirect(308) and not is_redirect(400)
    assert is_client_error(451) and not is_client_error(500)
    assert is_server_error(599) and not is_server_error(600)


def test_status_allows_body() -> None:
    assert not status_allows_body(100)
    assert not status_allows_body(103)
    assert not status_allows_body(204)
    assert not status_allows_body(304)
    assert status_allows_body(200)
    assert status_allows_body(404)
