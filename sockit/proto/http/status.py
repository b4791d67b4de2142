"""Status codes, reason phrases and classes (RFC 9110 §15).

The table holds the codes in the IANA HTTP Status Code Registry that are not
marked unused or obsoleted (so no 306, 418 or 510). Any three-digit code in
100-599 is valid on the wire; unknown ones are handled as the ``x00`` of
their class (RFC 9110 §15) and get an empty reason phrase.
"""

from __future__ import annotations

import enum

from sockit.errors import LocalProtocolError

__all__ = [
    "HTTPStatus",
    "StatusClass",
    "is_client_error",
    "is_informational",
    "is_redirect",
    "is_server_error",
    "is_success",
    "is_valid_status",
    "reason_phrase",
    "status_allows_body",
    "status_class",
]


class StatusClass(enum.IntEnum):
    """The five classes, valued by their first digit."""

    INFORMATIONAL = 1
    SUCCESSFUL = 2
    REDIRECTION = 3
    CLIENT_ERROR = 4
    SERVER_ERROR = 5


class HTTPStatus(enum.IntEnum):
    """Registered status codes; ``.phrase`` is the registry's reason phrase."""

    CONTINUE = 100
    SWITCHING_PROTOCOLS = 101
    PROCESSING = 102
    EARLY_HINTS = 103
    OK = 200
    CREATED = 201
    ACCEPTED = 202
    NON_AUTHORITATIVE_INFORMATION = 203
    NO_CONTENT = 204
    RESET_CONTENT = 205
    PARTIAL_CONTENT = 206
    MULTI_STATUS = 207
    ALREADY_REPORTED = 208
    IM_USED = 226
    MULTIPLE_CHOICES = 300
    MOVED_PERMANENTLY = 301
    FOUND = 302
    SEE_OTHER = 303
    NOT_MODIFIED = 304
    USE_PROXY = 305
    TEMPORARY_REDIRECT = 307
    PERMANENT_REDIRECT = 308
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    PAYMENT_REQUIRED = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406
    PROXY_AUTHENTICATION_REQUIRED = 407
    REQUEST_TIMEOUT = 408
    CONFLICT = 409
    GONE = 410
    LENGTH_REQUIRED = 411
    PRECONDITION_FAILED = 412
    CONTENT_TOO_LARGE = 413
    URI_TOO_LONG = 414
    UNSUPPORTED_MEDIA_TYPE = 415
    RANGE_NOT_SATISFIABLE = 416
    EXPECTATION_FAILED = 417
    MISDIRECTED_REQUEST = 421
    UNPROCESSABLE_CONTENT = 422
    LOCKED = 423
    FAILED_DEPENDENCY = 424
    TOO_EARLY = 425
    UPGRADE_REQUIRED = 426
    PRECONDITION_REQUIRED = 428
    TOO_MANY_REQUESTS = 429
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431
    UNAVAILABLE_FOR_LEGAL_REASONS = 451
    INTERNAL_SERVER_ERROR = 500
    NOT_IMPLEMENTED = 501
    BAD_GATEWAY = 502
    SERVICE_UNAVAILABLE = 503
    GATEWAY_TIMEOUT = 504
    HTTP_VERSION_NOT_SUPPORTED = 505
    VARIANT_ALSO_NEGOTIATES = 506
    INSUFFICIENT_STORAGE = 507
    LOOP_DETECTED = 508
    NETWORK_AUTHENTICATION_REQUIRED = 511

    @property
    def phrase(self) -> str:
        """The registered reason phrase."""
        return _PHRASES[self.value]

    @property
    def status_class(self) -> StatusClass:
        """The class of this status (first digit)."""
        return StatusClass(self.value // 100)


_PHRASES: dict[int, str] = {
    100: "Continue",
    101: "Switching Protocols",
    102: "Processing",
    103: "Early Hints",
    200: "OK",
    201: "Created",
    202: "Accepted",
    203: "Non-Authoritative Information",
    204: "No Content",
    205: "Reset Content",
    206: "Partial Content",
    207: "Multi-Status",
    208: "Already Reported",
    226: "IM Used",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    304: "Not Modified",
    305: "Use Proxy",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    417: "Expectation Failed",
    421: "Misdirected Request",
    422: "Unprocessable Content",
    423: "Locked",
    424: "Failed Dependency",
    425: "Too Early",
    426: "Upgrade Required",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
    506: "Variant Also Negotiates",
    507: "Insufficient Storage",
    508: "Loop Detected",
    511: "Network Authentication Required",
}


def is_valid_status(code: int) -> bool:
    """Whether ``code`` is a valid status code (an int in 100-599)."""
    return isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599


def _checked(code: int) -> int:
    if not is_valid_status(code):
        raise LocalProtocolError(f"invalid status code {code!r}")
    return int(code)


def reason_phrase(code: int) -> str:
    """The registered reason phrase, ``""`` for an unregistered valid code.

    Raises :class:`LocalProtocolError` for a code outside 100-599.
    """
    return _PHRASES.get(_checked(code), "")


def status_class(code: int) -> StatusClass:
    """The :class:`StatusClass` of a valid code."""
    return StatusClass(_checked(code) // 100)


def is_informational(code: int) -> bool:
    """1xx: interim response."""
    return 100 <= code <= 199


def is_success(code: int) -> bool:
    """2xx."""
    return 200 <= code <= 299


def is_redirect(code: int) -> bool:
    """3xx (not every 3xx has a Location: 300 and 304 may not)."""
    return 300 <= code <= 399


def is_client_error(code: int) -> bool:
    """4xx."""
    return 400 <= code <= 499


def is_server_error(code: int) -> bool:
    """5xx."""
    return 500 <= code <= 599


def status_allows_body(code: int) -> bool:
    """Whether a response with ``code`` can have content (not 1xx, 204, 304).

    The request method matters too (HEAD, 2xx to CONNECT); that is the
    message framing layer's business.
    """
    return not (100 <= code <= 199 or code in (204, 304))
