"""The blocking WebSocket client: :func:`websocket_connect` and its :class:`WebSocket`.

::

    from sockit import websocket_connect

    with websocket_connect("ws://127.0.0.1:8080/ws/echo", timeout=10) as ws:
        ws.send("hello")
        print(ws.recv())            # "hello"
        ws.send_json({"n": 1})
        print(ws.recv_json())       # {"n": 1}

The opening handshake is :class:`sockit.proto.ws.ClientHandshake`; after the
``101`` the connection is a :class:`sockit.proto.ws.Connection` in the client
role (every frame masked; permessage-deflate when the server agreed). Pings
from the server are answered while receiving; the close handshake is done
by :meth:`WebSocket.close` (or answered when the server starts it).

Threads: one thread may receive while others send (sending and receiving
have their own locks; the machine has a third). ``wss://`` arrives with TLS.
"""

from __future__ import annotations

import errno
import json
import math
import os
import select
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, Final

from sockit._closing import Closing
from sockit.client.connection import connect_origin
from sockit.client.proxying import ProxyChooser
from sockit.client.timeouts import Deadlines
from sockit.client.tlsio import CertArg, Transport, client_tls_context
from sockit.errors import (
    ConnectionClosed,
    LocalProtocolError,
    Phase,
    RemoteProtocolError,
    SockitError,
    Timeout,
)
from sockit.limits import WSLimits
from sockit.proto.events import Event, Role
from sockit.proto.http import URL, HeadersInput
from sockit.proto.http.url import Origin
from sockit.proto.proxy_url import ProxyURL
from sockit.proto.tls import TLSContext
from sockit.proto.ws import (
    BytesMessage,
    ClientHandshake,
    CloseConnection,
    ConnectionFailed,
    DeflateConfig,
    HandshakeAccepted,
    HandshakeError,
    HandshakeRejected,
    Ping,
    TextMessage,
)
from sockit.proto.ws import Connection as WSConnection

__all__ = ["WebSocket", "websocket_connect"]

_monotonic: Final = time.monotonic
_RECV_SIZE: Final = 256 * 1024
_POLLIN: Final = select.POLLIN | select.POLLPRI
_POLLOUT: Final = select.POLLOUT
#: How long :meth:`WebSocket.close` waits for the server's close frame.
_CLOSE_WAIT: Final = 5.0
#: How long it then waits for the server to close the TCP connection.
_EOF_WAIT: Final = 2.0


def _target(url: str) -> tuple[Origin, str, str]:
    try:
        parsed = URL.parse(url)
    except RemoteProtocolError as exc:
        raise LocalProtocolError(f"invalid URL {url!r}: {exc.message}") from None
    if parsed.scheme not in ("ws", "wss") or not parsed.host:
        raise LocalProtocolError(
            f"a WebSocket URL is ws://host[:port]/path or wss://..., not {url!r}"
        )
    port = parsed.effective_port
    assert port is not None
    scheme = "https" if parsed.scheme == "wss" else "http"
    return Origin(scheme, parsed.host, port), parsed.host_header or parsed.host, (
        parsed.request_target
    )


def websocket_connect(
    url: str,
    *,
    subprotocols: Sequence[str] = (),
    compression: bool | DeflateConfig = True,
    headers: HeadersInput | None = None,
    origin: str | None = None,
    timeout: float | None = None,
    limits: WSLimits | None = None,
    verify: bool | str | os.PathLike[str] = True,
    cert: CertArg = None,
    tls: TLSContext | None = None,
    proxy: str | ProxyURL | None = None,
    trust_env: bool = True,
) -> WebSocket:
    """Open a WebSocket to ``url`` (``ws://`` or ``wss://``) once the server accepted it.

    ``verify``, ``cert``, ``tls``, ``proxy`` and ``trust_env`` mean what they
    mean for :class:`~sockit.HTTPClient` (``wss://`` offers only
    ``http/1.1`` by ALPN: the handshake is an HTTP/1.1 Upgrade).

    ``subprotocols`` are offered in order; ``compression`` offers
    permessage-deflate (``True``: default parameters). ``timeout`` bounds
    connecting and the handshake (default: ``limits.handshake_timeout``) and
    is the default for :meth:`WebSocket.recv`. A refusal raises
    :class:`~sockit.proto.ws.HandshakeError` with the server's status as
    ``http_status``; connecting failures raise
    :class:`~sockit.errors.ConnectError`, :class:`~sockit.errors.Timeout`.
    """
    lim = WSLimits() if limits is None else limits
    budget = lim.handshake_timeout if timeout is None else timeout
    origin_key, host, target = _target(url)
    deadline = _monotonic() + budget
    dl = Deadlines(total=deadline, connect=budget, read=budget, write=budget, dns=budget)
    context = None
    if origin_key.scheme == "https":
        context = tls if tls is not None else client_tls_context(
            verify, cert, alpn=("http/1.1",), trust_env=trust_env
        )
    chooser = ProxyChooser(proxy, trust_env=trust_env)
    ws_origin = Origin("wss" if origin_key.scheme == "https" else "ws", *origin_key[1:])
    sock = connect_origin(origin_key, dl, chooser.for_origin(ws_origin), context)
    try:
        config = DeflateConfig() if compression is True else (compression or None)
        shake = ClientHandshake(
            host,
            target,
            subprotocols=tuple(subprotocols),
            deflate=config,
            origin=origin,
            extra_headers=headers,
        )
        _send_all(sock, shake.data_to_send(), deadline)
        accepted: HandshakeAccepted | None = None
        while accepted is None:
            data = _recv_some(sock, deadline, Phase.HANDSHAKE)
            events = shake.receive_data(data) if data else shake.receive_eof()
            for event in events:
                if isinstance(event, HandshakeRejected):
                    raise HandshakeError(
                        f"the server refused the WebSocket with {event.status_code}",
                        http_status=event.status_code,
                    )
                if isinstance(event, HandshakeAccepted):
                    accepted = event
            if not data and accepted is None:
                raise ConnectionClosed(errno.ECONNRESET, "the server closed during the handshake")
        machine = WSConnection(Role.CLIENT, limits=lim, deflate=accepted.deflate,
                               deflate_config=config)
        ws = WebSocket(sock, machine, accepted.subprotocol, timeout,
                       compressed=accepted.deflate is not None)
        leftover = shake.trailing_data
        if leftover:
            ws._absorb(machine.receive_data(leftover, now=_monotonic()))
        return ws
    except BaseException:
        sock.close()
        raise


def _send_all(sock: Transport, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    poller = select.poll()
    poller.register(sock.fileno(), _POLLOUT)
    while view:
        n = sock.try_send(view).sent
        if n:
            view = view[n:]
            continue
        if not poller.poll(_ms(deadline)) and deadline is not None and _monotonic() >= deadline:
            raise Timeout("sending on the WebSocket timed out", phase=Phase.WRITE)


def _recv_some(sock: Transport, deadline: float | None, phase: Phase) -> bytes:
    poller = select.poll()
    poller.register(sock.fileno(), _POLLIN)
    while True:
        data = sock.try_recv(_RECV_SIZE)
        if data is not None:
            return data
        if not poller.poll(_ms(deadline)) and deadline is not None and _monotonic() >= deadline:
            raise Timeout(f"the WebSocket timed out (phase {phase.value})", phase=phase)


def _ms(deadline: float | None) -> int:
    return -1 if deadline is None else math.ceil(max(0.0, deadline - _monotonic()) * 1000)


class WebSocket(Closing):
    """A connected client WebSocket (see the module docstring)."""

    def __init__(
        self,
        sock: Transport,
        machine: WSConnection,
        subprotocol: str | None,
        timeout: float | None,
        *,
        compressed: bool = False,
    ) -> None:
        self.sock = sock
        #: Whether permessage-deflate is in force.
        self.compressed = compressed
        #: The subprotocol the server chose (``None``: none).
        self.subprotocol = subprotocol
        #: Default timeout of :meth:`recv`, in seconds (``None``: wait forever).
        self.timeout = timeout
        self._machine = machine
        self._lock = threading.Lock()  # the machine
        self._recv_lock = threading.Lock()
        self._send_lock = threading.Lock()  # the socket's write side
        self._messages: deque[str | bytes] = deque()
        self._close: tuple[int, str] | None = None

    @property
    def close_code(self) -> int | None:
        """The close code once the connection closed (``1006``: it just ended)."""
        return None if self._close is None else self._close[0]

    @property
    def close_reason(self) -> str:
        """The close reason (``""`` if none)."""
        return "" if self._close is None else self._close[1]

    # -- sending ------------------------------------------------------------------

    def send(self, message: str | bytes | bytearray | memoryview) -> None:
        """Send one message: ``str`` as text, bytes-like as binary."""
        if isinstance(message, str):
            event: Event = TextMessage(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            event = BytesMessage(bytes(message))
        else:
            raise TypeError(f"a WebSocket message is str or bytes, not {type(message).__name__}")
        self._send_event(event)

    def send_json(self, value: Any) -> None:
        """Send ``value`` as a JSON text message."""
        self.send(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping; its pong is taken while receiving."""
        self._send_event(Ping(payload))

    def _send_event(self, event: Event) -> None:
        if self._close is not None:
            raise ConnectionClosed(errno.EPIPE, f"the WebSocket is closed ({self._close[0]})")
        with self._lock:
            self._machine.send(event)
        self._flush()

    def _flush(self) -> None:
        with self._send_lock:
            with self._lock:
                out = self._machine.data_to_send()
            if out:
                deadline = None if self.timeout is None else _monotonic() + self.timeout
                _send_all(self.sock, out, deadline)

    # -- receiving ----------------------------------------------------------------

    def recv(self, timeout: float | None = None) -> str | bytes:
        """The next message (``str`` or ``bytes``); ConnectionClosed once closed."""
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait is None else _monotonic() + wait
        with self._recv_lock:
            while not self._messages:
                if self._close is not None:
                    code, reason = self._close
                    raise ConnectionClosed(errno.ECONNRESET, f"WebSocket closed ({code} {reason})")
                self._read_once(deadline)
            return self._messages.popleft()

    def recv_json(self, timeout: float | None = None) -> Any:
        """The next message, decoded as JSON (RemoteProtocolError if it is not)."""
        message = self.recv(timeout)
        try:
            return json.loads(message)
        except ValueError as exc:
            raise RemoteProtocolError(f"the message is not JSON: {exc}") from None

    def __iter__(self) -> Iterator[str | bytes]:
        """Messages until the connection closes."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosed:
                return

    def _read_once(self, deadline: float | None) -> None:
        try:
            data = _recv_some(self.sock, deadline, Phase.READ)
        except Timeout:
            raise
        except SockitError:
            self._close = self._close or (1006, "connection lost")
            raise
        with self._lock:
            if data:
                events = self._machine.receive_data(data, now=_monotonic())
            else:
                events = self._machine.receive_eof()
        self._absorb(events)
        if not data and self._close is None:
            self._close = (1006, "connection lost")
        self._flush()  # pongs and close replies the machine queued

    def _absorb(self, events: Sequence[Event]) -> None:
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BytesMessage:
                assert isinstance(event, (TextMessage, BytesMessage))
                self._messages.append(event.data)
            elif kind is CloseConnection or kind is ConnectionFailed:
                assert isinstance(event, (CloseConnection, ConnectionFailed))
                code = event.error_code if event.error_code is not None else 1005
                self._close = (code, event.reason)

    # -- closing ------------------------------------------------------------------

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The close handshake: send ours, wait (briefly) for theirs, close the socket."""
        if self.sock.closed:
            return
        try:
            if self._close is None:
                with self._lock:
                    if self._machine.state.name == "OPEN":
                        self._machine.send(CloseConnection(code, reason))
                self._flush()
                deadline = _monotonic() + _CLOSE_WAIT
                with self._recv_lock:
                    while self._close is None and self._machine.state.name != "CLOSED":
                        self._read_once(deadline)
            if self._machine.state.name == "CLOSED":
                self._await_server_eof()
        except SockitError:
            pass  # the peer is gone or slow: close anyway
        finally:
            if self._close is None:
                self._close = (code, reason)
            self.sock.close()

    def _await_server_eof(self) -> None:
        """After the close handshake the server closes TCP first (RFC 6455 §7.1.1): wait
        briefly for its FIN, so our close does not leave the connection in TIME_WAIT on
        its side or look unclean."""
        deadline = _monotonic() + _EOF_WAIT
        with self._recv_lock:
            while True:
                data = _recv_some(self.sock, deadline, Phase.SHUTDOWN)
                if not data:
                    return
