"""The sans-I/O TLS engine: :class:`TLSConnection` over OpenSSL memory BIOs.

It follows the protocol contract of ``docs/architecture.md`` section 2::

    conn = TLSConnection(ctx, server_hostname="example.com", now=clock())
    sock.sendall(conn.data_to_send())               # the ClientHello
    while conn.state is TLSState.HANDSHAKING:
        for event in conn.receive_data(sock.recv(65536)):
            ...                                     # HandshakeComplete
        sock.sendall(conn.data_to_send())
    conn.send_data(b"GET / HTTP/1.1\\r\\n...")

Behaviour worth knowing (``docs/tls.md`` has the rest):

* Records are handed to OpenSSL one whole record at a time, so the bytes
  split any way give the same events, and bytes after the peer's
  ``close_notify`` (a STARTTLS protocol going back to plaintext) stay ours:
  :attr:`trailing_data` / :meth:`unwrap`.
* Failures raise a :class:`~sockit.errors.TLSError` subclass after the
  alert OpenSSL produced has been queued: flush :meth:`data_to_send`, close.
  Certificate problems are refused inside the handshake (an alert, no
  application data): verification codes map to distinct classes, the host
  name (or IP address) is checked with ``service_identity``, then pins, CRL
  and CT. A fatal alert from the peer raises :class:`PeerAlert`.
* ``now`` starts the handshake deadline (``handshake_timeout``, default
  ``TLSDefaults.handshake_timeout``); :meth:`handle_timeout` past it raises
  :class:`~sockit.errors.Timeout` (phase ``handshake``). ``wall_time``
  (POSIX seconds) feeds the CRL, OCSP and CT checks that need a date.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Final

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto

from sockit.errors import LocalProtocolError, Phase, Timeout, TLSError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.tls._checks import PeerChecks, host_kind
from sockit.proto.tls._context_sessions import TLSSession
from sockit.proto.tls._fast_io import record_io
from sockit.proto.tls._openssl_private import session_reused
from sockit.proto.tls._policies import PinResultLike
from sockit.proto.tls._state import TLSState, Trigger, next_state
from sockit.proto.tls._verify import alert_error, ssl_error
from sockit.proto.tls.certinfo import CertificateInfo
from sockit.proto.tls.context import ClientAuth, TLSContext
from sockit.proto.tls.errors import (
    HandshakeFailure,
    OCSPError,
    TLSProtocolViolation,
    TLSUsageError,
)
from sockit.proto.tls.events import CloseNotify, HandshakeComplete, TLSData

__all__ = ["TLSConnection", "TLSState"]

_MAX_RECORD: Final = 16384 + 2048  # TLSCiphertext bound (TLS 1.2; 1.3 is tighter)
_RECORD_TYPES: Final = frozenset({20, 21, 22, 23})
_READABLE: Final = frozenset({TLSState.OPEN, TLSState.CLOSING})
_READ_ALERT: Final = SSL.SSL_CB_READ


@functools.lru_cache(maxsize=256)
def _sni_bytes(hostname: str, max_size: int) -> bytes | None:
    """The SNI bytes for ``hostname`` (``None`` for IP literals), remembered per name."""
    if host_kind(hostname) is not None:
        return None  # RFC 6066: no SNI for IP literals
    try:
        raw = hostname.rstrip(".").encode("idna")
    except UnicodeError as exc:
        raise TLSUsageError(f"bad server_hostname {hostname!r}: {exc}") from exc
    if not raw or len(raw) > max_size:
        raise TLSUsageError(f"server_hostname must be 1..{max_size} bytes")
    return raw


def _record_run(view: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Where the run of whole, well-formed records from ``pos`` ends, and how many."""
    count = 0
    while end - pos >= 5:
        length = (view[pos + 3] << 8) | view[pos + 4]
        stop = pos + 5 + length
        if (
            view[pos] not in _RECORD_TYPES or view[pos + 1] != 3
            or length > _MAX_RECORD or stop > end
        ):
            break
        pos = stop
        count += 1
    return pos, count


class TLSConnection:
    """One TLS connection in the role of ``context`` (see the module docstring).

    A client sends SNI (not for IP literals) and checks ``server_hostname``
    when the context checks host names; its ClientHello is queued at once.
    ``session`` offers an earlier session; without one, the context's
    session store is asked for ``origin`` (default: ``server_hostname``).
    """

    def __init__(
        self,
        context: TLSContext,
        *,
        server_hostname: str | None = None,
        session: TLSSession | None = None,
        now: float | None = None,
        wall_time: float | None = None,
        handshake_timeout: float | None = None,
        origin: str | None = None,
    ) -> None:
        if not isinstance(context, TLSContext):
            raise TLSUsageError(f"context must be a TLSContext, not {type(context).__name__}")
        if context.needs_wall_time and wall_time is None:
            raise TLSUsageError("CRL, OCSP and CT checks need wall_time= (POSIX seconds)")
        self.context = context
        self.role = context.role
        self._state = TLSState.HANDSHAKING
        self._server_hostname = server_hostname
        self._origin = origin if origin is not None else server_hostname
        self._now = now
        self._wall_time = wall_time
        timeout = handshake_timeout
        if timeout is None:
            timeout = context.defaults.handshake_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise TLSUsageError(f"handshake_timeout must be > 0 seconds, not {timeout!r}")
        self._deadline = None if now is None else now + float(timeout)
        self._pending = bytearray()
        self._trailing = bytearray()
        self._dirty = True
        self._alert_in: int | None = None
        self._alert_out: int | None = None
        self._ocsp_failure: TLSError | None = None
        self._unwrapped = False
        self._closed_by_peer = False
        self._complete: HandshakeComplete | None = None
        self._ssl = ssl = SSL.Connection(context.openssl_context, None)
        ssl.set_app_data(self)
        self._io = record_io(ssl)
        client = self.role is Role.CLIENT
        # a server that asks for no client certificate never gets one
        self._peer_may_have_cert = client or context.client_auth is not ClientAuth.NONE
        check_name = client and context.check_hostname
        if check_name and not server_hostname:
            raise TLSUsageError("check_hostname needs server_hostname= (or a context with it off)")
        self._checks = PeerChecks(
            verify=context.verify if client else True,
            hostname=server_hostname if check_name else None,
            pins=context.pins,
            crl=context.crl,
            ct=context.ct if client else None,
            wall_time=wall_time,
            keep_chain=client and context.ocsp is not None,
            name_cache=context._name_cache,
        )
        if client:
            ssl.set_connect_state()
            if server_hostname:
                self._set_sni(server_hostname)
            if session is None and self._origin is not None:
                session = context.session_for(self._origin, now=now)
            if session is not None:
                if session.owner is not context:
                    raise TLSUsageError("the session belongs to another TLSContext")
                ssl.set_session(session.openssl_session)
            if context.ocsp is not None:
                ssl.request_ocsp()
            self._step_handshake([])
        else:
            ssl.set_accept_state()
            self._dirty = False  # a server says nothing before the ClientHello

    def _set_sni(self, hostname: str) -> None:
        raw = _sni_bytes(hostname, self.context.defaults.max_sni_size)
        if raw is not None:
            self._ssl.set_tlsext_host_name(raw)

    # -- the contract ------------------------------------------------------

    @property
    def state(self) -> TLSState:
        """Where the connection stands (see :class:`TLSState`)."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """Bytes that followed the peer's ``close_notify`` (plaintext after STARTTLS)."""
        return bytes(self._trailing)

    def receive_data(self, data: Buffer) -> list[Event]:
        """Feed bytes from the peer; returns HandshakeComplete / TLSData / CloseNotify."""
        state = self._state
        if state is TLSState.FAILED:
            raise TLSUsageError("the TLS connection has failed")
        if self._closed_by_peer:  # what follows close_notify is not TLS any more
            self._trailing += data
            return []
        if state is TLSState.CLOSED:
            return []
        events: list[Event] = []
        pending = self._pending
        if pending:
            pending += data
            buf: bytes | bytearray | memoryview = bytes(pending)
            pending.clear()
        else:
            buf = data
        view = memoryview(buf).cast("B") if not isinstance(buf, bytes) else memoryview(buf)
        pos, end = 0, len(view)
        while end - pos >= 5:
            state = self._state
            if (state is TLSState.OPEN or state is TLSState.HANDSHAKING) and self._io.batches:
                stop, count = _record_run(view, pos, end)
                # whole records: hand them over in one go (during the handshake
                # only when there are several: one is the per-record path below)
                if count > 1 or (count and state is TLSState.OPEN):
                    self._io.feed(view[pos:stop])
                    if state is TLSState.HANDSHAKING:
                        self._step_handshake(events)  # takes what the handshake needs
                        if self._state is TLSState.OPEN and self._io.input_left():
                            self._read_records(events, count)
                    else:
                        self._read_records(events, count)
                    if self._state in (TLSState.PEER_CLOSED, TLSState.CLOSED):
                        self._trailing += self._io.take_input()
                        self._trailing += view[stop:]
                        return events
                    pos = stop
                    continue
            ctype = view[pos]
            length = (view[pos + 3] << 8) | view[pos + 4]
            if ctype not in _RECORD_TYPES or view[pos + 1] != 3 or length > _MAX_RECORD:
                stop = end  # not TLS: let OpenSSL see it and refuse it now
            else:
                stop = pos + 5 + length
                if stop > end:
                    break
            self._io.feed(view[pos:stop])
            pos = stop
            if self._state is TLSState.HANDSHAKING:
                self._step_handshake(events)
            else:
                self._read_record(events)
            if self._state in (TLSState.PEER_CLOSED, TLSState.CLOSED):
                self._trailing += view[pos:]
                return events
        if pos < end:
            pending += view[pos:]
        return events

    def receive_eof(self) -> list[Event]:
        """The transport ended: fine after close_notify, a failure otherwise."""
        state = self._state
        if state is TLSState.HANDSHAKING:
            self._state = next_state(state, Trigger.FAIL)
            raise HandshakeFailure("the peer closed the connection during the handshake",
                                   reason="eof")
        if state is TLSState.OPEN:
            self._state = next_state(state, Trigger.FAIL)
            raise TLSProtocolViolation(
                "the peer closed the connection without close_notify (truncation?)",
                reason="unexpected-eof",
            )
        if state is not TLSState.FAILED:
            self._state = next_state(state, Trigger.EOF)
        return []

    def send(self, event: Event) -> None:
        """Queue ``TLSData(data)`` (application bytes) or ``CloseNotify()`` (close)."""
        if isinstance(event, TLSData):
            self.send_data(event.data)
        elif isinstance(event, CloseNotify):
            self.close()
        else:
            raise LocalProtocolError(f"TLSConnection cannot send {type(event).__name__}")

    def send_data(self, data: Buffer) -> None:
        """Encrypt application bytes (after the handshake, before our close)."""
        state = self._state
        if state is not TLSState.OPEN and state is not TLSState.PEER_CLOSED:
            raise TLSUsageError(f"cannot send application data in state {state.value}")
        try:
            self._io.write(data)
        except SSL.Error as exc:
            self._fail(ssl_error(exc, handshaking=False, sent_alert=self._alert_out))
        self._dirty = True

    def data_to_send(self) -> bytes:
        """Take the TLS records queued for the wire (``b""`` if none)."""
        if not self._dirty:
            return b""
        self._dirty = False
        return self._io.take_output()

    def _data_to_send_view(self) -> bytes | memoryview:
        """:meth:`data_to_send` without the copy, for :class:`sockit.net.tls.TLSSocket`.

        The view may be over a buffer the engine reuses: it is valid until
        the next ``data_to_send`` or ``_data_to_send_view`` call, so the
        caller sends it before taking more output (TLSSocket holds its write
        lock from taking the bytes until they are on the wire).
        """
        if not self._dirty:
            return b""
        self._dirty = False
        return self._io.take_output_view()

    def next_deadline(self) -> float | None:
        """The handshake deadline while handshaking (needs ``now`` at creation)."""
        return self._deadline if self._state is TLSState.HANDSHAKING else None

    def handle_timeout(self, now: float) -> list[Event]:
        """Past the handshake deadline: fail with Timeout(phase=HANDSHAKE)."""
        deadline = self.next_deadline()
        if deadline is not None and now >= deadline:
            self._state = next_state(self._state, Trigger.FAIL)
            raise Timeout("the TLS handshake did not finish in time", phase=Phase.HANDSHAKE)
        return []

    def close(self) -> None:
        """Queue our ``close_notify`` (idempotent; during the handshake: abandon it)."""
        state = self._state
        if state in (TLSState.OPEN, TLSState.PEER_CLOSED):
            with contextlib.suppress(SSL.Error):  # unwritable alert: nothing more to say
                self._ssl.shutdown()
            self._dirty = True
            self._state = next_state(state, Trigger.LOCAL_CLOSE)
        elif state is TLSState.HANDSHAKING:
            self._state = next_state(state, Trigger.LOCAL_CLOSE)

    def unwrap(self) -> bytes:
        """Back to plaintext after both ``close_notify``: the bytes that followed."""
        if self._state is not TLSState.CLOSED or not self._closed_by_peer:
            raise TLSUsageError(
                "unwrap needs both close_notify alerts (call close() and receive the peer's)"
            )
        self._unwrapped = True
        return bytes(self._trailing)

    # -- what was negotiated -----------------------------------------------

    @property
    def server_hostname(self) -> str | None:
        """The SNI name: the one we sent (client) or the client asked for (server)."""
        return self._server_hostname

    @property
    def alpn_protocol(self) -> str | None:
        """The agreed ALPN protocol, or ``None``."""
        raw = self._ssl.get_alpn_proto_negotiated()
        return raw.decode("utf-8", "replace") if raw else None

    @property
    def version(self) -> str | None:
        """``"TLSv1.3"`` or ``"TLSv1.2"`` once the handshake is done."""
        if self._complete is None:
            return None
        return str(self._ssl.get_protocol_version_name())

    @property
    def cipher(self) -> str | None:
        """The cipher suite's OpenSSL name once the handshake is done."""
        name = self._ssl.get_cipher_name() if self._complete is not None else None
        return None if name is None else str(name)

    @property
    def session(self) -> TLSSession | None:
        """The current session, to resume later (clients; after a ticket in TLS 1.3)."""
        raw = self._ssl.get_session() if self._complete is not None else None
        return None if raw is None else TLSSession(raw, self.context)

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed an earlier session."""
        if self._complete is None:
            return False
        return session_reused(self._ssl)

    @property
    def peer_chain_der(self) -> tuple[bytes, ...]:
        """The peer's chain as DER, leaf first (verified chain when available)."""
        chain = self._checks.chain_der()
        if chain:
            return tuple(chain)
        certs = self._ssl.get_verified_chain(as_cryptography=True)
        if not certs:
            certs = self._ssl.get_peer_cert_chain(as_cryptography=True) or []
            if self.role is Role.SERVER:
                leaf = self._ssl.get_peer_certificate(as_cryptography=True)
                certs = ([leaf] if leaf is not None else []) + list(certs)
        return tuple(c.public_bytes(Encoding.DER) for c in certs)

    @property
    def peer_certificate(self) -> CertificateInfo | None:
        """The peer's leaf certificate information (``None`` without one)."""
        if self._complete is not None:
            return self._complete.peer_certificate
        return None

    @property
    def pin_result(self) -> PinResultLike | None:
        """The pin check's outcome when pins are configured."""
        return self._checks.pin_result

    # -- internals -----------------------------------------------------------

    def _step_handshake(self, events: list[Event]) -> None:
        self._dirty = True
        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            return
        except SSL.Error as exc:
            self._fail_handshake(exc)
        self._finish_handshake(events)

    def _finish_handshake(self, events: list[Event]) -> None:
        if self._checks.failure is not None:  # refused but OpenSSL went on (resumption)
            self._fail(self._checks.failure)
        if self._ocsp_failure is not None:
            self._fail(self._ocsp_failure)
        self._state = next_state(self._state, Trigger.HANDSHAKE_DONE)
        ssl = self._ssl
        reused = session_reused(ssl)
        # the verify callback kept the leaf it checked; a resumed session
        # skips verification, so then ask OpenSSL for the certificate
        der = None if reused else self._checks.leaf_der
        if der is None and self._peer_may_have_cert:
            leaf = ssl.get_peer_certificate(as_cryptography=True)
            der = None if leaf is None else leaf.public_bytes(Encoding.DER)
        info = None
        if der is not None:
            try:
                info = self.context._certificate_info(der)
            except TLSError as exc:
                self._fail(exc)
        raw_alpn = ssl.get_alpn_proto_negotiated()
        event = HandshakeComplete(
            alpn_protocol=raw_alpn.decode("utf-8", "replace") if raw_alpn else None,
            version=str(ssl.get_protocol_version_name()),
            cipher=str(ssl.get_cipher_name()),
            session_reused=reused,
            server_hostname=self._server_hostname,
            peer_certificate=info,
            pin_result=self._checks.pin_result,
        )
        self._complete = event
        self._remember_session()
        events.append(event)

    def _remember_session(self) -> None:
        store = self.context.session_cache
        if store is None or self.role is not Role.CLIENT or self._origin is None:
            return
        raw = self._ssl.get_session()
        if raw is not None:
            store.put(self._origin, TLSSession(raw, self.context), now=self._now)

    def _read_records(self, events: list[Event], count: int) -> None:
        """Read the ``count`` whole records just fed (one ``SSL_read`` each)."""
        io = self._io
        while count > 0:  # the state is OPEN here
            chunks, result = io.read_many(count)
            events.extend(map(TLSData, chunks))
            if result > 0:
                return
            count -= len(chunks) + 1  # the failed read took a record too
            if not self._read_record(events, failed=result) or self._state is not TLSState.OPEN:
                return

    def _read_record(self, events: list[Event], *, failed: int | None = None) -> bool:
        """Read one fed record (or explain read ``failed``); ``False`` once nothing more can."""
        try:
            if failed is not None:
                self._io.read_error(failed)
            data = self._io.read_record()
        except SSL.WantReadError:
            self._dirty = True  # a ticket or key update: maybe an answer queued
            if self._state is TLSState.OPEN:
                self._remember_session()
            return self._io.input_left() > 0
        except SSL.ZeroReturnError:
            self._closed_by_peer = True
            self._dirty = True
            self._state = next_state(self._state, Trigger.PEER_CLOSE)
            events.append(CloseNotify())
            return False
        except SSL.Error as exc:
            if self._alert_in is not None:
                self._fail(alert_error(self._alert_in, handshaking=False))
            self._fail(ssl_error(exc, handshaking=False, sent_alert=self._alert_out))
        if self._state is TLSState.OPEN or self._state is TLSState.CLOSING:
            events.append(TLSData(data))
        return True

    def _fail_handshake(self, exc: SSL.Error) -> None:
        if self._checks.failure is not None:
            failure = self._checks.failure
            if getattr(failure, "alert", 0) is None and hasattr(failure, "alert"):
                failure.alert = self._alert_out
            self._fail(failure)
        if self._ocsp_failure is not None:
            self._fail(self._ocsp_failure)
        if self._alert_in is not None:
            self._fail(alert_error(self._alert_in, handshaking=True))
        self._fail(ssl_error(exc, handshaking=True, sent_alert=self._alert_out))

    def _fail(self, exc: TLSError) -> None:
        self._state = next_state(self._state, Trigger.FAIL)
        self._dirty = True
        raise exc

    # -- OpenSSL callbacks (via _context_build.Hooks) ----------------------

    def _on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        return self._checks.on_verify(cert, errnum, depth, ok)

    def _on_alert(self, where: int, ret: int) -> None:
        level, description = ret >> 8, ret & 0xFF
        if description == 0:
            return  # close_notify
        if where & _READ_ALERT:
            if level == 2 and self._alert_in is None:
                self._alert_in = description
        elif self._alert_out is None:
            self._alert_out = description

    def _on_servername(self, ssl_conn: SSL.Connection) -> None:
        raw = ssl_conn.get_servername()
        self._server_hostname = raw.decode("ascii", "replace") if raw else None

    def _on_ocsp_staple(self, staple: bytes) -> bool:
        policy = self.context.ocsp
        if policy is None:
            return True
        limit = self.context.defaults.max_ocsp_response_size
        try:
            if len(staple) > limit:
                raise OCSPError(
                    f"stapled OCSP response over {limit} bytes", reason="ocsp-too-large"
                )
            chain = self._checks.chain_der() or list(self.peer_chain_der)
            if not chain:
                raise OCSPError("no peer certificate to check the OCSP response against")
            issuer = chain[1] if len(chain) > 1 else None
            assert self._wall_time is not None
            policy.check(staple or None, chain[0], issuer, wall_time=self._wall_time)
        except TLSError as exc:
            self._ocsp_failure = exc
            return False
        except Exception as exc:
            self._ocsp_failure = OCSPError(f"OCSP check failed: {exc!r}")
            return False
        return True
