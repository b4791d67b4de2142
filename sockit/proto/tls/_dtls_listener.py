"""The stateless front door of a DTLS server: :class:`DTLSListener`.

A server that made a connection object for every ClientHello would let
anyone with a spoofed source address fill its memory and bounce its large
certificate flight at a victim. The listener keeps nothing per datagram: a
ClientHello without a valid cookie gets a HelloVerifyRequest (smaller than
the hello) and is forgotten; only a ClientHello that echoes a cookie made
for its source address becomes a :class:`DTLSConnection`, which already has
its first flight queued. Anything else is dropped and counted.

The cookie check is OpenSSL's ``DTLSv1_listen`` on a throwaway connection,
with the cookies of the context's :class:`CookieJar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from OpenSSL import SSL, crypto

from sockit.errors import TLSError
from sockit.proto.contract import Buffer
from sockit.proto.events import Role
from sockit.proto.tls._dtls_connection import MAX_DATAGRAM, DTLSConnection
from sockit.proto.tls._dtls_context import DTLSContext
from sockit.proto.tls._dtls_cookies import CookieJar, PeerAddress
from sockit.proto.tls._dtls_records import HEADER_SIZE, peek_record_types
from sockit.proto.tls.errors import TLSUsageError

__all__ = ["DTLSListener", "HelloResult", "ListenerStats"]

_HANDSHAKE: Final = 22
_BIO_READ: Final = 65536


@dataclass(frozen=True, slots=True)
class HelloResult:
    """What to do with a datagram from an unknown address.

    ``reply``: send these bytes back and keep nothing: a HelloVerifyRequest,
    or the alert refusing a hello with a valid cookie (DTLS 1.0, no common
    suite).
    ``connection``: a new association with its first flight queued.
    Both ``None``: the datagram was dropped.
    """

    reply: bytes | None = None
    connection: DTLSConnection | None = None


@dataclass(slots=True)
class ListenerStats:
    """Counters: ClientHellos seen, cookies asked for, associations made, refusals, drops."""

    hellos: int = 0
    verify_requests: int = 0
    accepted: int = 0
    refused: int = 0
    dropped: int = 0


class _Probe:
    """The app data of the throwaway connection: cookie hooks, no verification."""

    __slots__ = ("address", "jar", "now")

    def __init__(self, jar: CookieJar, address: PeerAddress, now: float) -> None:
        self.jar = jar
        self.address = address
        self.now = now

    def _make_cookie(self) -> bytes:
        return self.jar.make(self.address, self.now)

    def _check_cookie(self, cookie: bytes) -> bool:
        return self.jar.verify(cookie, self.address, self.now)

    def _on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool:
        return bool(ok)

    def _on_alert(self, where: int, ret: int) -> None:
        return None


class DTLSListener:
    """Turns first datagrams from unknown addresses into replies or connections."""

    def __init__(self, context: DTLSContext, *, mtu: int | None = None) -> None:
        if not isinstance(context, DTLSContext) or context.role is not Role.SERVER:
            raise TLSUsageError("DTLSListener needs a server DTLSContext")
        self.context = context
        self.mtu = mtu
        self.stats = ListenerStats()

    def accept_hello(self, datagram: Buffer, peer_address: PeerAddress, now: float) -> HelloResult:
        """Answer, adopt or drop one datagram from ``peer_address`` received at ``now``."""
        raw = bytes(datagram)
        types = peek_record_types(raw) if len(raw) <= MAX_DATAGRAM else []
        # a ClientHello travels in epoch 0: bytes 3..4 of the record header
        epoch0 = raw[3:5] == b"\x00\x00"
        if not types or types[0] != _HANDSHAKE or not epoch0 or len(raw) <= HEADER_SIZE:
            self.stats.dropped += 1
            return HelloResult()
        self.stats.hellos += 1
        context = self.context
        jar = context.cookie_jar
        if jar is None:  # cookies off: every hello becomes a connection
            conn = DTLSConnection(context, peer_address=peer_address, now=now, mtu=self.mtu)
            try:
                conn.receive_datagram(raw, now=now)
            except TLSError:
                self.stats.refused += 1
                return HelloResult(reply=b"".join(conn.datagrams_to_send()) or None)
            self.stats.accepted += 1
            return HelloResult(connection=conn)
        probe = SSL.Connection(context.openssl_context, None)
        probe.set_app_data(_Probe(jar, peer_address, now))
        probe.set_accept_state()
        probe.bio_write(raw)
        try:
            probe.DTLSv1_listen()
        except SSL.WantReadError:
            reply = self._drain(probe)
            if reply:
                self.stats.verify_requests += 1
                return HelloResult(reply=reply)
            self.stats.dropped += 1
            return HelloResult()
        except SSL.Error:
            self.stats.dropped += 1
            return HelloResult()
        conn = DTLSConnection._adopt(context, probe, peer_address, now, self.mtu)
        try:
            conn._resume()
        except TLSError:  # no common version or suite: answer with the alert, keep nothing
            self.stats.refused += 1
            return HelloResult(reply=b"".join(conn.datagrams_to_send()) or None)
        self.stats.accepted += 1
        return HelloResult(connection=conn)

    @staticmethod
    def _drain(probe: SSL.Connection) -> bytes:
        chunks: list[bytes] = []
        while True:
            try:
                chunks.append(probe.bio_read(_BIO_READ))
            except SSL.WantReadError:
                return b"".join(chunks)
