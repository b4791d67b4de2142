"""How an HTTP/1.1 server connection becomes HTTP/2 (for ``HTTPConnection``).

Two ways in, both cleartext: the connection's first bytes are the client
preface (*prior knowledge*; only the first read is inspected, a preface
split over reads is collected first), or a complete HTTP/1.1 request asks
for ``Upgrade: h2c`` (answered ``101``; it becomes stream 1). Either way an
:class:`~sockit.server.h2.H2Session` takes the channel over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sockit.errors import ProtocolError
from sockit.proto.events import Role
from sockit.proto.http import Headers
from sockit.proto.http1 import InformationalResponse, Request
from sockit.proto.http2 import PREFACE
from sockit.proto.http2 import Connection as H2Connection
from sockit.server.h2 import H2Session, h2c_settings

if TYPE_CHECKING:
    from sockit.server.connection import HTTPConnection

__all__ = ["sniff", "try_h2c_upgrade"]


def sniff(conn: HTTPConnection) -> None:
    """The first read: HTTP/2's connection preface, or HTTP/1.1 bytes for the machine."""
    data = conn.channel.receive_raw()
    if data is None:
        return
    if not data:  # EOF before a whole preface (or before anything)
        conn._sniffing = False
        conn._feed(conn.machine.receive_eof)
        return
    head = conn._sniffed + data
    conn._bytes_seen = True
    if head[:24] == PREFACE[: len(head)]:
        if len(head) < len(PREFACE):
            conn._sniffed = head  # part of a preface: wait for the rest
            return
        _switch_to_h2(conn, _new_h2_machine(conn), head)
        return
    conn._sniffing = False
    conn._sniffed = b""
    conn._feed(lambda: conn.machine.receive_data(head))

def _new_h2_machine(conn: HTTPConnection) -> H2Connection:
    config = conn.server.http2
    assert config is not None
    return H2Connection(Role.SERVER, config)

def _switch_to_h2(conn: HTTPConnection, machine: H2Connection, data: bytes) -> H2Session:
    """Hand the connection to an HTTP/2 session, feeding it ``data``."""
    conn._sniffing = False
    conn._sniffed = b""
    from sockit.server.connection import HTTP2  # noqa: PLC0415 - the two import each other

    conn.phase = HTTP2
    session = conn.h2 = H2Session(conn, machine)
    if data:
        session.feed(data)
    conn._mark_dirty()
    return session

def try_h2c_upgrade(conn: HTTPConnection, request: Request, body: bytes) -> bool:
    """Answer ``Upgrade: h2c`` with 101 and continue as HTTP/2 (RFC 7540 §3.2)."""
    settings = h2c_settings(request)
    if settings is None or conn.server.http2 is None or conn.close_after:
        return False
    try:
        machine = H2Connection.upgraded(
            settings_header=settings, request=request, config=conn.server.http2
        )
    except ProtocolError:
        return False  # a bad HTTP2-Settings: answer over HTTP/1.1 instead
    conn.machine.send(
        InformationalResponse(
            101, Headers.from_raw([(b"Connection", b"Upgrade"), (b"Upgrade", b"h2c")]),
            reason=b"Switching Protocols",
        )
    )
    leftover = conn.machine.trailing_data
    conn._served += 1
    conn.channel.set_deadline("read", None)
    session = _switch_to_h2(conn, machine, b"")
    session.take_upgrade(body)  # the request comes back as stream 1
    if leftover:
        session.feed(leftover)
    return True

