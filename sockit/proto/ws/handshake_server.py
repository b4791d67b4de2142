"""The server side of the WebSocket opening handshake (RFC 6455 §4.2).

Two layers:

* pure functions for an HTTP server that parsed the request itself:
  :func:`validate_request` checks it (400, or 426 for another version),
  :func:`accept_headers` builds the ``101``'s fields and negotiates the
  subprotocol and permessage-deflate, :func:`reject_response` builds a
  refusal (status, fields, body) for ``Connection.send_response``;
* :class:`ServerHandshake`, a sans-I/O machine that owns an HTTP/1.1 server
  connection::

      shake = ServerHandshake()
      for event in shake.receive_data(chunk):      # HandshakeRequest(request)
          if event.request.origin in allowed:
              shake.accept(subprotocol=None, deflate=DeflateConfig())
          else:
              shake.reject(403)
      sock.sendall(shake.data_to_send())
      if shake.state is HandshakeState.OPEN:
          ws = Connection(Role.SERVER, deflate=shake.deflate)
          events = ws.receive_data(shake.trailing_data)   # early frames

A request the machine refuses on its own (bad HTTP, a bad handshake) has its
refusal queued before the error is raised: flush :meth:`data_to_send`, then
close. Early bytes beyond ``HTTP1Config.max_incomplete_event_size`` that
arrive with the request fail the machine after its ``HandshakeRequest`` is
returned (accepting then raises LocalProtocolError; the next call raises
the LimitExceeded), the same however the bytes were split.

Origin is not judged here: it is the application's decision
(``request.origin``), usually a 403 through :meth:`ServerHandshake.reject`.
"""

from __future__ import annotations

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers, HeadersInput
from sockit.proto.http.status import reason_phrase
from sockit.proto.http1 import (
    Connection,
    ConnectionClosed,
    ConnectionState,
    Data,
    EndOfMessage,
    HTTP1Config,
    InformationalResponse,
    Request,
    Response,
)
from sockit.proto.ws.errors import HandshakeError
from sockit.proto.ws.extensions import (
    DeflateConfig,
    DeflateParams,
    negotiate_deflate,
    parse_extensions,
    parse_subprotocols,
)
from sockit.proto.ws.handshake import (
    WEBSOCKET_VERSION,
    AcceptConnection,
    HandshakeClosed,
    HandshakeMachine,
    HandshakeRequest,
    HandshakeState,
    RejectConnection,
    Trigger,
    WebSocketRequest,
    accept_key,
    header_tokens,
    is_valid_key,
    next_state,
)

__all__ = ["ServerHandshake", "accept_headers", "reject_response", "validate_request"]

#: Fields of a 101 that the handshake owns; extra headers may not set them.
RESERVED_FIELDS = frozenset(
    {
        b"upgrade",
        b"connection",
        b"sec-websocket-accept",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-protocol",
        b"sec-websocket-extensions",
        b"content-length",
        b"transfer-encoding",
    }
)
_VERSION_FIELDS = ((b"Sec-WebSocket-Version", WEBSOCKET_VERSION),)


def _bad(message: str) -> HandshakeError:
    return HandshakeError(message, http_status=400)


def validate_request(request: Request) -> WebSocketRequest:
    """Check an opening-handshake request (RFC 6455 §4.2.1); the request as the server sees it.

    Raises :class:`HandshakeError` with ``http_status`` 400 (not an HTTP/1.1
    GET, no ``Upgrade: websocket`` / ``Connection: upgrade``, a body, a
    missing or malformed Sec-WebSocket-Key, malformed Sec-WebSocket-Protocol
    or -Extensions, more than one Origin) or 426 for a Sec-WebSocket-Version
    other than 13 (its ``headers`` then carry ``Sec-WebSocket-Version: 13``).
    """
    if request.http_version != b"1.1":
        raise _bad("the opening handshake needs HTTP/1.1")
    if request.method != b"GET":
        raise _bad("the opening handshake must be a GET request")
    target = request.target
    if not target.startswith(b"/") and b"://" not in target:
        raise _bad("the opening handshake needs an origin-form or absolute request-target")
    lookup = request.headers.lookup_raw
    if b"websocket" not in header_tokens(lookup(b"upgrade")):
        raise _bad("the request does not ask for Upgrade: websocket")
    if b"upgrade" not in header_tokens(lookup(b"connection")):
        raise _bad("the request lacks Connection: upgrade")
    lengths = lookup(b"content-length")
    if lookup(b"transfer-encoding") or (lengths and any(v.strip() != b"0" for v in lengths)):
        raise _bad("an opening handshake request has no body")
    versions = header_tokens(lookup(b"sec-websocket-version"))
    if versions != [WEBSOCKET_VERSION]:
        raise HandshakeError(
            "unsupported Sec-WebSocket-Version (only 13 is spoken)",
            http_status=426,
            headers=_VERSION_FIELDS,
        )
    keys = lookup(b"sec-websocket-key")
    if not keys or len(keys) != 1 or not is_valid_key(keys[0]):
        raise _bad("Sec-WebSocket-Key must be one base64 value of 16 bytes")
    protocols = lookup(b"sec-websocket-protocol")
    subprotocols = parse_subprotocols(protocols) if protocols else []
    extensions = lookup(b"sec-websocket-extensions") or []
    if extensions:
        parse_extensions(extensions)  # the syntax: a malformed field is a 400
    origins = lookup(b"origin")
    if origins is not None and len(origins) > 1:
        raise _bad("more than one Origin field")
    hosts = lookup(b"host")
    return WebSocketRequest(
        key=keys[0].decode("ascii"),
        subprotocols=tuple(subprotocols),
        extensions=tuple(extensions),
        origin=origins[0].decode("latin-1") if origins else None,
        host=hosts[0].decode("latin-1") if hosts else "",
        path=target.decode("latin-1"),
        headers=request.headers,
    )


def _extra_fields(extra_headers: HeadersInput | None) -> list[tuple[bytes, bytes]]:
    if extra_headers is None:
        return []
    fields = Headers(extra_headers).raw_items()
    for name, _ in fields:
        if name.lower() in RESERVED_FIELDS:
            raise LocalProtocolError(f"{name.decode('latin-1')} is set by the handshake itself")
    return fields


def accept_headers(
    ws_request: WebSocketRequest,
    *,
    subprotocol: str | None = None,
    deflate: DeflateConfig | None = None,
    extra_headers: HeadersInput | None = None,
) -> tuple[Headers, DeflateParams | None]:
    """The ``101 Switching Protocols`` fields for ``ws_request``, and the deflate params agreed.

    ``subprotocol`` must be one the client offered (else LocalProtocolError);
    ``deflate`` is what we accept of permessage-deflate (``None``: nothing);
    ``extra_headers`` are appended (not the handshake's own fields).
    """
    if subprotocol is not None and subprotocol not in ws_request.subprotocols:
        raise LocalProtocolError(f"the client did not offer the subprotocol {subprotocol!r}")
    fields = [
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Accept", accept_key(ws_request.key).encode("ascii")),
    ]
    if subprotocol is not None:
        fields.append((b"Sec-WebSocket-Protocol", subprotocol.encode("latin-1")))
    params: DeflateParams | None = None
    negotiated = negotiate_deflate(ws_request.extensions, deflate)
    if negotiated is not None:
        params, value = negotiated
        fields.append((b"Sec-WebSocket-Extensions", value))
    fields.extend(_extra_fields(extra_headers))
    return Headers(fields), params


def reject_response(
    status: int | HandshakeError = 400,
    *,
    headers: HeadersInput | None = None,
    body: bytes | None = None,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``(status, fields, body)`` of a refusal, for ``Connection.send_response(..., close=True)``.

    ``status`` is a final status (200-599) or a :class:`HandshakeError`, whose
    ``http_status``, fields and message are used. A 426 carries
    ``Upgrade: websocket`` and ``Sec-WebSocket-Version: 13`` (RFC 9110
    §15.5.22, RFC 6455 §4.4). Without ``body`` a short text/plain one is made.
    """
    fields: list[tuple[bytes, bytes]] = []
    detail = ""
    if isinstance(status, HandshakeError):
        code = status.http_status or 400
        fields.extend(status.headers)
        detail = status.message
    else:
        code = status
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        raise LocalProtocolError(f"a refusal needs a final status from 200 to 599, not {code!r}")
    fields.extend(Headers(headers).raw_items() if headers is not None else [])
    names = {name.lower() for name, _ in fields}
    if code == 426:
        if b"upgrade" not in names:
            fields.append((b"Upgrade", b"websocket"))
            fields.append((b"Connection", b"Upgrade"))
        if b"sec-websocket-version" not in names:
            fields.append(_VERSION_FIELDS[0])
    if body is None:
        text = f"{code} {reason_phrase(code)}".rstrip()
        body = (f"{text}: {detail}\n" if detail else f"{text}\n").encode("utf-8")
        if b"content-type" not in names:
            fields.append((b"Content-Type", b"text/plain; charset=utf-8"))
    return code, fields, body


class ServerHandshake(HandshakeMachine):
    """The server's opening-handshake machine over an HTTP/1.1 server connection.

    See the module docstring. ``config`` configures the HTTP/1.1 machine
    (head size limits, how many early bytes may wait while the application
    decides: ``max_incomplete_event_size``).
    """

    __slots__ = ("_deflate", "_error", "_h1", "_request", "_state", "_subprotocol")

    def __init__(self, *, config: HTTP1Config | None = None) -> None:
        self._h1 = Connection(Role.SERVER, config)
        self._state = HandshakeState.CONNECTING
        self._request: WebSocketRequest | None = None
        self._error: RemoteProtocolError | None = None
        self._deflate: DeflateParams | None = None
        self._subprotocol: str | None = None

    # -- state ------------------------------------------------------------------

    @property
    def request(self) -> WebSocketRequest | None:
        """The checked request, once it arrived."""
        return self._request

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol in force once OPEN (``None``: none)."""
        return self._subprotocol

    @property
    def deflate(self) -> DeflateParams | None:
        """The permessage-deflate parameters in force once OPEN (``None``: no compression)."""
        return self._deflate

    def _move(self, trigger: Trigger) -> None:
        self._state = next_state(self._state, trigger)

    # -- receiving ------------------------------------------------------------------

    def receive_data(self, data: Buffer) -> list[Event]:
        """Feed bytes from the client: ``[HandshakeRequest]`` once the request is complete.

        After OPEN, bytes are kept as :attr:`trailing_data`; after a refusal
        they are dropped. A refused request raises its error (refusal queued).
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        state = self._state
        if state is HandshakeState.REJECTED or state is HandshakeState.CLOSED:
            return []
        h1 = self._h1
        try:
            events = h1.receive_data(data)
        except RemoteProtocolError as exc:
            self._fail(exc)
            raise
        out = self._handle(events)
        if h1.their_state is ConnectionState.ERROR:
            # The HTTP/1.1 machine returned events before refusing the rest (too
            # many early bytes held): fail now, raise on the next call, as it does.
            try:
                h1.receive_data(b"")
            except RemoteProtocolError as exc:
                self._fail(exc)
        return out

    def receive_eof(self) -> list[Event]:
        """The client closed: ``[HandshakeClosed]`` before OPEN; after OPEN the EOF is framing's."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        state = self._state
        if state is HandshakeState.CONNECTING:
            try:
                events = self._h1.receive_eof()
            except RemoteProtocolError as exc:
                self._fail(exc)
                raise
            return self._handle(events)
        if state is HandshakeState.REQUEST_RECEIVED:
            self._move(Trigger.EOF)
            return [HandshakeClosed()]
        return []

    def _handle(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, Request):
                try:
                    ws_request = validate_request(event)
                except HandshakeError as exc:
                    self._fail(exc)
                    raise
                self._request = ws_request
                self._move(Trigger.REQUEST)
                out.append(HandshakeRequest(ws_request))
            elif isinstance(event, ConnectionClosed):
                self._move(Trigger.EOF)
                out.append(HandshakeClosed())
            # EndOfMessage of the (body-less) request: nothing to report
        return out

    def _fail(self, exc: RemoteProtocolError) -> None:
        """Remember ``exc`` and queue the refusal it calls for."""
        self._error = exc
        self._state = next_state(self._state, Trigger.ERROR)
        if not isinstance(exc, HandshakeError):  # the HTTP/1.1 machine refused the head
            status = exc.http_status
            if status is None or not 400 <= status <= 599:
                status = 400
            exc = HandshakeError(exc.message, http_status=status)
        self._queue_refusal(*reject_response(exc))

    def _queue_refusal(self, status: int, fields: list[tuple[bytes, bytes]], body: bytes) -> None:
        h1 = self._h1
        try:
            if h1.our_state is ConnectionState.SEND_RESPONSE:
                h1.send_response(status, fields, body, close=True)
            else:  # no request was read (a bad head): answer without one
                length = (b"Content-Length", b"%d" % len(body))
                fields = [*fields, length, (b"Connection", b"close")]
                h1.send(Response(status, Headers.from_raw(fields)))
                if body:
                    h1.send(Data(body))
                h1.send(EndOfMessage())
        except LocalProtocolError:  # pragma: no cover - nothing can be answered any more
            pass

    # -- sending --------------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue :class:`AcceptConnection` or :class:`RejectConnection` (after the request)."""
        if isinstance(event, AcceptConnection):
            self.accept(event.subprotocol, event.deflate, event.extra_headers)
        elif isinstance(event, RejectConnection):
            self.reject(event.status_code, headers=event.headers, body=event.body or None)
        else:
            raise LocalProtocolError(f"cannot send {type(event).__name__} in the handshake")

    def accept(
        self,
        subprotocol: str | None = None,
        deflate: DeflateConfig | None = None,
        extra_headers: HeadersInput | None = None,
    ) -> None:
        """Answer ``101``: the state becomes OPEN (see :attr:`deflate`, :attr:`trailing_data`)."""
        request = self._request
        if self._state is not HandshakeState.REQUEST_RECEIVED or request is None:
            raise LocalProtocolError(f"cannot accept in handshake state {self._state.name}")
        headers, params = accept_headers(
            request, subprotocol=subprotocol, deflate=deflate, extra_headers=extra_headers
        )
        self._h1.send(InformationalResponse(101, headers, reason=b"Switching Protocols"))
        self._subprotocol = subprotocol
        self._deflate = params
        self._move(Trigger.ACCEPT)

    def reject(
        self,
        status: int = 403,
        *,
        headers: HeadersInput | None = None,
        body: bytes | None = None,
    ) -> None:
        """Refuse the request with a complete response that closes the connection."""
        if self._state is not HandshakeState.REQUEST_RECEIVED:
            raise LocalProtocolError(f"cannot reject in handshake state {self._state.name}")
        code, fields, payload = reject_response(status, headers=headers, body=body)
        self._h1.send_response(code, fields, payload, close=True)
        self._move(Trigger.REJECT)

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        return self._h1.data_to_send()
