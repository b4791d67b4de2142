"""The client role of SOCKS4, SOCKS4A and SOCKS5 (RFC 1928, RFC 1929), sans-I/O.

::

    client = SOCKSClient(SOCKSVersion.SOCKS5, "example.com", 443,
                         username="u", password="p")
    sock.sendall(client.data_to_send())          # the greeting, queued at once
    while client.state is not SOCKSClientState.TUNNEL:
        for event in client.receive_data(sock.recv(4096)):
            ...                                  # MethodSelected, Authenticated, Succeeded
        sock.sendall(client.data_to_send())
    tls.receive_data(client.trailing_data)       # bytes the proxy sent past its reply

Each message is sent only after the previous answer (no optimistic
pipelining: some proxies drop bytes that arrive early). A refusal raises
:class:`SOCKSError` with the reply code; a malformed answer raises
:class:`SOCKSProtocolError`; either is raised again by every later call.

Names: SOCKS4 carries only IPv4 addresses, so a name is a LocalProtocolError
there; SOCKS4A and SOCKS5 send names as names (the proxy resolves them) and
literals as addresses.
"""

from __future__ import annotations

from collections.abc import Generator

from sockit.errors import LocalProtocolError
from sockit.limits import ProxyLimits
from sockit.proto.contract import Buffer
from sockit.proto.events import Event
from sockit.proto.socks._machine import Machine
from sockit.proto.socks._states import ClientTrigger, SOCKSClientState, client_next
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
    SOCKSAuthError,
    SOCKSError,
    SOCKSProtocolError,
    SOCKSVersion,
    reply_name,
)
from sockit.proto.socks.events import (
    Authenticated,
    BindConnected,
    MethodSelected,
    SOCKSCommand,
    SOCKSEvent,
    Succeeded,
)

__all__ = ["METHOD_NO_AUTH", "METHOD_USERNAME_PASSWORD", "SOCKSClient"]

#: SOCKS5 method: no authentication.
METHOD_NO_AUTH = 0x00
#: SOCKS5 method: RFC 1929 username/password.
METHOD_USERNAME_PASSWORD = 0x02

_V4 = SOCKSVersion.SOCKS4
_V5 = SOCKSVersion.SOCKS5
_T = ClientTrigger
_SOCKS4A_MARKER = b"\0\0\0\x01"  # 0.0.0.1: "the name follows"


def _text(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str")
    return value.encode("utf-8", "surrogateescape")


class SOCKSClient(Machine):
    """One SOCKS handshake as the client; see the module docstring.

    ``host``/``port`` are the target; ``command`` what to ask for;
    ``username``/``password`` (SOCKS5 only, both or neither) are offered with
    RFC 1929 next to "no authentication"; ``user_id`` is the SOCKS4 user-id.
    ``limits`` bounds names and credentials (LocalProtocolError when ours are
    over; SOCKSLimitExceeded when the proxy's are).
    """

    __slots__ = ("_auth", "_command", "_limits", "_request", "_state", "_version")

    def __init__(
        self,
        version: SOCKSVersion,
        host: str,
        port: int,
        *,
        command: SOCKSCommand = SOCKSCommand.CONNECT,
        username: str | None = None,
        password: str | None = None,
        user_id: str = "",
        limits: ProxyLimits | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(version, SOCKSVersion):
            raise LocalProtocolError("version must be a SOCKSVersion")
        if not isinstance(command, SOCKSCommand):
            raise LocalProtocolError("command must be a SOCKSCommand")
        lim = limits if limits is not None else ProxyLimits()
        self._limits = lim
        self._version = version
        self._command = command
        self._auth = b""
        check_port(port)
        if version is _V5:
            self._request = b"\x05" + bytes((command, 0)) + encode_address(host, port, lim)
            greeting = self._greeting(username, password)
            self._state = SOCKSClientState.AWAIT_METHOD
            self._out.append(greeting)
            self._steps = self._socks5(username, password)
        else:
            if username is not None or password is not None:
                raise LocalProtocolError("SOCKS4 has no username/password; use user_id")
            if command is SOCKSCommand.UDP_ASSOCIATE:
                raise LocalProtocolError("SOCKS4 has no UDP ASSOCIATE")
            self._request = self._socks4_request(host, port, user_id)
            self._state = SOCKSClientState.AWAIT_REPLY
            self._out.append(self._request)
            self._steps = self._socks4()

    # -- state ------------------------------------------------------------------

    @property
    def state(self) -> SOCKSClientState:
        """Where the handshake is."""
        return self._state

    @property
    def version(self) -> SOCKSVersion:
        """The SOCKS dialect spoken."""
        return self._version

    def receive_data(self, data: Buffer) -> list[SOCKSEvent]:
        """Feed bytes from the proxy; returns the events they complete.

        In TUNNEL the bytes are kept as :attr:`trailing_data` (no events).
        """
        return self._feed(data)

    def receive_eof(self) -> list[Event]:
        """The proxy closed: fine in TUNNEL (the next layer sees it), an error before."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._state is SOCKSClientState.TUNNEL:
            return []
        exc = SOCKSProtocolError(
            f"the proxy closed the connection during the handshake ({self._state.name})",
            version=self._version,
        )
        self._steps = None
        self._error = exc
        self._failed(exc)
        raise exc

    def _tunnel(self) -> bool:
        return self._state is SOCKSClientState.TUNNEL

    def _failed(self, exc: SOCKSError) -> None:
        self._state = client_next(self._state, _T.ERROR)

    def _move(self, trigger: ClientTrigger) -> None:
        self._state = client_next(self._state, trigger)

    # -- building requests ----------------------------------------------------------

    def _greeting(self, username: str | None, password: str | None) -> bytes:
        if (username is None) != (password is None):
            raise LocalProtocolError("give both username and password, or neither")
        if username is None:
            return b"\x05\x01\x00"
        assert password is not None
        user = _text(username, "username")
        secret = _text(password, "password")
        lim = self._limits
        if not 1 <= len(user) <= lim.max_username_size:
            raise LocalProtocolError(
                f"username must be 1 to max_username_size={lim.max_username_size} bytes"
                f" in UTF-8, not {len(user)}"
            )
        if len(secret) > lim.max_password_size:
            raise LocalProtocolError(
                f"password must be at most max_password_size={lim.max_password_size} bytes"
                f" in UTF-8, not {len(secret)}"
            )
        self._auth = b"\x01" + bytes((len(user),)) + user + bytes((len(secret),)) + secret
        return b"\x05\x02\x00\x02"

    def _socks4_request(self, host: str, port: int, user_id: str) -> bytes:
        uid = _text(user_id, "user_id")
        if b"\0" in uid or len(uid) > self._limits.max_username_size:
            raise LocalProtocolError(
                "user_id must hold no NUL and be at most max_username_size bytes"
            )
        kind, raw = classify_host(host, self._limits)
        head = b"\x04" + bytes((self._command,)) + port.to_bytes(2, "big")
        if kind is AddressType.IPV4:
            return head + raw + uid + b"\0"
        if kind is AddressType.DOMAIN and self._version is SOCKSVersion.SOCKS4A:
            return head + _SOCKS4A_MARKER + uid + b"\0" + raw + b"\0"
        if kind is AddressType.DOMAIN:
            raise LocalProtocolError(
                f"SOCKS4 needs an IPv4 address, not the name {host!r} (use SOCKS4A)"
            )
        raise LocalProtocolError(f"SOCKS4 cannot carry the IPv6 address {host!r}")

    # -- parsing (the generator steps) --------------------------------------------------

    def _socks5(self, username: str | None, password: str | None) -> Generator[None, None, None]:
        reader = self._reader
        version, method = yield from reader.exactly(2)
        if version != 5:
            raise SOCKSProtocolError(f"method selection with version {version}, not 5", version=_V5)
        if method == NO_ACCEPTABLE_METHODS:
            raise SOCKSAuthError(
                "the SOCKS5 proxy accepts none of the offered authentication methods"
                + (" (it wants credentials)" if username is None else ""),
                reply_code=method,
                version=_V5,
            )
        offered = (
            (METHOD_NO_AUTH,) if username is None else (METHOD_NO_AUTH, METHOD_USERNAME_PASSWORD)
        )
        if method not in offered:
            raise SOCKSProtocolError(
                f"the proxy chose method 0x{method:02x}, which was not offered", version=_V5
            )
        self._events.append(MethodSelected(method))
        if method == METHOD_USERNAME_PASSWORD:
            self._move(_T.METHOD_AUTH)
            self._out.append(self._auth)
            auth_version, status = yield from reader.exactly(2)
            if auth_version != 1:
                raise SOCKSProtocolError(
                    f"RFC 1929 status with version {auth_version}, not 1", version=_V5
                )
            if status != 0:
                raise SOCKSAuthError(
                    f"the SOCKS5 proxy refused the username/password (status 0x{status:02x})",
                    reply_code=status,
                    version=_V5,
                )
            self._events.append(Authenticated())
            self._move(_T.AUTH_OK)
        else:
            self._move(_T.METHOD_NONE)
        self._out.append(self._request)
        host, port = yield from self._socks5_reply()
        self._events.append(Succeeded(host, port))
        if self._command is SOCKSCommand.BIND:
            self._move(_T.BOUND)
            host, port = yield from self._socks5_reply()
            self._events.append(BindConnected(host, port))
            self._move(_T.PEER)
        else:
            self._move(_T.GRANTED)

    def _socks5_reply(self) -> Generator[None, None, tuple[str, int]]:
        version, rep, _rsv, atyp = yield from self._reader.exactly(4)
        if version != 5:
            raise SOCKSProtocolError(f"reply with version {version}, not 5", version=_V5)
        if rep != 0:
            raise SOCKSError(
                f"the SOCKS5 proxy refused {self._command.name}: {reply_name(_V5, rep)}",
                reply_code=rep,
                version=_V5,
            )
        try:
            return (yield from read_address(self._reader, atyp, self._limits))
        except SOCKSProtocolError as exc:
            exc.reply_code = exc.error_code = None  # a reply code is the server's to send
            raise

    def _socks4(self) -> Generator[None, None, None]:
        host, port = yield from self._socks4_reply()
        self._events.append(Succeeded(host, port))
        if self._command is SOCKSCommand.BIND:
            self._move(_T.BOUND)
            host, port = yield from self._socks4_reply()
            self._events.append(BindConnected(host, port))
            self._move(_T.PEER)
        else:
            self._move(_T.GRANTED)

    def _socks4_reply(self) -> Generator[None, None, tuple[str, int]]:
        reply = yield from self._reader.exactly(8)
        if reply[0] != 0:
            raise SOCKSProtocolError(f"SOCKS4 reply with version {reply[0]}, not 0", version=_V4)
        code = reply[1]
        if code != SOCKS4Reply.GRANTED:
            cls = SOCKSError if code in SOCKS4Reply._value2member_map_ else SOCKSProtocolError
            raise cls(
                f"the SOCKS4 proxy refused {self._command.name}: {reply_name(_V4, code)}",
                reply_code=code,
                version=_V4,
            )
        port = int.from_bytes(reply[2:4], "big")
        host = ".".join(str(b) for b in reply[4:8])
        return host, port
