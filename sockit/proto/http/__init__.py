"""HTTP semantics shared by HTTP/1.1 and HTTP/2 (RFC 9110, RFC 3986).

Fields (:class:`Headers`), URIs and request-targets (:class:`URL`), dates,
methods, status codes, media types, content negotiation, Cache-Control and
range requests. Everything here is sans-I/O and version-independent; message
framing lives in :mod:`sockit.proto.http1` and :mod:`sockit.proto.http2`.

Errors: text from the peer that breaks a grammar raises
:class:`~sockit.errors.RemoteProtocolError` subclasses (:class:`InvalidHeader`,
:class:`InvalidDate`, :class:`InvalidURL`, or ``LimitExceeded``); misuse of
the API raises :class:`~sockit.errors.LocalProtocolError`.
"""

from __future__ import annotations

from sockit.proto.http.accept import (
    MediaRange,
    QualityItem,
    best_encoding,
    best_language,
    best_match,
    media_quality,
    parse_accept,
    parse_accept_encoding,
    parse_accept_language,
    parse_qvalue,
)
from sockit.proto.http.cache_control import CacheControl
from sockit.proto.http.dates import format_http_date, parse_http_date, try_parse_http_date
from sockit.proto.http.exceptions import InvalidDate, InvalidHeader, InvalidURL
from sockit.proto.http.headers import Headers, HeadersInput, is_valid_name, is_valid_value
from sockit.proto.http.mediatype import MediaType
from sockit.proto.http.methods import (
    Method,
    is_cacheable,
    is_idempotent,
    is_known_method,
    is_safe,
    is_valid_method,
)
from sockit.proto.http.percent import (
    encode_query,
    normalize_percent_encoding,
    parse_query,
    quote,
    unquote,
    unquote_to_bytes,
)
from sockit.proto.http.range import (
    ByteRange,
    ContentRange,
    RangeRequest,
    format_content_range,
    format_unsatisfied_range,
    parse_content_range,
    parse_range,
)
from sockit.proto.http.status import (
    HTTPStatus,
    StatusClass,
    is_valid_status,
    reason_phrase,
    status_allows_body,
    status_class,
)
from sockit.proto.http.syntax import is_token, quote_string, split_list
from sockit.proto.http.url import DEFAULT_PORTS, URL, Origin, remove_dot_segments

__all__ = [
    "DEFAULT_PORTS",
    "URL",
    "ByteRange",
    "CacheControl",
    "ContentRange",
    "HTTPStatus",
    "Headers",
    "HeadersInput",
    "InvalidDate",
    "InvalidHeader",
    "InvalidURL",
    "MediaRange",
    "MediaType",
    "Method",
    "Origin",
    "QualityItem",
    "RangeRequest",
    "StatusClass",
    "best_encoding",
    "best_language",
    "best_match",
    "encode_query",
    "format_content_range",
    "format_http_date",
    "format_unsatisfied_range",
    "is_cacheable",
    "is_idempotent",
    "is_known_method",
    "is_safe",
    "is_token",
    "is_valid_method",
    "is_valid_name",
    "is_valid_status",
    "is_valid_value",
    "media_quality",
    "normalize_percent_encoding",
    "parse_accept",
    "parse_accept_encoding",
    "parse_accept_language",
    "parse_content_range",
    "parse_http_date",
    "parse_qvalue",
    "parse_query",
    "parse_range",
    "quote",
    "quote_string",
    "reason_phrase",
    "remove_dot_segments",
    "split_list",
    "status_allows_body",
    "status_class",
    "try_parse_http_date",
    "unquote",
    "unquote_to_bytes",
]
