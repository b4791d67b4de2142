"""The blocking HTTP/1.1 client: :class:`HTTPClient`.

::

    from sockit import HTTPClient

    with HTTPClient() as client:
        r = client.get("http://127.0.0.1:8080/hello", timeout=5.0)
        r.raise_for_status()
        print(r.status_code, r.headers["content-type"], r.text)

        with client.get("http://127.0.0.1:8080/big", stream=True) as r:
            for chunk in r.iter_bytes():
                ...

One client is meant to be shared: it is thread-safe, and its pool keeps
connections alive per origin. See ``docs/client.md`` for pooling, timeouts
and their phases, streaming, errors, and what is not there yet.

The one retry: an idempotent request (GET, HEAD, OPTIONS, TRACE, PUT,
DELETE — RFC 9110 section 9.2.2) sent on a *pooled* connection that fails
before a single response byte arrives (the server closed or reset the
connection while it sat idle, a race no check before reuse can rule out) is
sent once more on a fresh connection, provided its body can be sent again
(no body, ``bytes``/``str``, or a seekable file; not an iterator). A POST is
never sent twice behind the caller's back: the server may have acted on it.
Anything more is the opt-in ``retry=`` policy.
"""

from __future__ import annotations

import dataclasses
import datetime
import json as _json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Final

from sockit._closing import Closing
from sockit._version import __version__
from sockit.client.body import BodyInput, RequestBody, prepare_body
from sockit.client.connection import HTTPConnection, connect_origin, open_connection
from sockit.client.conveniences import Conveniences, RequestOptions
from sockit.client.cookies import CookieJar
from sockit.client.flow import AuthFlow, CookieStore, FlowPolicy
from sockit.client.flow import run as run_flow
from sockit.client.h2conn import H2ClientConnection, H2Stream
from sockit.client.pool import ConnectionPool, PoolStats
from sockit.client.proxying import ProxyChooser
from sockit.client.response import BodySource, BodyStream, Response, SourceKeeper
from sockit.client.timeouts import Deadlines, TimeoutSpec, resolve_timeouts
from sockit.client.tlsio import CertArg, TLSTransport, client_tls_context
from sockit.errors import (
    ConnectionClosed,
    LimitExceeded,
    LocalProtocolError,
    NetworkError,
    Phase,
    RemoteProtocolError,
    SockitError,
)
from sockit.limits import ClientLimits
from sockit.net.retry import Retry
from sockit.observe import REGISTRY, get_logger, log_event
from sockit.proto.http import URL, Headers, HeadersInput
from sockit.proto.http.forms import Fields, FileSpec, encode_form, encode_multipart, encode_query
from sockit.proto.http.url import Origin
from sockit.proto.http1 import HTTP1Config, InformationalResponse, Request
from sockit.proto.http1 import Response as H1Response
from sockit.proto.http1.coding import decoder_for, parse_content_encoding, supported_codings
from sockit.proto.http2 import H2Config
from sockit.proto.proxy_url import ProxyURL
from sockit.proto.tls import TLSContext

__all__ = ["HTTPClient"]

_log = get_logger("client")
_monotonic: Final = time.monotonic
_SCHEMES: Final = frozenset({"http", "https", "http+unix"})
_URL_CACHE_SIZE: Final = 512
_VERSIONS: Final = {b"1.1": "HTTP/1.1", b"1.0": "HTTP/1.0", b"2": "HTTP/2"}
_FRAMING: Final = frozenset({b"content-length", b"transfer-encoding"})
_DECODABLE: Final = frozenset(supported_codings())
_AUTHORITY_END: Final = re.compile(r"[/?#]")

_REQUESTS = REGISTRY.counter(
    "sockit_client_requests_total", "HTTP client requests that got a response head"
)
_RETRIES = REGISTRY.counter(
    "sockit_client_stale_retries_total",
    "Requests re-sent once because a pooled connection had gone stale",
)

#: A parsed request URL: the URL, its origin, request-target and Host value.
_Target = tuple[URL, Origin, bytes, bytes]


def _parse_url(url: str | URL) -> _Target:
    """Check a URL for sending; LocalProtocolError for anything we cannot send."""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = URL.parse(url, lenient=True)
        except RemoteProtocolError as exc:  # InvalidURL: the caller's text, not the peer's
            raise LocalProtocolError(f"invalid URL {url!r}: {exc.message}") from None
    scheme = parsed.scheme
    if scheme not in _SCHEMES:
        raise LocalProtocolError(f"unsupported URL scheme {scheme!r} in {str(parsed)!r}")
    if not parsed.host:
        raise LocalProtocolError(f"URL without a host: {str(parsed)!r}")
    if parsed.userinfo is not None:
        raise LocalProtocolError(
            "credentials in URLs are not supported yet (authentication is a later issue)"
        )
    if scheme == "http+unix":
        # URL.parse lowercases hosts, but a socket path is case-sensitive:
        # take the authority from the text as written.
        host = parsed.host
        if isinstance(url, str):
            host = _AUTHORITY_END.split(url.split("://", 1)[1], maxsplit=1)[0]
        origin = Origin(scheme, host, None)
        host_header = b"localhost"
    else:
        origin = Origin(scheme, parsed.host, parsed.effective_port)
        host_header = (parsed.host_header or "").encode("ascii")
    return parsed, origin, parsed.request_target.encode("ascii"), host_header


#: methods whose request may be sent twice (RFC 9110 section 9.2.2): the stale-connection retry
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_NO_JSON: Final = object()  # json=None is a valid JSON body ("null"): this means "not given"


def _with_params(url: str | URL, params: Fields) -> URL:
    """``url`` with ``params`` appended to its query."""
    parsed = url if isinstance(url, URL) else _parse_url(url)[0]
    extra = encode_query(params)
    if not extra:
        return parsed
    query = f"{parsed.query}&{extra}" if parsed.query else extra
    return parsed.replace(query=query)


def _encode_body(
    body: BodyInput,
    json_value: object,
    data: Fields | None,
    files: Mapping[str, FileSpec] | None,
) -> tuple[bytes, str]:
    """The bytes and Content-Type for ``json=``, ``data=`` or ``files=``."""
    if body is not None or (json_value is not _NO_JSON and (data is not None or files)):
        raise LocalProtocolError("give one of body=, json= and data=/files=")
    if json_value is not _NO_JSON:
        try:
            text = _json.dumps(json_value, ensure_ascii=False, separators=(",", ":"),
                               allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise LocalProtocolError(f"json= is not serialisable: {exc}") from None
        return text.encode("utf-8"), "application/json"
    if files:
        ctype, content = encode_multipart(data, files)
        return content, ctype
    ctype, content = encode_form(data or {})
    return content, ctype


class _NotH2(Exception):
    """An https origin answered ALPN with something other than h2."""


def _method(method: str) -> tuple[str, bytes]:
    """The method upper-cased (as other clients do: ``get`` means GET), text and bytes."""
    if not isinstance(method, str) or not method:
        raise LocalProtocolError(f"method must be a non-empty str, not {method!r}")
    upper = method.upper()
    try:
        return upper, upper.encode("ascii")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"invalid method {method!r}") from None


class HTTPClient(Conveniences, Closing):
    """A thread-safe HTTP/1.1 client with a keep-alive connection pool.

    ``limits`` bounds timeouts, pool sizes and response sizes;
    ``http1`` configures the HTTP/1.1 parser (header limits, lenient mode,
    the decompression cap ``http1.limits.max_decompressed_size``);
    ``headers`` are sent with every request (a request's own headers win);
    ``user_agent`` is the User-Agent (``None`` sends none);
    ``decode_content`` undoes gzip/deflate/br Content-Encoding and sends
    Accept-Encoding accordingly (``False``: bodies are handed out as sent).
    ``http2_prior_knowledge`` speaks HTTP/2 to ``http://`` origins from the
    first byte (no Upgrade round trip): one connection per origin carries
    the requests of every thread as concurrent streams; ``http2`` configures
    that connection.
    ``proxy`` (a URL such as ``socks5h://user:pw@host:1080`` or
    ``http://proxy:3128``, or a :class:`~sockit.proto.proxy_url.ProxyURL`)
    tunnels every connection through that proxy; without it, ``trust_env``
    (default) honours ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY``
    like curl. Every proxy is used as a tunnel (``CONNECT`` for HTTP proxies).
    ``https://`` is verified by default: ``verify=True`` trusts
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (unless ``trust_env=False``) or the system CAs,
    ``verify="ca.pem"`` (or a directory) exactly those, ``verify=False``
    nothing (curl's ``--insecure``); ``cert`` (a PEM with key, or a
    ``(cert, key)`` pair) is the client certificate for mutual TLS; ``tls``
    replaces all of that with your own client :class:`~sockit.proto.tls.TLSContext`.
    With ``http2`` or ``http2_prior_knowledge`` set, ``https://`` origins are
    offered ``h2`` by ALPN and answered over HTTP/2 when the server picks it.
    """

    def __init__(
        self,
        *,
        limits: ClientLimits | None = None,
        http1: HTTP1Config | None = None,
        headers: HeadersInput | None = None,
        user_agent: str | None = f"sockit/{__version__}",
        decode_content: bool = True,
        http2_prior_knowledge: bool = False,
        http2: H2Config | None = None,
        proxy: str | ProxyURL | None = None,
        trust_env: bool = True,
        verify: bool | str | os.PathLike[str] = True,
        cert: CertArg = None,
        tls: TLSContext | None = None,
        auth: AuthFlow | None = None,
        cookies: CookieStore | bool | None = True,
        follow_redirects: bool = True,
        allow_downgrade: bool = False,
        retry: Retry | None = None,
    ) -> None:
        if auth is not None and getattr(auth, "proxy", False):
            raise LocalProtocolError(
                "proxies are tunnels here: put proxy credentials in the proxy URL "
                "(http://user:pass@proxy:3128), not in a proxy=True auth object"
            )
        self._proxies = ProxyChooser(proxy, trust_env=trust_env)
        self._tls_args = (verify, cert, trust_env)
        self._tls_given = tls
        self._tls_contexts: dict[bool, TLSContext] = {}
        #: https origins whose server did not pick h2 by ALPN (asked no more)
        self._no_h2: set[Origin] = set()
        self._limits = ClientLimits() if limits is None else limits
        if not isinstance(self._limits, ClientLimits):
            raise LocalProtocolError("limits must be a ClientLimits")
        #: The cookie jar (``None``: cookies are neither stored nor sent).
        self.cookies: CookieStore | None = (
            CookieJar() if cookies is True else (None if cookies is False else cookies)
        )
        self._flow = FlowPolicy(
            cookies=self.cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            max_redirects=self._limits.max_redirects,
            allow_downgrade=allow_downgrade,
            max_auth_retries=self._limits.max_auth_retries,
            retry=retry,
        )
        self._http1 = HTTP1Config() if http1 is None else http1
        if not isinstance(self._http1, HTTP1Config):
            raise LocalProtocolError("http1 must be an HTTP1Config")
        self._decode = bool(decode_content)
        base = Headers()
        if user_agent is not None:
            base.set("User-Agent", user_agent)
        base.set("Accept", "*/*")
        if self._decode:
            base.set("Accept-Encoding", ", ".join(supported_codings()))
        for name, value in Headers(headers).items() if headers is not None else ():
            base.set(name, value)
        self._base: list[tuple[bytes, bytes]] = base.raw_items()
        self._base_names = frozenset(name.lower() for name, _ in self._base)
        self._urls: dict[str | URL, _Target] = {}
        self._h2_config = http2
        self._h2_enabled = bool(http2_prior_knowledge)
        self._h2_alpn = http2 is not None or self._h2_enabled
        self._h2_conns: dict[Origin, H2ClientConnection] = {}
        self._h2_lock = threading.Lock()
        config = self._http1
        self._pool = ConnectionPool(
            self._limits,
            lambda origin, dl: open_connection(
                origin, dl, config, self._proxies.for_origin(origin),
                self._tls_for(origin, h2=False),
            ),
        )

    # -- life cycle ----------------------------------------------------------

    def close(self) -> None:
        """Close idle connections and refuse new requests (in-flight ones finish)."""
        self._pool.close()
        with self._h2_lock:
            conns = list(self._h2_conns.values())
            self._h2_conns.clear()
        for h2 in conns:
            h2.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._pool.closed


    @property
    def limits(self) -> ClientLimits:
        """The bounds this client was made with."""
        return self._limits

    def pool_stats(self) -> PoolStats:
        """Live and idle connection counts (diagnostics)."""
        return self._pool.stats()

    @property
    def http2_connections(self) -> int:
        """Live HTTP/2 connections (one per origin at most; diagnostics)."""
        with self._h2_lock:
            return sum(1 for conn in self._h2_conns.values() if conn.usable)

    # -- requests ----------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str | URL,
        *,
        params: Fields | None = None,
        headers: HeadersInput | None = None,
        body: BodyInput = None,
        json: object = _NO_JSON,
        data: Fields | None = None,
        files: Mapping[str, FileSpec] | None = None,
        auth: AuthFlow | None = None,
        trailers: HeadersInput | None = None,
        timeout: TimeoutSpec = None,
        stream: bool = False,
        decode_content: bool | None = None,
        follow_redirects: bool | None = None,
    ) -> Response:
        """Send a request (following redirects, answering auth challenges) and return the response.

        ``body``: bytes, str (UTF-8), a binary file, or an iterable of bytes
        (sent chunked); or instead ``json=`` (any JSON-serialisable value),
        ``data=`` (form fields, URL-encoded) or ``files=`` (with ``data``:
        ``multipart/form-data``). ``params`` are added to the URL's query.
        ``auth`` replaces the client's for this request; ``trailers`` are
        sent after a chunked (iterable) body over HTTP/1.1. ``timeout``: seconds
        for each phase, or :class:`~sockit.client.timeouts.Timeouts` (the total
        covers every redirect and retry). ``stream=True`` returns once the
        head has arrived; read the body with ``iter_bytes()`` and close the
        response (or use ``with``). ``decode_content`` and
        ``follow_redirects`` override the client's settings.
        """
        start = _monotonic()
        dl = resolve_timeouts(timeout, self._limits, start)
        method = _method(method)[0]
        if params:
            url = _with_params(url, params)
        own: list[tuple[str, str]] = [] if headers is None else (
            (headers if isinstance(headers, Headers) else Headers(headers)).items()
        )
        if json is not _NO_JSON or data is not None or files is not None:
            body, ctype = _encode_body(body, json, data, files)
            if not any(name.lower() == "content-type" for name, _ in own):
                own = [*own, ("Content-Type", ctype)]
        prepared = prepare_body(body, method)
        if trailers is not None:
            if prepared is None or prepared.length is not None:
                raise LocalProtocolError("trailers need a chunked body (an iterable of bytes)")
            prepared.trailers = trailers if isinstance(trailers, Headers) else Headers(trailers)
        policy = self._flow
        if auth is not None or (follow_redirects is not None
                                and follow_redirects != policy.follow_redirects):
            policy = dataclasses.replace(
                policy,
                auth=auth if auth is not None else policy.auth,
                follow_redirects=policy.follow_redirects if follow_redirects is None
                else follow_redirects,
            )
        first = self._target(url)[0]

        def send(
            method: str, target: URL, more: list[tuple[str, str]], body: RequestBody | None
        ) -> Response:
            # the first hop goes by the caller's text: http+unix paths keep their case
            where = url if target is first else target
            return self._send(method, where, more, body, dl, start, stream, decode_content)

        return run_flow(send, policy, method, first, own, prepared)

    def _call(self, method: str, url: str | URL, options: RequestOptions) -> Response:
        return self.request(method, url, **options)

    def _target(self, url: str | URL) -> _Target:
        target = self._urls.get(url)
        if target is None:
            target = _parse_url(url)
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            self._urls[url] = target
        return target

    def _send(  # noqa: PLR0917 - private, one call site
        self,
        method: str,
        url: str | URL,
        headers: list[tuple[str, str]],
        prepared: RequestBody | None,
        dl: Deadlines,
        start: float,
        stream: bool,
        decode_content: bool | None,
    ) -> Response:
        """One exchange: ``method url`` with the client's headers and ``headers`` (winning)."""
        method_b = method.encode("ascii")
        parsed, origin, request_target, host = self._target(url)
        decode = self._decode if decode_content is None else decode_content
        event = Request(method_b, request_target,
                        self._headers(host, headers or None, prepared, decode))
        if self._wants_h2(origin):
            try:
                scheme = "https" if origin.scheme == "https" else "http"
                h2s, head = self._h2_exchange(origin, scheme, event, prepared, dl)
            except _NotH2:
                pass  # the server chose HTTP/1.1 by ALPN: the pool's path below
            else:
                _REQUESTS.inc()
                return self._response(h2s, h2s, head, parsed, method, dl, start, stream, decode)
        fresh = False
        while True:
            conn, reused = self._pool.acquire(origin, dl, fresh=fresh)
            try:
                head = self._exchange(conn, event, prepared, dl)
            except ConnectionClosed as exc:
                self._pool.discard(conn)
                if (
                    reused
                    and not fresh
                    and conn.received == 0
                    and method in _IDEMPOTENT
                    and (prepared is None or prepared.replayable)
                ):
                    _RETRIES.inc()
                    log_event(
                        _log,
                        logging.DEBUG,
                        "stale pooled connection, retrying once",
                        origin=str(origin),
                        error=str(exc),
                    )
                    fresh = True
                    continue
                raise
            except BaseException:
                self._pool.discard(conn)
                raise
            break
        _REQUESTS.inc()
        return self._response(conn, self._pool, head, parsed, method, dl, start, stream, decode)

    def _headers(
        self,
        host: bytes,
        headers: HeadersInput | None,
        body: RequestBody | None,
        decode: bool,
    ) -> Headers:
        """Host, the client's headers, the request's headers (winning), framing."""
        pairs = [(b"Host", host)]
        base = self._base
        if not decode:
            base = [p for p in base if p[0].lower() != b"accept-encoding"]
        if headers is None:
            pairs += base
            names = self._base_names
        else:
            own = headers if isinstance(headers, Headers) else Headers(headers)
            mine = own.raw_items()
            names = frozenset(name.lower() for name, _ in mine)
            if b"host" in names:
                pairs = []
            pairs += [p for p in base if p[0].lower() not in names]
            pairs += mine
            names = names | self._base_names
        if body is not None and not (names & _FRAMING):
            pairs.append(body.framing())
        return Headers.from_raw(pairs)

    def _exchange(
        self, conn: HTTPConnection, event: Request, body: RequestBody | None, dl: Deadlines
    ) -> H1Response:
        """Send the request and read up to the final response head."""
        chunks = None if body is None else body.chunks()
        try:
            conn.send_request(event, chunks, dl, None if body is None else body.trailers)
        except NetworkError as exc:
            # The server may have answered early (413, 401...) and closed before
            # the whole body was sent: such an answer is still the answer.
            conn.send_aborted()
            try:
                return self._read_head(conn, dl)
            except SockitError:
                raise exc from None
        return self._read_head(conn, dl)

    def _h2_exchange(
        self,
        origin: Origin,
        scheme: str,
        event: Request,
        body: RequestBody | None,
        dl: Deadlines,
    ) -> tuple[H2Stream, H1Response]:
        """Send ``event`` as a stream on the origin's HTTP/2 connection; read its head.

        A stream the server refused before processing it (GOAWAY, REFUSED_STREAM,
        a connection that closed under it) is sent once more on a new
        connection when its body can be sent again.
        """
        for attempt in (1, 2):
            h2 = self._h2_connection(origin, dl)
            chunks = None if body is None else body.chunks()
            try:
                stream = h2.open_stream(event, scheme, chunks, dl,
                                        None if body is None else body.trailers)
                return stream, self._read_head(stream, dl)
            except ConnectionClosed:
                self._h2_forget(h2)
                if attempt == 2 or not (body is None or body.replayable):
                    raise
                _RETRIES.inc()
        raise AssertionError("unreachable")  # pragma: no cover

    def _wants_h2(self, origin: Origin) -> bool:
        if origin.scheme == "https":
            return self._h2_alpn and origin not in self._no_h2
        return self._h2_enabled

    def _tls_for(self, origin: Origin, *, h2: bool) -> TLSContext | None:
        """The client TLS context for ``origin`` (``None`` for plaintext schemes)."""
        if origin.scheme != "https":
            return None
        if self._tls_given is not None:
            return self._tls_given
        ctx = self._tls_contexts.get(h2)
        if ctx is None:
            verify, cert, trust_env = self._tls_args
            alpn = ("h2", "http/1.1") if h2 else ("http/1.1",)
            ctx = client_tls_context(verify, cert, alpn=alpn, trust_env=trust_env)
            self._tls_contexts[h2] = ctx
        return ctx

    def _h2_connection(self, origin: Origin, dl: Deadlines) -> H2ClientConnection:
        with self._h2_lock:
            if self._pool.closed:
                raise LocalProtocolError("the client is closed")
            conn = self._h2_conns.get(origin)
            if conn is not None and conn.usable:
                return conn
        # outside the lock: connecting takes time
        sock = connect_origin(origin, dl, self._proxies.for_origin(origin),
                              self._tls_for(origin, h2=True))
        if isinstance(sock, TLSTransport) and sock.alpn_protocol != "h2":
            self._no_h2.add(origin)  # HTTP/1.1 it is, from now on
            sock.close()
            raise _NotH2(str(origin))
        fresh = H2ClientConnection(sock, origin, self._h2_config)
        with self._h2_lock:
            current = self._h2_conns.get(origin)
            if current is not None and current.usable:
                fresh.close_when_idle()  # another thread won the race
                return current
            self._h2_conns[origin] = fresh
        if current is not None:
            current.close_when_idle()  # retired: its streams finish, then it closes
        return fresh

    def _h2_forget(self, conn: H2ClientConnection) -> None:
        with self._h2_lock:
            if self._h2_conns.get(conn.origin) is conn:
                del self._h2_conns[conn.origin]
        conn.close_when_idle()

    def _read_head(self, conn: BodySource, dl: Deadlines) -> H1Response:
        interim = 0
        while True:
            event = conn.next_event(dl, Phase.READ, dl.read)
            if type(event) is H1Response:
                assert isinstance(event, H1Response)
                return event
            if not isinstance(event, InformationalResponse):
                raise RemoteProtocolError(f"unexpected {type(event).__name__} before a response")
            interim += 1
            cap = self._limits.max_interim_responses
            if interim > cap:
                raise LimitExceeded(f"more than {cap} interim (1xx) responses",
                                    limit="max_interim_responses", value=cap, http_status=None)

    def _response(  # noqa: PLR0917 - private, one call site
        self,
        conn: BodySource,
        keeper: SourceKeeper,
        head: H1Response,
        url: URL,
        method: str,
        dl: Deadlines,
        start: float,
        stream: bool,
        decode: bool,
    ) -> Response:
        headers = head.headers
        decoder = None
        if decode:
            codings = headers.get_all_raw("content-encoding")
            if codings:
                names = [c for c in parse_content_encoding(codings) if c != "identity"]
                if names and _DECODABLE.issuperset(names):
                    decoder = decoder_for(names, self._http1.limits)
        body = BodyStream(conn, keeper, dl, decoder)
        response = Response(
            head.status_code,
            head.reason.decode("latin-1"),
            headers,
            _VERSIONS.get(head.http_version) or "HTTP/" + head.http_version.decode("latin-1"),
            url,
            method,
            datetime.timedelta(seconds=_monotonic() - start),
            body,
            self._limits.max_response_size,
        )
        if stream:
            body.unbounded(self._limits.request_timeout)
        else:
            response.read()
        return response
