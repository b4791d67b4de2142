"""TLS for client connections: the context from ``verify``/``cert``, the handshake,
and a transport with the same non-blocking surface as a :class:`~sockit.net.Socket`.

The HTTP/1.1, HTTP/2 and WebSocket client connections use four socket
methods — ``fileno``, ``try_recv``, ``try_send``, ``close`` — and wait on the
file descriptor with ``poll``. :class:`TLSTransport` keeps that contract over
a :class:`~sockit.proto.tls.TLSConnection`:

* ``try_recv`` decrypts what the socket holds and returns *all* the
  plaintext it completed, so no plaintext is ever left buffered while the
  caller waits on the descriptor (which would wait forever).
* ``try_send`` accepts plaintext only once its records have all reached the
  kernel. A chunk whose records went out partly is reported as 0 bytes sent;
  the caller waits for ``POLLOUT`` and calls again with the same data, and
  the rest of those records goes out first. Nothing is encrypted twice and no
  record is left behind when the caller believes the request was sent.

Verification is on by default: ``verify=True`` trusts ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set (unless ``trust_env=False``), else the system's CAs;
``verify="ca.pem"`` (or a directory) trusts exactly that; ``verify=False``
turns checking off (like ``curl --insecure``).
"""

from __future__ import annotations

import contextlib
import os
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from sockit.errors import ConnectionClosed, Phase, SockitError, Timeout
from sockit.net import SendResult, Socket
from sockit.proto.tls import HandshakeComplete, TLSConnection, TLSContext, TLSData

__all__ = ["TLSTransport", "Transport", "client_tls_context", "start_client_tls"]


class Transport(Protocol):
    """What the client connections need of their byte stream: a Socket, or TLS over one."""

    @property
    def closed(self) -> bool:
        """Whether it is closed."""
        ...

    def fileno(self) -> int:
        """The descriptor to poll."""
        ...

    def try_recv(self, bufsize: int) -> bytes | None:
        """Bytes available now; ``None`` if none yet, ``b""`` at the end."""
        ...

    def try_send(self, data: bytes | bytearray | memoryview) -> SendResult:
        """Send what can be sent now."""
        ...

    def close(self) -> None:
        """Close it."""
        ...

_RECV_SIZE: Final = 256 * 1024
_SEND_CHUNK: Final = 64 * 1024

CertArg = str | os.PathLike[str] | tuple[str | os.PathLike[str], str | os.PathLike[str]] | None


def client_tls_context(
    verify: bool | str | os.PathLike[str] = True,
    cert: CertArg = None,
    *,
    alpn: Sequence[str] = ("http/1.1",),
    trust_env: bool = True,
    environ: Mapping[str, str] | None = None,
) -> TLSContext:
    """The client :class:`TLSContext` for ``verify`` and ``cert`` (see the module docstring).

    ``cert`` is a PEM file with the client certificate and key, or a
    ``(cert, key)`` pair, for mutual TLS.
    """
    env = os.environ if environ is None else environ
    cafile: str | None = None
    capath: str | None = None
    if verify is False:
        pass
    elif verify is True:
        if trust_env:
            cafile = env.get("SSL_CERT_FILE") or None
            capath = env.get("SSL_CERT_DIR") or None
        else:
            # OpenSSL's default paths read SSL_CERT_FILE/SSL_CERT_DIR themselves: name the
            # compiled-in system locations explicitly so the environment is really ignored
            paths = ssl.get_default_verify_paths()
            if paths.openssl_cafile and os.path.isfile(paths.openssl_cafile):
                cafile = paths.openssl_cafile
            if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
                capath = paths.openssl_capath
    else:
        where = os.fspath(verify)
        if os.path.isdir(where):
            capath = where
        else:
            cafile = where
    cert_file: str | os.PathLike[str] | None = None
    key_file: str | os.PathLike[str] | None = None
    if isinstance(cert, tuple):
        cert_file, key_file = cert
    elif cert is not None:
        cert_file = cert
    return TLSContext.client(
        cafile=cafile,
        capath=capath,
        verify=verify is not False,
        check_hostname=verify is not False,
        alpn=tuple(alpn),
        cert=cert_file,
        key=key_file,
    )


class TLSTransport:
    """A TLS connection over a non-blocking :class:`Socket`, socket-shaped for the client."""

    __slots__ = ("_plain", "_plain_len", "_records", "handshake", "sock", "tls")

    def __init__(self, sock: Socket, tls: TLSConnection, handshake: HandshakeComplete) -> None:
        self.sock = sock
        self.tls = tls
        #: What the handshake negotiated (ALPN protocol, version, peer certificate).
        self.handshake = handshake
        self._plain = b""  # plaintext that arrived with the handshake's last flight
        self._records = b""  # records of a chunk the kernel took only partly
        self._plain_len = 0  # the plaintext length those records carry

    @property
    def alpn_protocol(self) -> str | None:
        """The protocol the server chose by ALPN (``None``: none)."""
        return self.handshake.alpn_protocol

    @property
    def closed(self) -> bool:
        """Whether the socket is closed."""
        return self.sock.closed

    @property
    def timeout(self) -> float | None:
        """The underlying socket's default timeout."""
        return self.sock.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.sock.timeout = value

    def fileno(self) -> int:
        """The socket's descriptor (what the caller polls)."""
        return self.sock.fileno()

    def try_recv(self, bufsize: int) -> bytes | None:
        """All plaintext available now; ``None`` if none yet, ``b""`` at the end."""
        if self._plain:
            out, self._plain = self._plain, b""
            return out
        raw = self.sock.try_recv(_RECV_SIZE)
        if raw is None:
            return None
        tls = self.tls
        if not raw:
            tls.receive_eof()  # raises on truncation; after close_notify it is the end
            return b""
        parts: list[bytes] = []
        ended = False
        for event in tls.receive_data(raw):
            if type(event) is TLSData:
                assert isinstance(event, TLSData)
                parts.append(event.data)
            elif not isinstance(event, (TLSData, HandshakeComplete)):
                ended = True  # CloseNotify
        self._send_engine_output()
        if parts:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        return b"" if ended else None

    def _send_engine_output(self) -> None:
        """Records the engine made on its own (key updates, alerts): best effort, now."""
        out = self.tls.data_to_send()
        if out:
            self._records += out

    def try_send(self, data: bytes | bytearray | memoryview) -> SendResult:
        """Send plaintext; the count is only what fully reached the kernel (see above)."""
        if self._records:
            result = self.sock.try_send(self._records)
            self._records = self._records[result.sent:]
            if self._records:
                return SendResult(0, result.retry_after)
            done, self._plain_len = self._plain_len, 0
            if done:
                return SendResult(done)
        chunk = bytes(data[:_SEND_CHUNK])
        if not chunk:
            return SendResult(0)
        self.tls.send_data(chunk)
        records = self.tls.data_to_send()
        result = self.sock.try_send(records)
        if result.sent == len(records):
            return SendResult(len(chunk))
        self._records = records[result.sent:]
        self._plain_len = len(chunk)
        return SendResult(0, result.retry_after)

    def close(self) -> None:
        """Send close_notify if the kernel takes it now, then close the socket."""
        if self.sock.closed:
            return
        with contextlib.suppress(SockitError, OSError):  # closing: a failed peer gets no alert
            self.tls.close()
            out = self.tls.data_to_send()
            if out:
                self.sock.try_send(out)
        self.sock.close()


def start_client_tls(
    sock: Socket,
    context: TLSContext,
    server_hostname: str,
    deadline: float | None,
    *,
    initial: bytes = b"",
) -> TLSTransport:
    """Run the client handshake on ``sock`` until ``deadline`` (``Timeout`` in phase ``tls``).

    ``initial`` holds bytes already read from the peer (behind a proxy's reply).
    """
    tls = TLSConnection(context, server_hostname=server_hostname, wall_time=time.time())
    pending = tls.data_to_send()
    done: HandshakeComplete | None = None
    plain: list[bytes] = []

    def feed(data: bytes) -> None:
        nonlocal done, pending
        for event in tls.receive_data(data):
            if isinstance(event, HandshakeComplete):
                done = event
            elif isinstance(event, TLSData):
                plain.append(event.data)
        pending += tls.data_to_send()

    if initial:
        feed(initial)
    while done is None or pending:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise Timeout(f"the TLS handshake with {server_hostname} timed out", phase=Phase.TLS)
        if pending:
            result = sock.try_send(pending)
            pending = pending[result.sent:]
            if pending:
                sock.is_writable(left)
            continue
        raw = sock.try_recv(_RECV_SIZE)
        if raw is None:
            sock.is_readable(left)
            continue
        if not raw:
            tls.receive_eof()  # raises HandshakeFailure
            raise ConnectionClosed(f"{server_hostname} closed the connection in the handshake")
        feed(raw)
    transport = TLSTransport(sock, tls, done)
    transport._plain = b"".join(plain)
    return transport
