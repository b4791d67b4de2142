"""The sans-I/O DTLS 1.2 engine: :class:`DTLSConnection` over OpenSSL memory BIOs.

The protocol contract of ``docs/architecture.md`` section 2, datagram-shaped::

    conn = DTLSConnection(ctx, server_hostname="localhost", now=clock())
    for datagram in conn.datagrams_to_send():     # the ClientHello
        sock.send(datagram)
    events = conn.receive_datagram(sock.recv(65535), now=clock())
    ...                                           # HandshakeComplete, TLSData, CloseNotify
    conn.handle_timeout(clock())                  # at conn.next_deadline(): resend a flight

What is different from TLS (``docs/tls.md`` has the rest):

* Input is one whole datagram per call and output is a list of datagrams,
  each at most ``mtu`` bytes. :meth:`data_to_send` hands out one datagram
  per call (never two joined), for drivers written against the contract.
* Garbage, replayed and stray datagrams are dropped and counted in
  :attr:`stats` (DTLS semantics); they raise nothing. Certificate and
  protocol failures during the handshake, and authenticated fatal alerts,
  raise the same :class:`~sockit.errors.TLSError` subclasses as TLS.
* Lost flights are resent on the schedule of ``DTLSDefaults``
  (``retransmit_initial`` doubling to ``retransmit_max``; after
  ``max_retransmits`` unanswered resends, :class:`~sockit.errors.Timeout`
  with phase ``handshake``), driven by :meth:`next_deadline` and
  :meth:`handle_timeout` on the caller's clock. OpenSSL retransmits itself
  when its own (wall-clock) timer agrees; otherwise the flight's datagrams
  are sent again as they were. The side that sent the last flight resends it
  when the peer's handshake records show up again after the handshake.
* :meth:`send_data` makes one record per payload; a payload larger than
  :attr:`max_payload` (what fits the MTU) raises
  :class:`~sockit.errors.MessageTooLarge`, as a UDP socket would.
"""

from __future__ import annotations

import contextlib
import errno
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto

from sockit.errors import LocalProtocolError, MessageTooLarge, Phase, Timeout, TLSError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.tls._checks import PeerChecks, host_kind
from sockit.proto.tls._dtls_context import DTLSContext
from sockit.proto.tls._dtls_cookies import PeerAddress
from sockit.proto.tls._dtls_records import pack_datagrams, peek_record_types, split_records
from sockit.proto.tls._dtls_retransmit import RetransmitSchedule
from sockit.proto.tls._dtls_state import DTLSState, DTLSTrigger, next_dtls_state
from sockit.proto.tls._verify import alert_error, ssl_error
from sockit.proto.tls.certinfo import CertificateInfo
from sockit.proto.tls.errors import HandshakeFailure, TLSUsageError
from sockit.proto.tls.events import CloseNotify, HandshakeComplete, TLSData

__all__ = ["MAX_DATAGRAM", "DTLSConnection", "DTLSStats"]

#: Larger datagrams are dropped unread: OpenSSL reads one datagram per read
#: call into a buffer of about this size, and a partial read would glue the
#: rest to the next datagram.
MAX_DATAGRAM: Final = 16384
_BIO_READ: Final = 65536
_RECV_SIZE: Final = 65536
_HANDSHAKE_TYPES: Final = frozenset({20, 22})  # change_cipher_spec, handshake
_WRITABLE: Final = frozenset({DTLSState.OPEN, DTLSState.PEER_CLOSED})
_DEAF: Final = frozenset({DTLSState.PEER_CLOSED, DTLSState.CLOSED})  # nothing more to read
_S, _T = DTLSState, DTLSTrigger


@dataclass(slots=True)
class DTLSStats:
    """Counters of one connection (datagrams, drops, resends, application records)."""

    datagrams_received: int = 0
    datagrams_sent: int = 0
    dropped: int = 0
    retransmits: int = 0
    records_received: int = 0
    records_sent: int = 0


class DTLSConnection:
    """One DTLS 1.2 association in the role of ``context`` (see the module docstring).

    A client sends SNI (not for IP literals), checks ``server_hostname`` when
    the context checks host names, and queues its ClientHello at once. A
    server with cookies needs ``peer_address`` (the cookie is bound to it)
    and ``now``. Without ``now`` there is no deadline and no retransmission.
    """

    def __init__(
        self,
        context: DTLSContext,
        *,
        server_hostname: str | None = None,
        peer_address: PeerAddress | None = None,
        now: float | None = None,
        mtu: int | None = None,
        handshake_timeout: float | None = None,
    ) -> None:
        if not isinstance(context, DTLSContext):
            raise TLSUsageError(f"context must be a DTLSContext, not {type(context).__name__}")
        ssl = SSL.Connection(context.openssl_context, None)
        self._setup(context, ssl, server_hostname, peer_address, now, mtu, handshake_timeout)
        if self.role is Role.CLIENT:
            ssl.set_connect_state()
            if server_hostname:
                self._set_sni(server_hostname)
            self._step_handshake([])
        else:
            if context.cookies and (peer_address is None or now is None):
                raise TLSUsageError("a DTLS server with cookies needs peer_address= and now=")
            ssl.set_accept_state()

    @classmethod
    def _adopt(
        cls,
        context: DTLSContext,
        ssl: SSL.Connection,
        peer_address: PeerAddress,
        now: float,
        mtu: int | None,
    ) -> DTLSConnection:
        """A server connection continuing from a ClientHello ``DTLSv1_listen`` accepted.

        Call :meth:`_resume` next: it answers the hello (and may fail).
        """
        conn = cls.__new__(cls)
        conn._setup(context, ssl, None, peer_address, now, mtu, None)
        return conn

    def _resume(self) -> None:
        """Go on with the handshake with nothing new received (after adoption)."""
        self._step_handshake([])

    def _setup(  # noqa: PLR0917 - one private initialiser shared by two constructors
        self,
        context: DTLSContext,
        ssl: SSL.Connection,
        server_hostname: str | None,
        peer_address: PeerAddress | None,
        now: float | None,
        mtu: int | None,
        handshake_timeout: float | None,
    ) -> None:
        defaults = context.defaults
        size = defaults.mtu if mtu is None else mtu
        if isinstance(size, bool) or not isinstance(size, int) or not 576 <= size <= 9000:
            raise TLSUsageError(f"mtu must be an integer in 576..9000, not {size!r}")
        timeout = defaults.handshake_timeout if handshake_timeout is None else handshake_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise TLSUsageError(f"handshake_timeout must be > 0 seconds, not {timeout!r}")
        self.context = context
        self.role = context.role
        self.peer_address = peer_address
        self.stats = DTLSStats()
        self._state = DTLSState.HANDSHAKING
        self._server_hostname = server_hostname
        self._mtu = size
        self._now = now
        self._deadline = None if now is None else now + float(timeout)
        self._schedule = RetransmitSchedule(defaults)
        self._out: list[bytes] = []
        self._last_flight: list[bytes] = []
        self._final_flight: list[bytes] = []
        self._final_resends = 0
        self._alert_in: int | None = None
        self._alert_out: int | None = None
        self._complete: HandshakeComplete | None = None
        client = self.role is Role.CLIENT
        check_name = client and context.check_hostname
        if check_name and not server_hostname:
            raise TLSUsageError("check_hostname needs server_hostname= (or a context with it off)")
        self._checks = PeerChecks(
            verify=context.verify if client else True,
            hostname=server_hostname if check_name else None,
            pins=context.pins,
            crl=None,
            ct=None,
            wall_time=None,
            keep_chain=False,
        )
        self._ssl = ssl
        ssl.set_app_data(self)
        ssl.set_ciphertext_mtu(size)

    def _set_sni(self, hostname: str) -> None:
        if host_kind(hostname) is not None:
            return  # RFC 6066: no SNI for IP literals
        try:
            raw = hostname.rstrip(".").encode("idna")
        except UnicodeError as exc:
            raise TLSUsageError(f"bad server_hostname {hostname!r}: {exc}") from exc
        limit = self.context.tls_defaults.max_sni_size
        if not raw or len(raw) > limit:
            raise TLSUsageError(f"server_hostname must be 1..{limit} bytes")
        self._ssl.set_tlsext_host_name(raw)

    # -- the contract ------------------------------------------------------

    @property
    def state(self) -> DTLSState:
        """Where the connection stands (see :class:`DTLSState`)."""
        return self._state

    @property
    def trailing_data(self) -> bytes:
        """Always ``b""``: datagrams after DTLS are not handed to another layer."""
        return b""

    @property
    def mtu(self) -> int:
        """The largest datagram this connection sends."""
        return self._mtu

    @property
    def max_payload(self) -> int | None:
        """The largest :meth:`send_data` payload (known once the suite is agreed)."""
        if self._complete is None:
            return None
        return int(self._ssl.get_cleartext_mtu())

    def receive_datagram(self, data: Buffer, *, now: float | None = None) -> list[Event]:
        """Feed one whole datagram from the peer; ``now`` (if given) moves the clock."""
        if now is not None:
            self._now = now
        state = self._state
        if state is DTLSState.FAILED:
            raise TLSUsageError("the DTLS connection has failed")
        self.stats.datagrams_received += 1
        raw = bytes(data)
        types = peek_record_types(raw) if len(raw) <= MAX_DATAGRAM else []
        if state in _DEAF or not types:
            self.stats.dropped += 1
            return []
        events: list[Event] = []
        self._ssl.bio_write(raw)
        if state is DTLSState.HANDSHAKING:
            self._step_handshake(events)
            if self._state is DTLSState.OPEN:
                self._read_records(events)
            return events
        produced = self._read_records(events)
        if not events and not produced:
            self.stats.dropped += 1
            if _HANDSHAKE_TYPES.intersection(types):
                self._resend_final_flight()
        return events

    #: The contract's name for :meth:`receive_datagram`.
    receive_data = receive_datagram

    def receive_eof(self) -> list[Event]:
        """The driver stopped listening: fail a handshake, close an open connection."""
        state = self._state
        if state is DTLSState.HANDSHAKING:
            self._state = next_dtls_state(state, _T.FAIL)
            raise HandshakeFailure("the transport closed during the handshake", reason="eof")
        if state is not DTLSState.FAILED:
            self._state = next_dtls_state(state, _T.EOF)
        return []

    def send(self, event: Event) -> None:
        """Queue ``TLSData(payload)`` (one record) or ``CloseNotify()`` (close)."""
        if isinstance(event, TLSData):
            self.send_data(event.data)
        elif isinstance(event, CloseNotify):
            self.close()
        else:
            raise LocalProtocolError(f"DTLSConnection cannot send {type(event).__name__}")

    def send_data(self, payload: Buffer) -> None:
        """Encrypt ``payload`` into one record in one datagram (empty: nothing is sent)."""
        if self._state not in _WRITABLE:
            raise TLSUsageError(f"cannot send application data in state {self._state.value}")
        data = bytes(payload)
        if not data:
            return
        limit = self.max_payload or 0
        if len(data) > limit:
            raise MessageTooLarge(
                errno.EMSGSIZE,
                f"DTLS payload of {len(data)} bytes exceeds {limit} (mtu={self._mtu})",
            )
        try:
            self._ssl.send(data)
        except SSL.Error as exc:
            self._collect()
            self._fail(ssl_error(exc, handshaking=False, sent_alert=self._alert_out))
        self.stats.records_sent += 1
        self._collect()

    def datagrams_to_send(self) -> list[bytes]:
        """Take the datagrams queued for the wire, in order (each at most ``mtu`` bytes)."""
        out, self._out = self._out, []
        return out

    def data_to_send(self) -> bytes:
        """Take the next queued datagram (``b""`` if none); call until empty.

        One datagram per call, so boundaries survive drivers written for the
        byte-stream contract; :meth:`datagrams_to_send` takes them all.
        """
        if not self._out:
            return b""
        return self._out.pop(0)

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` is next due: a resend or the handshake deadline."""
        if self._state is not DTLSState.HANDSHAKING:
            return None
        times = [t for t in (self._deadline, self._schedule.deadline) if t is not None]
        return min(times) if times else None

    def handle_timeout(self, now: float) -> list[Event]:
        """Resend the current flight if due; Timeout(phase=HANDSHAKE) when out of time or tries."""
        self._now = now
        if self._state is not DTLSState.HANDSHAKING:
            return []
        if self._deadline is not None and now >= self._deadline:
            self._fail(Timeout("the DTLS handshake did not finish in time", phase=Phase.HANDSHAKE))
        schedule = self._schedule
        if not schedule.due(now):
            return []
        if schedule.exhausted:
            self._fail(Timeout(
                f"no answer from the DTLS peer after {schedule.attempts} retransmissions",
                phase=Phase.HANDSHAKE,
            ))
        if not self._openssl_retransmit():
            self._queue(self._last_flight)
        schedule.backoff(now)
        self.stats.retransmits += 1
        return []

    def close(self) -> None:
        """Queue our ``close_notify`` (idempotent; during the handshake: abandon it)."""
        state = self._state
        if state in _WRITABLE:
            with contextlib.suppress(SSL.Error):
                self._ssl.shutdown()
            self._collect()
        if state is not DTLSState.FAILED:
            self._state = next_dtls_state(state, _T.LOCAL_CLOSE)
        self._schedule.stop()

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
        """``"DTLSv1.2"`` once the handshake is done."""
        return None if self._complete is None else self._complete.version

    @property
    def cipher(self) -> str | None:
        """The cipher suite's OpenSSL name once the handshake is done."""
        return None if self._complete is None else self._complete.cipher

    @property
    def peer_certificate(self) -> CertificateInfo | None:
        """The peer's leaf certificate information (``None`` without one)."""
        return None if self._complete is None else self._complete.peer_certificate

    # -- internals -----------------------------------------------------------

    def _queue(self, datagrams: list[bytes]) -> None:
        self._out.extend(datagrams)
        self.stats.datagrams_sent += len(datagrams)

    def _collect(self) -> list[bytes]:
        """Move what OpenSSL wrote into datagrams on the send queue; return them."""
        chunks: list[bytes] = []
        while True:
            try:
                chunks.append(self._ssl.bio_read(_BIO_READ))
            except SSL.WantReadError:
                break
        if not chunks:
            return []
        datagrams = pack_datagrams(split_records(b"".join(chunks)), self._mtu)
        self._queue(datagrams)
        return datagrams

    def _step_handshake(self, events: list[Event]) -> None:
        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            self._after_flight(self._collect())
            return
        except SSL.Error as exc:
            self._collect()  # the alert OpenSSL queued
            self._fail_handshake(exc)
        self._final_flight = self._collect()
        self._schedule.stop()
        self._finish_handshake(events)

    def _after_flight(self, flight: list[bytes]) -> None:
        """Keep a new flight for resending and (re)arm or stop the timer like OpenSSL's."""
        if flight:
            self._last_flight = flight
        if self._ssl.DTLSv1_get_timeout() is None:
            self._schedule.stop()
        elif (flight or self._schedule.deadline is None) and self._now is not None:
            self._schedule.start(self._now)

    def _openssl_retransmit(self) -> bool:
        try:
            fired = self._ssl.DTLSv1_handle_timeout()
        except SSL.Error:
            self._collect()
            self._fail(Timeout("OpenSSL gave up retransmitting the DTLS handshake",
                               phase=Phase.HANDSHAKE))
        flight = self._collect() if fired else []
        if flight:
            self._last_flight = flight
        return bool(flight)

    def _resend_final_flight(self) -> None:
        """The peer repeats its last flight: ours was lost; send it again (bounded)."""
        if not self._final_flight or self._final_resends >= self.context.defaults.max_retransmits:
            return
        self._final_resends += 1
        self.stats.retransmits += 1
        self._queue(self._final_flight)

    def _finish_handshake(self, events: list[Event]) -> None:
        if self._checks.failure is not None:
            self._fail(self._checks.failure)
        self._state = next_dtls_state(self._state, _T.HANDSHAKE_DONE)
        ssl = self._ssl
        if self.role is Role.SERVER:
            raw_name = ssl.get_servername()
            self._server_hostname = raw_name.decode("ascii", "replace") if raw_name else None
        leaf = ssl.get_peer_certificate(as_cryptography=True)
        info = None
        if leaf is not None:
            try:
                info = CertificateInfo.from_der(leaf.public_bytes(Encoding.DER))
            except TLSError as exc:
                self._fail(exc)
        raw_alpn = ssl.get_alpn_proto_negotiated()
        self._complete = event = HandshakeComplete(
            alpn_protocol=raw_alpn.decode("utf-8", "replace") if raw_alpn else None,
            version=str(ssl.get_protocol_version_name()),
            cipher=str(ssl.get_cipher_name()),
            session_reused=False,
            server_hostname=self._server_hostname,
            peer_certificate=info,
            pin_result=self._checks.pin_result,
        )
        events.append(event)

    def _read_records(self, events: list[Event]) -> bool:
        """Read every record OpenSSL can decrypt now; whether anything went out."""
        produced = False
        while True:
            try:
                data = self._ssl.recv(_RECV_SIZE)
            except SSL.WantReadError:
                break
            except SSL.ZeroReturnError:
                self._state = next_dtls_state(self._state, _T.PEER_CLOSE)
                events.append(CloseNotify())
                break
            except SSL.Error as exc:
                self._collect()
                if self._alert_in is not None:
                    self._fail(alert_error(self._alert_in, handshaking=False))
                self._fail(ssl_error(exc, handshaking=False, sent_alert=self._alert_out))
            if data:
                self.stats.records_received += 1
                self._final_flight = []  # the peer is past the handshake
                events.append(TLSData(data))
        if self._collect():
            produced = True
        return produced

    def _fail_handshake(self, exc: SSL.Error) -> None:
        failure = self._checks.failure
        if failure is not None:
            if getattr(failure, "alert", 0) is None:
                failure.alert = self._alert_out  # type: ignore[attr-defined]
            self._fail(failure)
        if self._alert_in is not None:
            self._fail(alert_error(self._alert_in, handshaking=True))
        self._fail(ssl_error(exc, handshaking=True, sent_alert=self._alert_out))

    def _fail(self, exc: TLSError | Timeout) -> None:
        self._state = next_dtls_state(self._state, _T.FAIL)
        self._schedule.stop()
        raise exc

    # -- OpenSSL callbacks (via _dtls_context._Hooks) -----------------------

    def _on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        return self._checks.on_verify(cert, errnum, depth, ok)

    def _on_alert(self, where: int, ret: int) -> None:
        level, description = ret >> 8, ret & 0xFF
        if description == 0:
            return  # close_notify
        if where & SSL.SSL_CB_READ:
            if level == 2 and self._alert_in is None:
                self._alert_in = description
        elif self._alert_out is None:
            self._alert_out = description

    def _make_cookie(self) -> bytes:
        jar = self.context.cookie_jar
        if jar is None or self.peer_address is None or self._now is None:
            raise TLSUsageError("cookies need the context's jar, peer_address and now")
        return jar.make(self.peer_address, self._now)

    def _check_cookie(self, cookie: bytes) -> bool:
        jar = self.context.cookie_jar
        if jar is None or self.peer_address is None or self._now is None:
            return False
        return jar.verify(cookie, self.peer_address, self._now)
