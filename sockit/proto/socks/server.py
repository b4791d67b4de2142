"""The server (proxy) role of SOCKS4, SOCKS4A and SOCKS5, sans-I/O.

::

    server = SOCKSServer(require_auth=True)
    for event in server.receive_data(chunk):
        if isinstance(event, CredentialsReceived):
            server.accept_credentials(check(event.username, event.password))
        elif isinstance(event, CommandRequested):
            ...                                   # connect to event.host:event.port
            server.reply_success(local_host, local_port)   # or reply_failure(code)
    sock.sendall(server.data_to_send())
    events = server.receive_data(b"")             # a request pipelined behind the credentials

The machine never acts on a request itself: it reports what the client
asked and the application answers. Bytes the client pipelines are held; the
ones after its request are :attr:`trailing_data` once the tunnel is granted.

Bad input raises :class:`SOCKSProtocolError` (or :class:`SOCKSAuthError` /
:class:`SOCKSLimitExceeded`) after queueing the answer the protocol has for it,
so the caller sends :meth:`data_to_send` and closes: SOCKS5 method 0xFF for
no acceptable method, RFC 1929 status 1 for bad credentials messages, reply
07 for an unknown or disabled command, 08 for an unknown address type, 01 for
the rest; SOCKS4 reply 91. An unknown first byte gets no answer (there is no
protocol to answer in).

``require_auth`` makes SOCKS5 insist on username/password and refuses SOCKS4
(which has none) with 91, so enabling SOCKS4 never bypasses authentication.
"""

from __future__ import annotations

from collections.abc import Generator

from sockit.errors import LocalProtocolError
from sockit.limits import ProxyLimits
from sockit.proto.contract import Buffer
from sockit.proto.events import ConnectionTerminated, Event
from sockit.proto.socks._machine import Machine
from sockit.proto.socks._states import ServerTrigger, SOCKSServerState, server_next
from sockit.proto.socks.client import METHOD_NO_AUTH, METHOD_USERNAME_PASSWORD
from sockit.proto.socks.codec import (
    AddressType,
    check_port,
    classify_host,
    encode_address,
    read_address,
)
from sockit.proto.socks.errors import (
    NO_ACCEPTABLE_METHODS,
    SOCKS4Reply,
    SOCKS5Reply,
    SOCKSAuthError,
    SOCKSError,
    SOCKSLimitExceeded,
    SOCKSProtocolError,
    SOCKSVersion,
)
from sockit.proto.socks.events import (
    CommandRequested,
    CredentialsReceived,
    SOCKSCommand,
    SOCKSEvent,
)

__all__ = ["ALL_COMMANDS", "ALL_VERSIONS", "SOCKSServer"]

#: Every SOCKS dialect (the server's default).
ALL_VERSIONS = frozenset(SOCKSVersion)
#: Every command (the server's default: the application refuses what it cannot do).
ALL_COMMANDS = frozenset(SOCKSCommand)

_V4 = SOCKSVersion.SOCKS4
_V4A = SOCKSVersion.SOCKS4A
_V5 = SOCKSVersion.SOCKS5
_S = SOCKSServerState
_T = ServerTrigger
_REJECTED = SOCKS4Reply.REJECTED
_NAME_OK = bytes(range(0x21, 0x7F))


def _reply5(code: int, address: bytes = b"\x01\0\0\0\0\0\0") -> bytes:
    return b"\x05" + bytes((code, 0)) + address


def _reply4(code: int, port: int = 0, ip: bytes = b"\0\0\0\0") -> bytes:
    return b"\0" + bytes((code,)) + port.to_bytes(2, "big") + ip


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class SOCKSServer(Machine):
    """One client's SOCKS handshake, seen from the proxy; see the module docstring.

    ``versions`` are the dialects served, ``commands`` the commands passed on
    to the application (others are refused with 07 / 91), ``limits`` bound
    the names, user-ids and credentials a client may send.
    """

    __slots__ = (
        "_commands",
        "_limits",
        "_request",
        "_require_auth",
        "_state",
        "_version",
        "_versions",
    )

    def __init__(
        self,
        *,
        versions: frozenset[SOCKSVersion] = ALL_VERSIONS,
        require_auth: bool = False,
        commands: frozenset[SOCKSCommand] = ALL_COMMANDS,
        limits: ProxyLimits | None = None,
    ) -> None:
        super().__init__()
        if not versions or not all(isinstance(v, SOCKSVersion) for v in versions):
            raise LocalProtocolError("versions must be a non-empty set of SOCKSVersion")
        if not all(isinstance(c, SOCKSCommand) for c in commands):
            raise LocalProtocolError("commands must be a set of SOCKSCommand")
        self._versions = frozenset(versions)
        self._commands = frozenset(commands)
        self._require_auth = bool(require_auth)
        self._limits = limits if limits is not None else ProxyLimits()
        self._state = _S.AWAIT_GREETING
        self._version: SOCKSVersion | None = None
        self._request: CommandRequested | None = None
        self._steps = self._serve()

    # -- state ------------------------------------------------------------------

    @property
    def state(self) -> SOCKSServerState:
        """Where the handshake is."""
        return self._state

    @property
    def version(self) -> SOCKSVersion | None:
        """The dialect the client speaks, once its request arrived (``None`` before)."""
        return self._version

    @property
    def request(self) -> CommandRequested | None:
        """The client's request, once it arrived (the one being answered)."""
        return self._request

    def receive_data(self, data: Buffer) -> list[SOCKSEvent]:
        """Feed bytes from the client; returns the events they complete.

        After we refused (CLOSED) the bytes are dropped; in TUNNEL they are kept
        as :attr:`trailing_data`.
        """
        if self._state is _S.CLOSED:
            self._reader.buf.clear()
            return []
        return self._feed(data)

    def receive_eof(self) -> list[Event]:
        """The client closed: before the tunnel that ends the handshake (CLOSED)."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._state is _S.TUNNEL or self._state is _S.CLOSED:
            return []
        self._move(_T.EOF)
        self._steps = None
        return [ConnectionTerminated()]

    def _tunnel(self) -> bool:
        return self._state is _S.TUNNEL

    def _failed(self, exc: SOCKSError) -> None:
        self._state = server_next(self._state, _T.ERROR)

    def _move(self, trigger: ServerTrigger) -> None:
        self._state = server_next(self._state, trigger)

    # -- the application's answers ------------------------------------------------------

    def accept_credentials(self, ok: bool) -> None:
        """Answer CredentialsReceived: ``True`` goes on to the request, ``False`` refuses.

        A refusal queues the RFC 1929 failure status; send it and close.
        Call ``receive_data(b"")`` after accepting if the client may have
        pipelined its request.
        """
        if ok:
            self._move(_T.ACCEPT_AUTH)
            self._out.append(b"\x01\x00")
        else:
            self._move(_T.REJECT_AUTH)
            self._out.append(b"\x01\x01")
            self._steps = None

    def reply_success(self, bound_host: str = "0.0.0.0", bound_port: int = 0) -> None:  # noqa: S104 (reported, never bound)
        """Grant the request, reporting ``bound_host:bound_port`` to the client.

        CONNECT: the outgoing connection's local address. BIND: call twice,
        first with the listening address, then with the peer that connected.
        UDP_ASSOCIATE: the relay's address. SOCKS4 carries only IPv4 (a
        LocalProtocolError otherwise).
        """
        request = self._request
        if request is None or self._state not in (_S.REQUEST_RECEIVED, _S.BIND_WAITING):
            raise LocalProtocolError(f"no request to answer in state {self._state.name}")
        check_port(bound_port)
        if request.version is _V5:
            wire = _reply5(0, encode_address(bound_host, bound_port, self._limits))
        else:
            kind, raw = classify_host(bound_host, self._limits)
            if kind is not AddressType.IPV4:
                raise LocalProtocolError(f"SOCKS4 replies carry IPv4 only, not {bound_host!r}")
            wire = _reply4(SOCKS4Reply.GRANTED, bound_port, raw)
        bind_first = request.command is SOCKSCommand.BIND and self._state is _S.REQUEST_RECEIVED
        self._move(_T.BIND_READY if bind_first else _T.SUCCESS)
        self._out.append(wire)
        if not bind_first:
            self._steps = None

    def reply_failure(self, code: int = SOCKS5Reply.GENERAL_FAILURE) -> None:
        """Refuse the request with reply ``code``; send :meth:`data_to_send` and close.

        For a SOCKS4 client any code that is not a SOCKS4 refusal (91-93),
        such as a SOCKS5Reply, is sent as 91, so one driver serves both.
        """
        request = self._request
        if request is None or self._state not in (_S.REQUEST_RECEIVED, _S.BIND_WAITING):
            raise LocalProtocolError(f"no request to answer in state {self._state.name}")
        if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code <= 255:
            raise LocalProtocolError(f"a failure reply code is an int from 1 to 255, not {code!r}")
        if request.version is _V5:
            wire = _reply5(code)
        else:
            wire = _reply4(code if code in (91, 92, 93) else _REJECTED)
        self._move(_T.FAILURE)
        self._out.append(wire)
        self._steps = None

    # -- parsing (the generator steps) ----------------------------------------------------

    def _serve(self) -> Generator[None, None, None]:
        (first,) = yield from self._reader.exactly(1)
        if first == 5:
            yield from self._socks5()
        elif first == 4:
            yield from self._socks4()
        else:
            raise SOCKSProtocolError(f"unknown SOCKS version byte 0x{first:02x}")

    def _await_decision(self, *states: SOCKSServerState) -> Generator[None, None, None]:
        while self._state in states:
            yield

    # SOCKS5 ---------------------------------------------------------------------

    def _no_method(self, message: str, cls: type[SOCKSError] = SOCKSProtocolError) -> SOCKSError:
        self._out.append(b"\x05\xff")
        return cls(message, reply_code=NO_ACCEPTABLE_METHODS, version=_V5)

    def _refuse5(self, exc: SOCKSError) -> SOCKSError:
        code = exc.reply_code if exc.reply_code is not None else SOCKS5Reply.GENERAL_FAILURE
        exc.reply_code = exc.error_code = code
        exc.version = _V5
        self._out.append(_reply5(code))
        return exc

    def _socks5(self) -> Generator[None, None, None]:
        reader = self._reader
        if _V5 not in self._versions:
            raise self._no_method("SOCKS5 is not enabled")
        (count,) = yield from reader.exactly(1)
        if count == 0:
            raise self._no_method("the greeting offers no methods")
        methods = yield from reader.exactly(count)
        wanted = (METHOD_USERNAME_PASSWORD,) if self._require_auth else (METHOD_NO_AUTH,)
        if wanted[0] not in methods:
            raise self._no_method(
                "the client offers no acceptable authentication method", SOCKSAuthError
            )
        self._out.append(b"\x05" + bytes(wanted))
        if wanted[0] == METHOD_USERNAME_PASSWORD:
            self._move(_T.METHOD_AUTH)
            yield from self._credentials()
            yield from self._await_decision(_S.CREDENTIALS_RECEIVED)
            if self._state is not _S.AWAIT_REQUEST:
                return
        else:
            self._move(_T.METHOD_NONE)
        version, cmd, rsv, atyp = yield from reader.exactly(4)
        if version != 5:
            raise self._refuse5(SOCKSProtocolError(f"request with version {version}, not 5"))
        if cmd not in SOCKSCommand._value2member_map_ or SOCKSCommand(cmd) not in self._commands:
            raise self._refuse5(
                SOCKSProtocolError(
                    f"command 0x{cmd:02x} is not supported",
                    reply_code=SOCKS5Reply.COMMAND_NOT_SUPPORTED,
                )
            )
        if rsv != 0:
            raise self._refuse5(SOCKSProtocolError("request with a non-zero reserved byte"))
        try:
            host, port = yield from read_address(
                reader, atyp, self._limits, reply_code=SOCKS5Reply.GENERAL_FAILURE
            )
        except SOCKSError as exc:
            raise self._refuse5(exc) from None
        yield from self._requested(CommandRequested(_V5, SOCKSCommand(cmd), host, port))

    def _auth_failure(self, exc: SOCKSError) -> SOCKSError:
        self._out.append(b"\x01\x01")
        exc.reply_code = exc.error_code = 1
        exc.version = _V5
        return exc

    def _credentials(self) -> Generator[None, None, None]:
        reader = self._reader
        (version,) = yield from reader.exactly(1)
        if version != 1:
            raise self._auth_failure(
                SOCKSProtocolError(f"RFC 1929 request with version {version}, not 1")
            )
        fields: list[bytes] = []
        for name, bound in (
            ("max_username_size", self._limits.max_username_size),
            ("max_password_size", self._limits.max_password_size),
        ):
            (size,) = yield from reader.exactly(1)
            if size > bound:
                raise self._auth_failure(
                    SOCKSLimitExceeded(
                        f"{size}-byte {name[4:-5]} is over {name}={bound}", limit=name, value=bound
                    )
                )
            fields.append((yield from reader.exactly(size)))
        self._events.append(CredentialsReceived(_decode(fields[0]), _decode(fields[1])))
        self._move(_T.CREDENTIALS)

    def _requested(self, request: CommandRequested) -> Generator[None, None, None]:
        self._request = request
        self._version = request.version
        self._events.append(request)
        self._move(_T.REQUEST)
        yield from self._await_decision(_S.REQUEST_RECEIVED, _S.BIND_WAITING)

    # SOCKS4 ---------------------------------------------------------------------

    def _refuse4(self, exc: SOCKSError) -> SOCKSError:
        self._out.append(_reply4(_REJECTED))
        exc.reply_code = exc.error_code = _REJECTED
        if exc.version is None:
            exc.version = _V4
        return exc

    def _socks4(self) -> Generator[None, None, None]:
        reader = self._reader
        if _V4 not in self._versions and _V4A not in self._versions:
            raise self._refuse4(SOCKSProtocolError("SOCKS4 is not enabled"))
        head = yield from reader.exactly(7)
        cmd = head[0]
        port = int.from_bytes(head[1:3], "big")
        ip = head[3:7]
        limits = self._limits
        try:
            user_id = yield from reader.until_nul(
                limits.max_username_size, "user-id", "max_username_size"
            )
            version = _V4
            host = ".".join(str(b) for b in ip)
            if ip[:3] == b"\0\0\0" and ip[3] != 0:
                version = _V4A
                name = yield from reader.until_nul(
                    limits.max_hostname_size, "host name", "max_hostname_size"
                )
                if not name or name.translate(None, _NAME_OK):
                    raise SOCKSProtocolError(f"invalid host name {name[:64]!r}", version=_V4A)
                host = name.decode("ascii")
        except SOCKSError as exc:
            raise self._refuse4(exc) from None
        if version not in self._versions:
            raise self._refuse4(
                SOCKSProtocolError(f"{version.name} is not enabled", version=version)
            )
        if cmd not in (1, 2) or SOCKSCommand(cmd) not in self._commands:
            raise self._refuse4(
                SOCKSProtocolError(f"command 0x{cmd:02x} is not supported", version=version)
            )
        if self._require_auth:
            raise self._refuse4(
                SOCKSAuthError("SOCKS4 has no authentication and it is required", version=version)
            )
        request = CommandRequested(version, SOCKSCommand(cmd), host, port, _decode(user_id))
        yield from self._requested(request)
