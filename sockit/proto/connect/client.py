"""The client side of HTTP CONNECT: ask a proxy for a tunnel (see the package docstring)."""

from __future__ import annotations

from collections.abc import Sequence

from sockit.errors import LocalProtocolError, ProxyError, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.connect.common import (
    DEFAULT_MAX_REFUSAL_BODY,
    EXCERPT_SIZE,
    RESERVED_FIELDS,
    ConnectState,
    ProxyAuthenticationRequired,
    TunnelEstablished,
    _ConnectMachine,
    basic_authorization,
    config_for,
    format_authority,
)
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
)

__all__ = ["ConnectClient"]


class ConnectClient(_ConnectMachine):
    """The client side of one CONNECT; the request is queued at construction."""

    __slots__ = ("_authority", "_body", "_error", "_h1", "_max_body", "_refusal", "_state")
    _role_name = "CONNECT client"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        proxy_auth: tuple[str, str] | None = None,
        headers: Sequence[tuple[str, str]] = (),
        limits: HTTP1Limits | None = None,
        max_refusal_body: int = DEFAULT_MAX_REFUSAL_BODY,
    ) -> None:
        self._authority = format_authority(host, port)
        fields = Headers()
        fields.add("Host", self._authority)
        if proxy_auth is not None:
            fields.add("Proxy-Authorization", basic_authorization(*proxy_auth))
        for name, value in headers:
            fields.add(name, value)
            if name.lower().encode("latin-1") in RESERVED_FIELDS:
                raise LocalProtocolError(f"{name} is set by the CONNECT request itself")
        self._max_body = max_refusal_body
        self._h1 = Connection(Role.CLIENT, config_for(limits))
        self._h1.send(Request(b"CONNECT", self._authority.encode("ascii"), fields))
        self._h1.send(EndOfMessage())
        self._state = ConnectState.AWAIT_RESPONSE
        self._refusal: Response | None = None
        self._body = bytearray()
        self._error: ProxyError | RemoteProtocolError | None = None

    def _receive(self, data: Buffer, *, eof: bool) -> list[Event]:
        if self._error is not None:
            raise self._error.with_traceback(None)
        h1 = self._h1
        if self._state is ConnectState.TUNNEL:
            return [] if eof else h1.receive_data(data)
        try:
            events = h1.receive_eof() if eof else h1.receive_data(data)
        except RemoteProtocolError as exc:
            if self._state is not ConnectState.READING_REFUSAL:
                self._fail(exc)
                raise
            events = [EndOfMessage()]  # a refusal whose body broke off: it still stands
        out: list[Event] = []
        for event in events:
            if isinstance(event, InformationalResponse):
                continue
            if isinstance(event, Response):
                if 200 <= event.status_code < 300:
                    self._state = ConnectState.TUNNEL
                    out.append(TunnelEstablished(event.status_code, event.headers))
                    return out
                self._refusal = event
                self._state = ConnectState.READING_REFUSAL
            elif isinstance(event, Data):
                room = self._max_body - len(self._body)
                self._body += event.data[:room]
                if len(event.data) >= room:
                    self._refused()
            elif isinstance(event, EndOfMessage):
                self._refused()
        if eof and self._state is ConnectState.READING_REFUSAL:
            self._refused()
        return out

    def _fail(self, exc: ProxyError | RemoteProtocolError) -> None:
        self._error = exc
        self._state = ConnectState.FAILED

    def _refused(self) -> None:
        response = self._refusal
        assert response is not None
        status = response.status_code
        reason = response.reason.decode("latin-1")
        excerpt = " ".join(bytes(self._body).decode("utf-8", "replace").split())[:EXCERPT_SIZE]
        message = f"proxy refused CONNECT {self._authority}: {status} {reason}".rstrip()
        if excerpt:
            message += f": {excerpt}"
        exc: ProxyError
        if status == 407:
            challenges = response.headers.get_all("proxy-authenticate")
            exc = ProxyAuthenticationRequired(message, authenticate=challenges)
        else:
            exc = ProxyError(message, reply_code=status)
        self._fail(exc)
        raise exc
