"""The client side of the WebSocket opening handshake (RFC 6455 §4.1).

::

    shake = ClientHandshake("example.com", "/chat", subprotocols=["chat.v1"])
    sock.sendall(shake.data_to_send())                # the GET with Upgrade
    for event in shake.receive_data(chunk):
        if isinstance(event, HandshakeAccepted):       # a valid 101
            ws = Connection(Role.CLIENT, deflate=event.deflate)
            events = ws.receive_data(shake.trailing_data)   # early frames
        elif isinstance(event, HandshakeRejected):     # status, headers, body
            ...

The ``101`` is checked as §4.1 demands: ``Upgrade: websocket``,
``Connection: upgrade``, the Sec-WebSocket-Accept of our key, a subprotocol
we offered (or none), and only extensions we offered, validly accepted. Any
failure raises :class:`HandshakeError` (``http_status`` ``None``) and the
machine stays FAILED. A refusal (any final status) is reported with its
body, read through the HTTP/1.1 machine up to ``max_refusal_body`` bytes
(the rest is not waited for). Interim 1xx responses other than 101 are
skipped.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Callable, Iterable

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers, HeadersInput
from sockit.proto.http.syntax import is_token
from sockit.proto.http1 import (
    Connection,
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
    accept_deflate_response,
    deflate_offer,
    parse_extensions,
    parse_subprotocols,
)
from sockit.proto.ws.handshake import (
    WEBSOCKET_VERSION,
    HandshakeAccepted,
    HandshakeClosed,
    HandshakeMachine,
    HandshakeRejected,
    HandshakeState,
    Trigger,
    accept_key,
    header_tokens,
    next_state,
)

__all__ = ["DEFAULT_MAX_REFUSAL_BODY", "ClientHandshake"]

#: How much of a refusal's body is kept by default.
DEFAULT_MAX_REFUSAL_BODY = 64 * 1024

#: Request fields the handshake sets itself; extra headers may not.
RESERVED_FIELDS = frozenset(
    {
        b"host",
        b"upgrade",
        b"connection",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-protocol",
        b"sec-websocket-extensions",
        b"sec-websocket-accept",
        b"origin",
        b"content-length",
        b"transfer-encoding",
    }
)

_DEFAULT_DEFLATE = DeflateConfig()
ERROR = ConnectionState.ERROR


def _fail(message: str) -> HandshakeError:
    return HandshakeError(f"invalid opening handshake response: {message}", http_status=None)


class ClientHandshake(HandshakeMachine):
    """The client's opening-handshake machine over an HTTP/1.1 client connection.

    ``host`` is the Host field (``name[:port]``), ``path`` the request-target
    (``/path?query``). ``subprotocols`` are offered in order; ``deflate``
    offers permessage-deflate (``None`` or ``enabled=False``: no offer);
    ``origin`` is sent as Origin; ``extra_headers`` are added (not the
    handshake's own fields). ``key_source(16)`` gives the key's random bytes
    (default :func:`secrets.token_bytes`; tests pass a fixed one).
    ``config`` configures the HTTP/1.1 machine (response head limits).
    The request is queued at once: take it with :meth:`data_to_send`.
    """

    __slots__ = (
        "_accepted",
        "_body",
        "_deflate_config",
        "_error",
        "_expected_accept",
        "_h1",
        "_key",
        "_max_body",
        "_refusal",
        "_state",
        "_subprotocols",
    )

    def __init__(
        self,
        host: str,
        path: str,
        *,
        subprotocols: Iterable[str] = (),
        deflate: DeflateConfig | None = _DEFAULT_DEFLATE,
        origin: str | None = None,
        extra_headers: HeadersInput | None = None,
        key_source: Callable[[int], bytes] | None = None,
        config: HTTP1Config | None = None,
        max_refusal_body: int = DEFAULT_MAX_REFUSAL_BODY,
    ) -> None:
        if not isinstance(host, str) or not host:
            raise LocalProtocolError("the handshake needs a Host")
        if not isinstance(path, str) or not path.startswith("/"):
            raise LocalProtocolError(f"the request-target must start with '/', not {path!r}")
        if isinstance(max_refusal_body, bool) or not isinstance(max_refusal_body, int) or (
            max_refusal_body < 0
        ):
            raise LocalProtocolError("max_refusal_body must be a non-negative int")
        offered = list(subprotocols) if not isinstance(subprotocols, str) else [subprotocols]
        for name in offered:
            if not isinstance(name, str) or not is_token(name):
                raise LocalProtocolError(f"a subprotocol must be a token, not {name!r}")
        raw = (key_source or secrets.token_bytes)(16)
        if not isinstance(raw, bytes) or len(raw) != 16:
            raise LocalProtocolError("key_source must return 16 bytes")
        self._key = base64.b64encode(raw)
        self._expected_accept = accept_key(self._key).encode("ascii")
        self._subprotocols = tuple(offered)
        self._deflate_config = deflate if deflate is not None and deflate.enabled else None
        self._state = HandshakeState.CONNECTING
        self._error: RemoteProtocolError | None = None
        self._accepted: HandshakeAccepted | None = None
        self._refusal: Response | None = None
        self._body = bytearray()
        self._max_body = max_refusal_body

        fields: list[tuple[str | bytes, str | bytes]] = [
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self._key),
            ("Sec-WebSocket-Version", WEBSOCKET_VERSION),
        ]
        if self._subprotocols:
            fields.append(("Sec-WebSocket-Protocol", ", ".join(self._subprotocols)))
        if self._deflate_config is not None:
            fields.append(("Sec-WebSocket-Extensions", deflate_offer(self._deflate_config)))
        if origin is not None:
            fields.append(("Origin", origin))
        headers = Headers()
        for field_name, field_value in fields:
            headers.add(field_name, field_value)
        if extra_headers is not None:
            for name_b, value_b in Headers(extra_headers).raw_items():
                if name_b.lower() in RESERVED_FIELDS:
                    raise LocalProtocolError(
                        f"{name_b.decode('latin-1')} is set by the handshake itself"
                    )
                headers.add(name_b, value_b)
        self._h1 = Connection(Role.CLIENT, config)
        self._h1.send(Request(b"GET", path.encode("latin-1"), headers))
        self._h1.send(EndOfMessage())

    # -- state ------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The Sec-WebSocket-Key sent."""
        return self._key.decode("ascii")

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose, once OPEN."""
        return None if self._accepted is None else self._accepted.subprotocol

    @property
    def deflate(self) -> DeflateParams | None:
        """The permessage-deflate parameters in force once OPEN (``None``: no compression)."""
        return None if self._accepted is None else self._accepted.deflate

    def send(self, event: Event) -> None:
        """Nothing can be sent: the request is queued by the constructor."""
        raise LocalProtocolError(f"cannot send {type(event).__name__} in the client handshake")

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire: the request, the first time."""
        return self._h1.data_to_send()

    # -- receiving ------------------------------------------------------------------

    def receive_data(self, data: Buffer) -> list[Event]:
        """Feed bytes from the server: ``HandshakeAccepted`` or ``HandshakeRejected`` once known.

        After OPEN, bytes are kept as :attr:`trailing_data`; after a refusal
        or close they are dropped.
        """
        if self._error is not None:
            raise self._error.with_traceback(None)
        state = self._state
        if state is HandshakeState.REJECTED or state is HandshakeState.CLOSED:
            return []
        h1 = self._h1
        try:
            out = self._handle(h1.receive_data(data))
        except RemoteProtocolError as exc:
            if self._state is HandshakeState.READING_REFUSAL:
                return self._rejected()  # a refusal's bad body: the refusal still stands
            self._error = exc
            self._state = next_state(self._state, Trigger.ERROR)
            raise
        if self._state is HandshakeState.READING_REFUSAL and h1.their_state is ERROR:
            out.extend(self._rejected())  # the body went bad after some of it
        return out

    def receive_eof(self) -> list[Event]:
        """The server closed: a refusal being read ends, an unanswered handshake is closed."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        state = self._state
        if state is HandshakeState.READING_REFUSAL:
            try:
                events = self._h1.receive_eof()
            except RemoteProtocolError:  # a body cut short: the refusal still stands
                return self._rejected()
            return self._handle(events)
        if state is HandshakeState.CONNECTING:
            if self._h1.buffered_input:
                exc = _fail("the connection closed in the middle of the response head")
                self._error = exc
                self._state = next_state(state, Trigger.ERROR)
                raise exc
            self._state = next_state(state, Trigger.EOF)
            return [HandshakeClosed()]
        return []

    def _handle(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            kind = type(event)
            if kind is InformationalResponse:
                assert isinstance(event, InformationalResponse)
                if event.status_code == 101:
                    accepted = self._check_101(event)
                    self._accepted = accepted
                    self._state = next_state(self._state, Trigger.ACCEPT)
                    out.append(accepted)
                    break
            elif kind is Response:
                assert isinstance(event, Response)
                self._refusal = event
                self._state = next_state(self._state, Trigger.REFUSAL)
            elif kind is Data:
                assert isinstance(event, Data)
                room = self._max_body - len(self._body)
                self._body += event.data[:room]
                if len(event.data) > room:
                    out.extend(self._rejected())
                    break
            elif kind is EndOfMessage:
                out.extend(self._rejected())
                break
        return out

    def _rejected(self) -> list[Event]:
        refusal = self._refusal
        assert refusal is not None
        self._state = next_state(self._state, Trigger.REJECT)
        return [HandshakeRejected(refusal.status_code, refusal.headers, bytes(self._body))]

    def _check_101(self, response: InformationalResponse) -> HandshakeAccepted:
        if response.http_version != b"1.1":
            raise _fail("a 101 must be HTTP/1.1")
        lookup = response.headers.lookup_raw
        upgrade = lookup(b"upgrade")
        if not upgrade or len(upgrade) != 1 or upgrade[0].strip(b" \t").lower() != b"websocket":
            raise _fail("the 101 lacks Upgrade: websocket")
        if b"upgrade" not in header_tokens(lookup(b"connection")):
            raise _fail("the 101 lacks Connection: upgrade")
        accepts = lookup(b"sec-websocket-accept")
        if (
            not accepts
            or len(accepts) != 1
            or not hmac.compare_digest(accepts[0], self._expected_accept)
        ):
            raise _fail("Sec-WebSocket-Accept does not match our key")
        subprotocol: str | None = None
        protocols = lookup(b"sec-websocket-protocol")
        if protocols:
            try:
                chosen = parse_subprotocols(protocols)
            except HandshakeError:
                chosen = []
            if len(protocols) != 1 or len(chosen) != 1 or chosen[0] not in self._subprotocols:
                raise _fail("the server chose a subprotocol we did not offer")
            subprotocol = chosen[0]
        params: DeflateParams | None = None
        lines = lookup(b"sec-websocket-extensions")
        if lines:
            try:
                agreed = parse_extensions(lines)
            except HandshakeError as exc:
                raise _fail(exc.message) from None
            if agreed:
                config = self._deflate_config
                if config is None:
                    raise _fail("the server agreed to an extension we did not offer")
                params = accept_deflate_response(b", ".join(lines), config)
        return HandshakeAccepted(subprotocol, params, response.headers)
