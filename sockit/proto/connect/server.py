"""The proxy side of HTTP CONNECT: read a CONNECT and answer it (see the package docstring)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.limits import HTTP1Limits
from sockit.proto.connect.common import (
    RESERVED_FIELDS,
    ConnectState,
    TunnelRequested,
    _ConnectMachine,
    basic_credentials,
    config_for,
    parse_authority,
)
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import (
    Connection,
    ConnectionState,
    EndOfMessage,
    Request,
    Response,
)

__all__ = ["ConnectServer"]


class ConnectServer(_ConnectMachine):
    """The proxy side of CONNECT for one client connection."""

    __slots__ = ("_error", "_h1", "_state")
    _role_name = "CONNECT server"

    def __init__(self, *, limits: HTTP1Limits | None = None) -> None:
        self._h1 = Connection(Role.SERVER, config_for(limits))
        self._state = ConnectState.AWAIT_RESPONSE
        self._error: RemoteProtocolError | None = None

    def _receive(self, data: Buffer, *, eof: bool) -> list[Event]:
        if self._error is not None:
            raise self._error.with_traceback(None)
        h1 = self._h1
        state = self._state
        if state is ConnectState.TUNNEL:
            return [] if eof else h1.receive_data(data)
        if state is ConnectState.CLOSED:
            return []
        try:
            events = h1.receive_eof() if eof else h1.receive_data(data)
            out: list[Event] = []
            for event in events:
                if isinstance(event, Request):
                    out.append(self._requested(event))
                elif not isinstance(event, EndOfMessage):  # ConnectionClosed
                    self._state = ConnectState.CLOSED
                    out.append(event)
        except RemoteProtocolError as exc:
            if self._state is not ConnectState.FAILED:
                self._answer_error(exc.http_status or 400)
            self._error = exc
            raise
        return out

    def _requested(self, request: Request) -> TunnelRequested:
        headers = request.headers
        if request.method != b"CONNECT":
            raise self._refuse_bad(405, f"{request.method!r} on a CONNECT proxy")
        target = parse_authority(request.target)
        if target is None:
            raise self._refuse_bad(400, f"CONNECT target {request.target[:100]!r} is not host:port")
        length = headers.get_all_raw("content-length")
        if headers.get_all_raw("transfer-encoding") or length not in ([], [b"0"]):
            raise self._refuse_bad(400, "a CONNECT request with a body")
        credentials = None
        auth = headers.get_all_raw("proxy-authorization")
        if len(auth) == 1:
            credentials = basic_credentials(auth[0])
        self._state = ConnectState.REQUEST_RECEIVED
        return TunnelRequested(target[0], target[1], headers, credentials)

    def _refuse_bad(self, status: int, message: str) -> RemoteProtocolError:
        extra = [("Allow", "CONNECT")] if status == 405 else []
        self._respond(status, b"", extra, close=True)
        self._state = ConnectState.FAILED
        return RemoteProtocolError(message, http_status=status)

    def _answer_error(self, status: int) -> None:
        self._state = ConnectState.FAILED
        with contextlib.suppress(LocalProtocolError):  # not our turn: a response is out
            self._respond(status, b"", [], close=True)

    def _respond(
        self, status: int, reason: bytes, extra: Sequence[tuple[str, str]], *, close: bool
    ) -> None:
        fields = Headers()
        for name, value in extra:
            fields.add(name, value)
        fields.set("Content-Length", "0")
        if close:
            fields.set("Connection", "close")
        self._h1.send(Response(status, fields, reason=reason))
        self._h1.send(EndOfMessage())

    def _check_turn(self) -> None:
        if self._state is not ConnectState.REQUEST_RECEIVED:
            raise LocalProtocolError(f"no CONNECT to answer in state {self._state.name}")

    def accept(self, headers: Sequence[tuple[str, str]] = ()) -> None:
        """Answer 200: the connection becomes the tunnel (``trailing_data`` is the client's)."""
        self._check_turn()
        fields = Headers()
        for name, value in headers:
            if name.lower().encode("latin-1") in RESERVED_FIELDS:
                raise LocalProtocolError(f"a 2xx answer to CONNECT carries no {name}")
            fields.add(name, value)
        self._h1.send(Response(200, fields, reason=b"Connection established"))
        self._state = ConnectState.TUNNEL

    def refuse(
        self, status: int, reason: str = "", headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """Answer ``status`` (300-599) and close: send :meth:`data_to_send`, then close."""
        self._check_turn()
        if isinstance(status, bool) or not isinstance(status, int) or not 300 <= status <= 599:
            raise LocalProtocolError(f"a refusal status is an int from 300 to 599, not {status!r}")
        self._respond(status, reason.encode("latin-1", "replace"), headers, close=True)
        self._state = ConnectState.CLOSED

    def require_auth(self, realm: str) -> None:
        """Answer 407 with a Basic challenge for ``realm``.

        On a keep-alive connection the machine waits for the client's next
        CONNECT (with credentials, usually); otherwise it is CLOSED.
        """
        self._check_turn()
        if not isinstance(realm, str) or any(c < " " or c == "\x7f" for c in realm):
            raise LocalProtocolError("the realm must be a str without control characters")
        quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
        challenge = [("Proxy-Authenticate", f'Basic realm="{quoted}", charset="UTF-8"')]
        h1 = self._h1
        self._respond(407, b"Proxy Authentication Required", challenge, close=False)
        # bytes pipelined behind the CONNECT were meant for the tunnel: no second try then
        if h1.keep_alive and h1.their_state is ConnectionState.DONE and not h1.buffered_input:
            h1.start_next_cycle()
            self._state = ConnectState.AWAIT_RESPONSE
        else:
            self._state = ConnectState.CLOSED
