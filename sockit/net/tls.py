"""Blocking TLS over a sockit :class:`~sockit.net.tcp.Socket`.

:class:`TLSSocket` joins a connected socket and a sans-I/O
:class:`~sockit.proto.tls.TLSConnection`: it moves records between them and
gives the familiar blocking calls, each with a ``timeout=`` that bounds the
whole call (the socket's default when omitted)::

    ctx = TLSContext.client(cafile="ca.pem", alpn=["http/1.1"])
    with connect_tls("example.com", 443, ctx, timeout=10) as tls:
        tls.sendall(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n")
        print(tls.recv(65536))

:func:`start_tls` upgrades a plain connection (STARTTLS); :meth:`TLSSocket.unwrap`
goes back to plaintext after both ``close_notify`` alerts. A handshake that
does not finish in time raises :class:`~sockit.errors.Timeout` with phase
``tls`` (default: ``TLSDefaults.handshake_timeout``); certificate and protocol
failures raise the :class:`~sockit.errors.TLSError` subclasses of
:mod:`sockit.proto.tls.errors`, after our alert has been sent.

With the ``SSLKEYLOGFILE`` environment variable set, contexts without a key
log of their own append NSS key-log lines to that file (for Wireshark).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Final

from sockit.errors import ConnectionClosed, NetworkError, Phase, Timeout, TLSError
from sockit.limits import SocketLimits
from sockit.net._oserror import (
    DEFAULT,
    Buffer,
    TimeoutArg,
    byte_view,
    check_size,
    check_timeout,
    deadline_after,
    remaining,
    timed_out,
)
from sockit.net.tcp import Socket, connect_tcp
from sockit.proto.tls import (
    CloseNotify,
    HandshakeComplete,
    TLSConnection,
    TLSContext,
    TLSData,
    TLSProtocolViolation,
    TLSSession,
    TLSState,
)
from sockit.proto.tls._fast_buffer import ChunkBuffer
from sockit.proto.tls.certinfo import CertificateInfo

__all__ = ["TLSSocket", "connect_tls", "keylog_from_environment", "start_tls", "wrap_server"]

_READ_START: Final = 16 * 1024  # first read buffer: a handshake flight fits
_READ_SIZE: Final = 256 * 1024  # the most ciphertext read per system call
_STREAMING: Final = 16 * 1024  # a read this big: data is flowing, read again before polling
_SEND_CHUNK: Final = 256 * 1024
_POLLIN: Final = select.POLLIN
_POLLOUT: Final = select.POLLOUT
_KEYLOG_LOCK = threading.Lock()


def keylog_from_environment(environ: Mapping[str, str]) -> Callable[[bytes], None] | None:
    """A key-log sink appending to ``environ["SSLKEYLOGFILE"]``, or ``None`` if unset."""
    path = environ.get("SSLKEYLOGFILE")
    if not path:
        return None

    def append(line: bytes) -> None:
        with _KEYLOG_LOCK, open(path, "ab") as fh:
            fh.write(line + b"\n")

    return append


def _apply_environment_keylog(context: TLSContext) -> None:
    if context.keylog is None:
        sink = keylog_from_environment(os.environ)
        if sink is not None:
            context.set_keylog(sink)


class TLSSocket:
    """A TLS connection over a connected :class:`Socket`, with blocking calls.

    One thread may receive while another sends (full duplex); two threads
    receiving (or two sending) at once is not supported.

    Made by :func:`start_tls`, :func:`connect_tls` or :func:`wrap_server`
    (which also run the handshake); ``suppress_ragged_eofs`` makes a peer
    that hangs up without ``close_notify`` read as end of stream (``b""``)
    instead of raising :class:`TLSProtocolViolation`, as many HTTP servers do.
    """

    def __init__(
        self,
        sock: Socket,
        conn: TLSConnection,
        *,
        suppress_ragged_eofs: bool = True,
    ) -> None:
        self._sock = sock
        self._conn = conn
        self._suppress = suppress_ragged_eofs
        # decrypted bytes, one chunk per record: recv() hands one over uncopied
        self._plain = ChunkBuffer()
        # Ciphertext lands in one reusable buffer, grown (up to _READ_SIZE)
        # when a read fills it. After a big read more is likely waiting, so
        # the next read tries at once; after a small one (a handshake
        # flight, a request) it polls first instead of failing with EAGAIN.
        self._rbuf = bytearray(_READ_START)
        self._rview = memoryview(self._rbuf)
        self._streaming = False
        self._poller: select.poll | None = None
        self._grow = False
        self._eof = False
        self._handshake: HandshakeComplete | None = None
        # One thread may read while another writes: the engine is guarded by
        # _engine, and _write keeps records in order on the wire. A reader
        # only flushes when no writer is busy (the writer sends its bytes).
        self._engine = threading.Lock()
        self._write = threading.Lock()

    # -- plumbing ------------------------------------------------------------

    def _flush(self, deadline: float | None, *, blocking: bool = True) -> None:
        if not blocking and not self._conn._dirty:
            return  # the reader's check after each read: nothing queued, no locks
        if not self._write.acquire(blocking):  # a writer waits for a flush in progress
            return
        try:
            with self._engine:
                out = self._conn._data_to_send_view()
            if out:
                self._send_out(out, deadline)
        finally:
            self._write.release()

    def _send_out(self, out: bytes | memoryview, deadline: float | None) -> None:
        """Write ``out`` to the transport (the caller holds ``_write``)."""
        sock = self._sock
        if sock.send_limiter is not None:
            sock.sendall(out, timeout=remaining(deadline))
            return
        sent = sock.try_send(out).sent
        if sent == len(out):
            return
        view = memoryview(out)[sent:]
        while True:
            sock._wait(_POLLOUT, deadline, Phase.WRITE, "sendall")
            sent = sock.try_send(view).sent
            if sent == len(view):
                return
            view = view[sent:]

    def _read_transport(self, deadline: float | None) -> int:
        """Read ciphertext into the reusable buffer; 0 means the peer closed."""
        sock = self._sock
        if sock.recv_limiter is not None:
            return sock.recv_into(self._rbuf, timeout=remaining(deadline))
        if not self._streaming:
            self._wait_readable(deadline)
        while True:
            n = sock.try_recv_into(self._rbuf)
            if n is not None:
                break
            self._wait_readable(deadline)
        size = len(self._rbuf)
        self._streaming = n >= _STREAMING
        if n == size < _READ_SIZE:  # bulk transfer: read more per call next time
            self._grow = True
        return n

    def _deadline(self, timeout: TimeoutArg) -> float | None:
        """When a call with ``timeout`` (DEFAULT: the socket's own) must end."""
        limit = self._sock.timeout if timeout is DEFAULT else check_timeout(timeout)
        return None if limit is None else time.monotonic() + limit

    def _wait_readable(self, deadline: float | None) -> None:
        """Block until the transport is readable (one poll object per socket, reused)."""
        if self._sock.closed:
            return  # the read that follows raises; never poll a descriptor number reused
        poller = self._poller
        if poller is None:
            poller = self._poller = select.poll()
            poller.register(self._sock.fileno(), _POLLIN)
        while True:
            ms = None
            if deadline is not None:
                ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))
            if poller.poll(ms):
                return  # readable, closed or failed: the read that follows says which
            if deadline is not None and time.monotonic() >= deadline:
                self._sock.stats.errors += 1
                raise timed_out(Phase.READ, "recv")

    def _flush_quietly(self) -> None:
        """Send a queued alert after a failure; the failure is what matters."""
        with contextlib.suppress(NetworkError, Timeout):
            self._flush(deadline_after(self._conn.context.defaults.shutdown_timeout))

    def _pump(self, deadline: float | None) -> None:
        """Read once from the socket and feed it; events land in the buffer."""
        n = self._read_transport(deadline)
        conn = self._conn
        try:
            with self._engine:
                events = conn.receive_data(self._rview[:n]) if n else conn.receive_eof()
            if self._grow:
                self._grow = False
                self._rbuf = bytearray(min(len(self._rbuf) * 4, _READ_SIZE))
                self._rview = memoryview(self._rbuf)
        except TLSProtocolViolation as exc:
            if not n and self._suppress and exc.reason == "unexpected-eof":
                self._eof = True
                return
            self._flush_quietly()
            raise
        except TLSError:
            self._flush_quietly()
            raise
        for event in events:
            if type(event) is TLSData:
                self._plain.append(event.data)
            elif isinstance(event, HandshakeComplete):
                self._handshake = event
            elif isinstance(event, CloseNotify):
                self._eof = True
        if not n:
            self._eof = True
        self._flush(deadline, blocking=False)

    # -- handshake -----------------------------------------------------------

    def handshake(self, timeout: TimeoutArg = DEFAULT) -> HandshakeComplete:
        """Run the handshake to the end (Timeout with phase ``tls`` if too slow)."""
        if self._handshake is not None:
            return self._handshake
        if timeout is DEFAULT:
            limit: float | None = self._conn.context.defaults.handshake_timeout
        else:
            limit = check_timeout(timeout)
        deadline = deadline_after(limit)
        try:
            self._flush(deadline)
            done = self._completed()
            while done is None:
                if self._eof:
                    self._conn.receive_eof()  # raises HandshakeFailure
                self._pump(deadline)
                done = self._completed()
        except Timeout:
            raise timed_out(Phase.TLS, "TLS handshake", limit) from None
        return done

    def _completed(self) -> HandshakeComplete | None:
        return self._handshake

    # -- data ----------------------------------------------------------------

    def send(self, data: Buffer, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Encrypt and send up to 256 KiB of ``data``; returns the bytes taken."""
        view = byte_view(data)[:_SEND_CHUNK]
        with self._engine:
            self._conn.send_data(view)
        self._flush(self._deadline(timeout))
        return len(view)

    def sendall(self, data: Buffer, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Encrypt and send all of ``data``; ``timeout`` bounds the whole call."""
        deadline = self._deadline(timeout)
        if type(data) is bytes and len(data) <= _SEND_CHUNK:  # one piece: no view
            with self._engine:
                self._conn.send_data(data)
            self._flush(deadline)
            return
        view = byte_view(data)
        for start in range(0, len(view), _SEND_CHUNK):
            with self._engine:
                self._conn.send_data(view[start : start + _SEND_CHUNK])
            self._flush(deadline)

    def recv(self, bufsize: int, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Up to ``bufsize`` decrypted bytes; ``b""`` after the peer's close_notify."""
        if type(bufsize) is not int or bufsize < 0:  # the common case skips a call
            check_size(bufsize, "bufsize")
        data = self._plain.take_some(bufsize)  # one chunk at most
        if data or not bufsize or not self._fill(timeout):
            return data
        return self._plain.take_some(bufsize)

    def _fill(self, timeout: TimeoutArg) -> bool:
        """Pump until some plaintext is buffered; ``False`` at the end of the stream."""
        if self._eof:
            return False
        deadline = self._deadline(timeout)
        plain = self._plain
        while not plain and not self._eof:
            self._pump(deadline)
        return len(plain) > 0

    def recv_exactly(self, n: int, *, timeout: TimeoutArg = DEFAULT) -> bytes:
        """Exactly ``n`` bytes; ConnectionClosed if the stream ends first."""
        check_size(n, "n")
        plain = self._plain
        if len(plain) < n:
            deadline = self._deadline(timeout)
            while len(plain) < n and not self._eof:
                self._pump(deadline)
            if len(plain) < n:
                raise ConnectionClosed(f"TLS stream ended after {len(plain)} of {n} bytes")
        return plain.take(n)

    # -- ending --------------------------------------------------------------

    def unwrap(self, *, timeout: TimeoutArg = DEFAULT) -> Socket:
        """Exchange ``close_notify`` and return the plain socket (STARTTLS downgrade).

        Plaintext the peer sent right after its ``close_notify`` is in
        :attr:`trailing_data`; unread decrypted data is dropped.
        """
        conn = self._conn
        if timeout is DEFAULT:
            deadline = deadline_after(conn.context.defaults.shutdown_timeout)
        else:
            deadline = deadline_after(check_timeout(timeout))
        with self._engine:
            conn.close()
        self._flush(deadline)
        while conn.state is not TLSState.CLOSED:
            if self._eof:
                break
            self._pump(deadline)
        conn.unwrap()
        return self._sock

    @property
    def trailing_data(self) -> bytes:
        """Plaintext that followed the peer's ``close_notify`` (after :meth:`unwrap`)."""
        return self._conn.trailing_data

    def close(self) -> None:
        """Send ``close_notify`` (bounded by ``shutdown_timeout``) and close the socket."""
        if self._sock.closed:
            return
        try:
            if self._conn.state in (TLSState.OPEN, TLSState.PEER_CLOSED):
                with self._engine:
                    self._conn.close()
                self._flush_quietly()
        finally:
            self._sock.close()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- what was negotiated -------------------------------------------------

    @property
    def connection(self) -> TLSConnection:
        """The sans-I/O engine underneath."""
        return self._conn

    @property
    def socket(self) -> Socket:
        """The transport socket (do not read or write it directly)."""
        return self._sock

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._sock.closed

    def fileno(self) -> int:
        """The transport's file descriptor (for a reactor or ``select``)."""
        return self._sock.fileno()

    def pending(self) -> int:
        """Decrypted bytes already buffered (readable without waiting)."""
        return len(self._plain)

    @property
    def alpn_protocol(self) -> str | None:
        """The agreed ALPN protocol, or ``None``."""
        return self._conn.alpn_protocol

    @property
    def version(self) -> str | None:
        """The TLS version (``"TLSv1.3"``)."""
        return self._conn.version

    @property
    def cipher(self) -> str | None:
        """The cipher suite name."""
        return self._conn.cipher

    @property
    def peer_certificate(self) -> CertificateInfo | None:
        """The peer's leaf certificate information."""
        return self._conn.peer_certificate

    @property
    def session(self) -> TLSSession | None:
        """The session to offer when reconnecting."""
        return self._conn.session

    @property
    def session_reused(self) -> bool:
        """Whether this handshake resumed a session."""
        return self._conn.session_reused

    def __repr__(self) -> str:
        state = self._conn.state.value
        return f"<TLSSocket {state} {self.version or ''} closed={self._sock.closed}>"


def _wrap(
    sock: Socket,
    context: TLSContext,
    *,
    server_hostname: str | None,
    session: TLSSession | None,
    origin: str | None,
    timeout: TimeoutArg,
    suppress_ragged_eofs: bool,
) -> TLSSocket:
    _apply_environment_keylog(context)
    conn = TLSConnection(
        context,
        server_hostname=server_hostname,
        session=session,
        now=time.monotonic(),
        wall_time=time.time(),
        origin=origin,
    )
    tls = TLSSocket(sock, conn, suppress_ragged_eofs=suppress_ragged_eofs)
    tls.handshake(timeout)
    return tls


def start_tls(
    sock: Socket,
    context: TLSContext,
    *,
    server_hostname: str | None = None,
    session: TLSSession | None = None,
    timeout: TimeoutArg = DEFAULT,
    suppress_ragged_eofs: bool = True,
) -> TLSSocket:
    """Run a TLS handshake on connected ``sock`` in ``context``'s role; return the TLSSocket.

    The socket belongs to the TLSSocket afterwards (or is left open, for the
    caller to close, if the handshake fails).
    """
    return _wrap(
        sock, context, server_hostname=server_hostname, session=session, origin=None,
        timeout=timeout, suppress_ragged_eofs=suppress_ragged_eofs,
    )


def wrap_server(sock: Socket, context: TLSContext, timeout: TimeoutArg = DEFAULT) -> TLSSocket:
    """The server side of :func:`start_tls` (for an accepted connection)."""
    return _wrap(
        sock, context, server_hostname=None, session=None, origin=None, timeout=timeout,
        suppress_ragged_eofs=True,
    )


def connect_tls(
    host: str,
    port: int,
    context: TLSContext,
    *,
    timeout: TimeoutArg = DEFAULT,
    server_hostname: str | None = None,
    session: TLSSession | None = None,
    suppress_ragged_eofs: bool = True,
) -> TLSSocket:
    """Connect to ``host:port`` and handshake; ``timeout`` bounds each of the two steps.

    ``server_hostname`` (SNI and the name checked) defaults to ``host``; the
    context's session store is keyed by ``host:port``.
    """
    connect_timeout = SocketLimits().connect_timeout if timeout is DEFAULT else timeout
    sock = connect_tcp(host, port, timeout=connect_timeout)
    try:
        return _wrap(
            sock, context, server_hostname=server_hostname or host, session=session,
            origin=f"{host}:{port}", timeout=timeout, suppress_ragged_eofs=suppress_ragged_eofs,
        )
    except BaseException:
        sock.close()
        raise
