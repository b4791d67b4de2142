"""A fluent request builder, for requests put together in several places.

::

    req = client.build("POST", "https://api.example.com/items")
    req.header("X-Trace", trace_id).param("dry_run", 1).json({"name": "x"}).timeout(5)
    if token:
        req.auth(BearerAuth(token))
    response = req.send()

Each method returns the builder; nothing is sent before :meth:`RequestBuilder.send`
(or :meth:`RequestBuilder.stream`). A builder can be sent more than once; the
options are copied at each send.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from sockit.errors import LocalProtocolError
from sockit.proto.http import URL

if TYPE_CHECKING:
    from sockit.client.body import BodyInput
    from sockit.client.conveniences import Conveniences, RequestOptions
    from sockit.client.flow import AuthFlow
    from sockit.client.response import Response
    from sockit.client.timeouts import TimeoutSpec
    from sockit.proto.http.forms import FieldValue, FileSpec

__all__ = ["RequestBuilder"]


class RequestBuilder:
    """Collects a request's parts; :meth:`send` hands them to the client's ``request``."""

    def __init__(self, client: Conveniences, method: str, url: str | URL) -> None:
        self._client = client
        self.method = method
        self.url = url
        self._headers: list[tuple[str, str]] = []
        self._params: list[tuple[str, FieldValue]] = []
        self._options: RequestOptions = {}

    def header(self, name: str, value: str) -> RequestBuilder:
        """Add a header field (repeat for several values)."""
        self._headers.append((name, value))
        return self

    def headers(self, fields: Mapping[str, str]) -> RequestBuilder:
        """Add several header fields."""
        self._headers.extend(fields.items())
        return self

    def param(self, name: str, value: FieldValue) -> RequestBuilder:
        """Add a query parameter."""
        self._params.append((name, value))
        return self

    def body(self, body: BodyInput) -> RequestBuilder:
        """Send ``body`` (bytes, str, a file or an iterable of bytes)."""
        self._body_once("body")
        self._options["body"] = body
        return self

    def json(self, value: object) -> RequestBuilder:
        """Send ``value`` as JSON."""
        self._body_once("json")
        self._options["json"] = value
        return self

    def form(self, fields: Mapping[str, FieldValue],
             files: Mapping[str, FileSpec] | None = None) -> RequestBuilder:
        """Send a form: URL-encoded, or ``multipart/form-data`` when ``files`` are given."""
        self._body_once("data")
        self._options["data"] = fields
        if files is not None:
            self._options["files"] = files
        return self

    def auth(self, auth: AuthFlow) -> RequestBuilder:
        """Authenticate this request with ``auth``."""
        self._options["auth"] = auth
        return self

    def timeout(self, timeout: TimeoutSpec) -> RequestBuilder:
        """Bound the request (seconds per phase, or ``Timeouts``)."""
        self._options["timeout"] = timeout
        return self

    def follow_redirects(self, follow: bool = True) -> RequestBuilder:
        """Follow (or not) redirects for this request."""
        self._options["follow_redirects"] = follow
        return self

    def _body_once(self, kind: str) -> None:
        taken = {"body", "json", "data"} & set(self._options)
        if taken - {kind}:
            raise LocalProtocolError(f"the request already has a {taken.pop()} body")

    def options(self) -> RequestOptions:
        """The keyword arguments :meth:`send` passes to ``request`` (a copy)."""
        opts: RequestOptions = {**self._options}
        if self._headers:
            opts["headers"] = list(self._headers)
        if self._params:
            opts["params"] = list(self._params)
        return opts

    def send(self) -> Response:
        """Send the request; the response (body read)."""
        return self._client._call(self.method, self.url, self.options())

    def stream(self) -> AbstractContextManager[Response]:
        """Send it with a streamed body: ``with builder.stream() as r: ...``."""
        opts = self.options()
        return self._client.stream(self.method, self.url, **opts)

    def __repr__(self) -> str:
        return f"<RequestBuilder {self.method} {self.url}>"
