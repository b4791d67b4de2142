"""The one-liners over :meth:`HTTPClient.request`: verbs, ``stream``, ``download``, ``upload``.

Kept apart from the client's machinery so each file stays about one thing;
:class:`~sockit.client.HTTPClient` inherits them.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.http import URL, HeadersInput

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from sockit.client.body import BodyInput
    from sockit.client.builder import RequestBuilder
    from sockit.client.flow import AuthFlow
    from sockit.client.response import Response
    from sockit.client.timeouts import TimeoutSpec
    from sockit.proto.http.forms import Fields, FileSpec

__all__ = ["Conveniences", "DownloadResult", "Options", "RequestOptions"]

_CHUNK = 256 * 1024


class Options(TypedDict, total=False):
    """The keyword arguments the one-liners with a body argument pass on to ``request``."""

    params: Fields | None
    headers: HeadersInput | None
    json: object
    data: Fields | None
    files: Mapping[str, FileSpec] | None
    auth: AuthFlow | None
    trailers: HeadersInput | None
    timeout: TimeoutSpec
    stream: bool
    decode_content: bool | None
    follow_redirects: bool | None


class RequestOptions(Options, total=False):
    """The keyword arguments every one-liner passes on to :meth:`HTTPClient.request`."""

    body: BodyInput


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """What :meth:`Conveniences.download` did."""

    path: str
    status_code: int
    #: bytes written by this call (not counting what a resumed file already held)
    written: int
    #: the file's size afterwards
    size: int
    resumed: bool


class Conveniences:
    """Verb shortcuts and file transfers; needs ``request()`` from the class using it."""

    def _call(self, method: str, url: str | URL, options: RequestOptions) -> Response:
        """``request(method, url, **options)`` (implemented by ``HTTPClient``)."""
        raise NotImplementedError  # pragma: no cover

    def get(self, url: str | URL, **options: Unpack[RequestOptions]) -> Response:
        """``request("GET", url, ...)``."""
        return self._call("GET", url, options)

    def head(self, url: str | URL, **options: Unpack[RequestOptions]) -> Response:
        """``request("HEAD", url, ...)``."""
        return self._call("HEAD", url, options)

    def options(self, url: str | URL, **options: Unpack[RequestOptions]) -> Response:
        """``request("OPTIONS", url, ...)``."""
        return self._call("OPTIONS", url, options)

    def post(
        self, url: str | URL, body: BodyInput = None, **options: Unpack[Options]
    ) -> Response:
        """``request("POST", url, body=body, ...)``."""
        return self._call("POST", url, {**options, "body": body})

    def put(
        self, url: str | URL, body: BodyInput = None, **options: Unpack[Options]
    ) -> Response:
        """``request("PUT", url, body=body, ...)``."""
        return self._call("PUT", url, {**options, "body": body})

    def patch(
        self, url: str | URL, body: BodyInput = None, **options: Unpack[Options]
    ) -> Response:
        """``request("PATCH", url, body=body, ...)``."""
        return self._call("PATCH", url, {**options, "body": body})

    def delete(self, url: str | URL, **options: Unpack[RequestOptions]) -> Response:
        """``request("DELETE", url, ...)``."""
        return self._call("DELETE", url, options)

    def build(self, method: str, url: str | URL) -> RequestBuilder:
        """A :class:`~sockit.client.builder.RequestBuilder` for ``method url``."""
        from sockit.client.builder import RequestBuilder  # noqa: PLC0415 - it imports us

        return RequestBuilder(self, method, url)

    @contextlib.contextmanager
    def stream(
        self, method: str, url: str | URL, **options: Unpack[RequestOptions]
    ) -> Iterator[Response]:
        """``with client.stream("GET", url) as r: for chunk in r.iter_bytes(): ...``.

        The response is closed when the block ends, read to the end or not
        (an unread body costs its connection, never a leak).
        """
        options["stream"] = True
        response = self._call(method, url, options)
        try:
            yield response
        finally:
            response.close()

    def download(
        self,
        url: str | URL,
        path: str | os.PathLike[str],
        *,
        resume: bool = True,
        **options: Unpack[RequestOptions],
    ) -> DownloadResult:
        """Save ``url`` to ``path``, streaming; with ``resume``, continue a partial file by Range.

        A server that ignores the Range (``200``) gets the file rewritten from
        the start; ``416`` with ``Content-Range: bytes */N`` equal to the
        file's size means it was complete already. Other statuses >= 400
        raise (the partial file is kept, to resume later).
        """
        target = os.fspath(path)
        have = os.path.getsize(target) if resume and os.path.exists(target) else 0
        headers = dict(_header_pairs(options.get("headers")))
        if have:
            headers["Range"] = f"bytes={have}-"
        opts: RequestOptions = {**options, "headers": list(headers.items())}
        with self.stream("GET", url, **opts) as r:
            status = r.status_code
            if status == 416 and have:
                total = (r.headers.get("content-range") or "").rpartition("/")[2]
                if total.isdigit() and int(total) == have:
                    return DownloadResult(target, status, 0, have, resumed=True)
            r.raise_for_status()
            resumed = status == 206 and have > 0
            if status == 206 and not (r.headers.get("content-range") or "").startswith(
                f"bytes {have}-"
            ):
                raise RemoteProtocolError(
                    f"asked for bytes {have}- but got Content-Range "
                    f"{r.headers.get('content-range')!r}"
                )
            written = 0
            with open(target, "ab" if resumed else "wb") as out:
                for chunk in r.iter_bytes(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
        return DownloadResult(target, status, written, os.path.getsize(target), resumed)

    def upload(
        self,
        url: str | URL,
        path: str | os.PathLike[str],
        *,
        method: str = "PUT",
        content_type: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Response:
        """Send the file at ``path`` as the body (streamed, with its Content-Length)."""
        if "body" in options or "json" in options or "data" in options:
            raise LocalProtocolError("upload() sends the file: no body=, json= or data=")
        name = os.fspath(path)
        ctype = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = dict(_header_pairs(options.get("headers")))
        headers.setdefault("Content-Type", ctype)
        with open(name, "rb") as fh:
            opts: RequestOptions = {**options, "headers": list(headers.items()), "body": fh}
            return self._call(method, url, opts)


def _header_pairs(headers: HeadersInput | None) -> list[tuple[str, str]]:
    from sockit.proto.http import Headers  # noqa: PLC0415 - tiny helper, avoid a cycle

    if headers is None:
        return []
    return list((headers if isinstance(headers, Headers) else Headers(headers)).items())
