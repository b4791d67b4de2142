"""The HTTP/1.1 connection: a sans-I/O machine for either role.

A server parses requests and sends responses; a client sends requests and
parses responses. Both follow ``docs/architecture.md`` §2::

    conn = Connection(Role.SERVER)
    for event in conn.receive_data(chunk):     # Request, Data, EndOfMessage, ...
        ...
    conn.send(Response(200, headers=[("content-length", "2")]))
    conn.send(Data(b"ok"))
    conn.send(EndOfMessage())
    sock.sendall(conn.data_to_send())
    conn.start_next_cycle()                    # keep-alive: the next request
    conn.receive_data(b"")                     # a pipelined request, if buffered

Choices worth knowing:

* **One exchange at a time.** After a complete request the server parses
  nothing more until its response is done and :meth:`start_next_cycle` is
  called; pipelined bytes wait in the buffer (up to
  ``HTTP1Config.max_incomplete_event_size``) and come out of the next
  ``receive_data(b"")``.
* **A start line is judged as soon as its LF arrives**, before the rest of
  the head: its length bound, then its syntax, then the bound on the whole
  head (so ``GET /`` alone is refused at once, and a bad request line in an
  oversized head is a 400, not a 431), the same whole or split.
* **Errors are sticky and never partial.** A head is validated whole before
  its event is made, so a refused message yields no event at all. After a
  :class:`RemoteProtocolError` the peer's state is ERROR and every later
  ``receive_data``/``receive_eof`` raises the same error again. When one call
  completed events *before* hitting the error (a body that goes bad after
  some Data), those events are returned and the error is raised by the next
  call (``receive_data(b"")`` will do). No event is ever lost, and the events
  and the error are the same however the bytes were split, as long as one
  more call follows (``receive_eof`` does).
* **Keep-alive** is on for HTTP/1.1 unless either side says
  ``Connection: close``; HTTP/1.0 peers get one exchange per connection
  (``Connection: keep-alive`` from a 1.0 peer is not honoured).
* A failed :meth:`send` (a LocalProtocolError) puts our side in ERROR.
* Requests without Content-Length or Transfer-Encoding have an empty body;
  responses without them are read until the server closes.
* After a switch (101 to an Upgrade, 2xx to CONNECT) no more events come:
  received bytes, including later ones, are :attr:`trailing_data`, and EOF is
  left to the next protocol.
* No timers: drivers own timeouts (:meth:`next_deadline` is always ``None``).
"""

from __future__ import annotations

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from sockit.proto.contract import Buffer
from sockit.proto.events import Event, Role
from sockit.proto.http.headers import Headers
from sockit.proto.http1 import body as _body
from sockit.proto.http1.body import (
    FRAMING_FIELDS,
    ChunkedReader,
    CloseDelimitedReader,
    ContentLengthReader,
    InputBuffer,
    check_transfer_encoding,
    content_length,
    framing_index,
    transfer_codings,
)
from sockit.proto.http1.events import (
    ConnectionClosed,
    Data,
    EndOfMessage,
    InformationalResponse,
    Request,
    Response,
    make_end,
    make_informational,
    make_request,
    make_response,
)
from sockit.proto.http1.parser import HOST_RE, HTTP1Config, parser_for
from sockit.proto.http1.state import ConnectionState, ConnectionStates, Kind, proposals
from sockit.proto.http1.whole import plan_whole_response
from sockit.proto.http1.writer import (
    BodyWriter,
    as_bytes,
    as_headers,
    count_external,
    plan_informational,
    plan_request,
    plan_response,
    says_close,
)

__all__ = ["Connection", "HTTP1Config"]

CLIENT = Role.CLIENT
SERVER = Role.SERVER
S = ConnectionState
_V10 = b"1.0"
_V11 = b"1.1"

_HOST_OK = HOST_RE.fullmatch


def _bad(message: str, status: int = 400) -> RemoteProtocolError:
    return RemoteProtocolError(message, http_status=status)


#: The reader of every empty body: it never changes, so one is shared.
_EMPTY_BODY = ContentLengthReader(0)

# Enum members as plain globals (a member lookup through its class is slow).
_IDLE = S.IDLE
_SEND_RESPONSE = S.SEND_RESPONSE
_SEND_BODY = S.SEND_BODY
_DONE = S.DONE
_MUST_CLOSE = S.MUST_CLOSE
_CLOSED_STATE = S.CLOSED
_SWITCHED = S.SWITCHED_PROTOCOL
_REQUEST = Kind.REQUEST
_RESPONSE = Kind.RESPONSE
_END = Kind.END
_CLOSED = Kind.CLOSED


class Connection:
    """One HTTP/1.1 connection, seen from ``role``; see the module docstring."""

    __slots__ = (
        "_bare_lf",
        "_config",
        "_cycle_version",
        "_eof",
        "_error",
        "_expect_continue",
        "_in",
        "_limits",
        "_out",
        "_parser",
        "_peer",
        "_reader",
        "_request_method",
        "_role",
        "_states",
        "_their_version",
        "_writer",
    )

    def __init__(self, role: Role, config: HTTP1Config | None = None) -> None:
        if role is SERVER:
            self._peer = CLIENT
        elif role is CLIENT:
            self._peer = SERVER
        else:
            raise TypeError("role must be a sockit.proto.events.Role")
        cfg, self._parser, self._bare_lf = parser_for(config, role is SERVER)
        self._role = role
        self._config = cfg
        self._limits = cfg.limits
        self._states = ConnectionStates()
        self._in = InputBuffer()
        self._out: list[bytes] = []
        self._reader: _body.BodyReader | None = None
        self._writer: BodyWriter | None = None
        self._eof = False
        self._error: RemoteProtocolError | None = None
        self._their_version: bytes | None = None
        self._cycle_version: bytes | None = None  # the current request's version
        self._request_method: bytes | None = None
        self._expect_continue = False

    # -- state ------------------------------------------------------------

    @property
    def our_role(self) -> Role:
        """The role this machine plays."""
        return self._role

    @property
    def our_state(self) -> ConnectionState:
        """Our side's state."""
        return self._states.get(self._role)

    @property
    def their_state(self) -> ConnectionState:
        """The peer's state (ERROR once it broke the protocol)."""
        return self._states.get(self._peer)

    @property
    def state(self) -> ConnectionState:
        """Our side's state (the contract's ``state``)."""
        return self._states.get(self._role)

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can carry another exchange after this one."""
        return self._states.keep_alive

    @property
    def their_http_version(self) -> bytes | None:
        """``b"1.0"``/``b"1.1"`` from the peer's last head, ``None`` before one."""
        return self._their_version

    @property
    def they_are_waiting_for_100_continue(self) -> bool:
        """Server: the request said ``Expect: 100-continue`` and got no answer yet."""
        return self._expect_continue

    @property
    def trailing_data(self) -> bytes:
        """After a protocol switch: received bytes that belong to the next protocol."""
        if self._states.get(self._peer) is _SWITCHED:
            return self._in.unconsumed()
        return b""

    @property
    def buffered_input(self) -> int:
        """Received bytes not yet turned into events (pipelined input, junk, a partial head)."""
        return len(self._in)

    def next_deadline(self) -> float | None:
        """HTTP/1.1 keeps no timers: drivers own timeouts. Always ``None``."""
        return None

    def handle_timeout(self, now: float) -> list[Event]:
        """Nothing is ever due (see :meth:`next_deadline`)."""
        return []

    def start_next_cycle(self) -> None:
        """Both sides DONE on a keep-alive connection: reset to IDLE for the next exchange.

        LocalProtocolError otherwise. Buffered pipelined input is parsed by the
        next ``receive_data`` call (``b""`` is enough).
        """
        self._states.start_next_cycle()
        self._reader = None
        self._writer = None
        self._request_method = None
        self._cycle_version = None
        self._expect_continue = False
        self._in.new_message()

    def send_failed(self) -> None:
        """Our side gave up mid-message (the app failed): our state becomes ERROR."""
        self._states.process_error(self._role)

    # -- receiving ----------------------------------------------------------

    def receive_data(self, data: Buffer) -> list[Event]:
        """Feed bytes from the peer; every event they complete, in order."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if data:
            if self._eof:
                raise LocalProtocolError("receive_data after receive_eof")
            inp = self._in
            if type(data) is bytes and inp.pos >= len(inp.data):
                inp.data = data  # the usual case: nothing left over, no copy
                inp.pos = 0
            elif isinstance(data, (bytes, bytearray, memoryview)):
                inp.append(data)
            else:
                raise LocalProtocolError(f"receive_data wants bytes, not {type(data).__name__}")
        return self._pump()

    def receive_eof(self) -> list[Event]:
        """The peer closed its side: the events that follow from it."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        self._eof = True
        return self._pump()

    def _pump(self) -> list[Event]:
        events: list[Event] = []
        states = self._states
        inp = self._in
        server = self._role is SERVER
        try:
            while True:
                reader = self._reader
                event: Event | None
                if reader is None:
                    if server:
                        if states.client is _IDLE and states.server is _IDLE:
                            if self._read_request(events):
                                continue
                            break
                        if not self._eof and inp.pos >= len(inp.data):
                            break
                        event = self._paused(states.client)
                    elif states.server is _SEND_RESPONSE:
                        event = self._read_response()
                    else:
                        event = self._paused(states.server)
                else:
                    count = len(events)
                    done = reader.read(inp, events)
                    if not done:
                        if len(events) > count:
                            self._expect_continue = False
                        if not self._eof:
                            break
                        events.append(reader.on_eof(inp))
                    self._expect_continue = False
                    self._reader = None
                    self._their_event(_END)
                    continue
                if event is None:
                    break
                events.append(event)
        except RemoteProtocolError as exc:
            if events and type(events[-1]) is Data:
                self._expect_continue = False  # body bytes came before the error
            self._fail(exc)
            if events:
                return events
            raise
        if inp.pos:
            if inp.pos >= len(inp.data):
                inp.data = b""
                inp.pos = 0
            else:
                inp.compact()
        return events

    def _fail(self, exc: RemoteProtocolError) -> None:
        self._error = exc
        self._reader = None
        self._states.keep_alive = False
        self._states.process_error(self._peer)

    def _their_event(self, kind: Kind) -> None:
        try:
            self._states.process_event(self._peer, kind)
        except LocalProtocolError as exc:
            raise _bad(str(exc)) from None

    def _closed(self) -> ConnectionClosed:
        self._their_event(_CLOSED)
        return ConnectionClosed()

    def _paused(self, their: ConnectionState) -> Event | None:
        """Nothing to parse now: report EOF if it settles things, bound what is held."""
        if their is _SWITCHED or their is _CLOSED_STATE:
            return None
        held = len(self._in)
        if self._eof:
            if their is _MUST_CLOSE or their is _IDLE or (their is _DONE and not held):
                return self._closed()
            return None
        bound = self._config.max_incomplete_event_size
        if bound is not None and held > bound:
            raise LimitExceeded(
                f"{held} bytes held while waiting for the application, over "
                f"max_incomplete_event_size={bound}",
                limit="max_incomplete_event_size",
                value=bound,
                http_status=400,
            )
        return None

    def _read_request(self, events: list[Event]) -> bool:
        """Parse the next request head onto ``events``; ``False`` if it is not complete.

        An ordinary head that ends exactly where ``CRLF CRLF`` is first found
        and passes the parser's fast path is taken in place (no search for
        its end by regex, no copy); anything else takes the general way. A
        request without a body is finished at once: its EndOfMessage is
        added and both states move in one step, to where the two table
        transitions (request, end) would take them.
        """
        inp = self._in
        parser = self._parser
        parsed = inp.take_request(parser, self._limits.max_header_block_size)
        if parsed is None:
            if not self._eof:
                return False
            if len(inp):
                raise _bad("connection closed in the middle of a request head")
            events.append(self._closed())
            return True
        method, target, version, fields = parsed
        index: dict[bytes, list[bytes]] = {}  # framing_index(fields), inlined
        for name, value in fields:
            key = name.lower()
            if key in FRAMING_FIELDS:
                if key in index:
                    index[key].append(value)
                else:
                    index[key] = [value]
        get = index.get
        hosts = get(b"host")
        if hosts is None or len(hosts) != 1:
            if version == _V11 or hosts:
                raise _bad("an HTTP/1.1 request needs exactly one Host field")
        elif _HOST_OK(hosts[0]) is None:
            raise _bad("invalid Host field value")
        te = get(b"transfer-encoding")
        cl = get(b"content-length")
        reader: _body.BodyReader
        if te:
            if version == _V10:
                raise _bad("Transfer-Encoding in an HTTP/1.0 request")
            if cl:
                raise _bad("both Content-Length and Transfer-Encoding")
            check_transfer_encoding(transfer_codings(te), request=True)
            reader = ChunkedReader(self._limits, parser, bare_lf=False)
        elif cl:
            reader = ContentLengthReader(self._checked_length(cl))
        else:
            reader = _EMPTY_BODY
        upgrade = get(b"upgrade") if version == _V11 else None
        connection = get(b"connection")
        keep = version == _V11 and (connection is None or not says_close(connection))
        self._their_version = self._cycle_version = version
        self._request_method = method
        states = self._states
        request = make_request(method, target, Headers.from_raw(fields), version)
        if (
            reader is _EMPTY_BODY
            and not upgrade
            and method != b"CONNECT"
            and states.keep_alive
            and not states.proposals
        ):
            # (IDLE, IDLE) --request--> (SEND_BODY, SEND_RESPONSE) --end--> this
            states.client = _DONE if keep else _MUST_CLOSE
            states.server = _SEND_RESPONSE
            if not keep:
                states.keep_alive = False
            self._expect_continue = False
            events.append(request)
            events.append(make_end())
            return True
        try:
            states.process_event(CLIENT, _REQUEST)
        except LocalProtocolError as exc:  # pragma: no cover - guarded by the caller
            raise _bad(str(exc)) from None
        if version == _V11:
            if upgrade or method == b"CONNECT":
                states.propose(proposals(method, bool(upgrade)))
            if not keep:
                states.disable_keep_alive()
            expect = get(b"expect")
            if expect is not None:
                self._expect_continue = any(v.lower() == b"100-continue" for v in expect)
        else:
            if method == b"CONNECT":
                states.propose(proposals(method, False))
            states.disable_keep_alive()
        self._reader = reader
        events.append(request)
        return True

    def _checked_length(self, values: list[bytes]) -> int:
        length = content_length(values)
        max_body = self._limits.max_body_size
        if max_body is not None and length > max_body:
            raise LimitExceeded(
                f"Content-Length {length} is over max_body_size={max_body}",
                limit="max_body_size",
                value=max_body,
                http_status=413,
            )
        return length

    def _read_response(self) -> Event | None:
        inp = self._in
        parsed = inp.take_response(self._parser, self._limits.max_header_block_size, self._bare_lf)
        if parsed is None:
            if not self._eof:
                return None
            if len(inp):
                raise _bad("connection closed in the middle of a response head")
            raise _bad("connection closed before a complete response")
        version, status, reason, fields = parsed
        headers = Headers.from_raw(fields)
        get = framing_index(fields).get
        self._their_version = version
        if status < 200:
            kind = Kind.INFORMATIONAL
            if status == 101:
                if Kind.SWITCH_UPGRADE not in self._states.proposals:
                    raise _bad("101 Switching Protocols without an Upgrade request")
                kind = Kind.SWITCH_UPGRADE
            self._their_event(kind)
            return make_informational(status, headers, reason, version)
        te = get(b"transfer-encoding")
        cl = get(b"content-length")
        if te and cl:
            raise _bad("both Content-Length and Transfer-Encoding")
        if te and version == _V10:
            raise _bad("Transfer-Encoding in an HTTP/1.0 response")
        method = self._request_method
        connection = get(b"connection")
        keep = version == _V11 and (connection is None or not says_close(connection))
        kind = _RESPONSE
        reader: _body.BodyReader | None
        if method == b"CONNECT" and status < 300:
            kind = Kind.SWITCH_CONNECT
            reader = None
        elif method == b"HEAD" or status in (204, 304):
            if cl:
                content_length(cl)
            reader = _EMPTY_BODY
        elif te:
            chunked = check_transfer_encoding(transfer_codings(te), request=False)
            if chunked:
                reader = ChunkedReader(self._limits, self._parser, bare_lf=self._bare_lf)
            elif self._config.strict_transfer_encoding:
                raise _bad("Transfer-Encoding in a response must end in chunked")
            else:
                reader = CloseDelimitedReader(self._limits.max_body_size)
                keep = False
        elif cl:
            reader = ContentLengthReader(self._checked_length(cl))
        else:
            reader = CloseDelimitedReader(self._limits.max_body_size)
            keep = False
        self._their_event(kind)
        if not keep:
            self._states.disable_keep_alive()
        self._reader = reader
        return make_response(status, headers, reason, version)

    # -- sending --------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Take the bytes queued for the wire (``b""`` if none)."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def send(self, event: Event) -> None:
        """Queue ``event`` for the peer; LocalProtocolError (and our ERROR) if illegal."""
        try:
            self._send(event)
        except LocalProtocolError:
            self._states.process_error(self._role)
            raise

    def account_body(self, nbytes: int) -> None:
        """Count ``nbytes`` of a Content-Length body the caller sent itself (``sendfile``).

        Take the head with :meth:`data_to_send` first; the bytes count toward the
        declared length as ``send(Data(...))`` would, and nothing is queued.
        """
        writer = self._writer
        try:
            if self.state is not _SEND_BODY or writer is None:
                raise LocalProtocolError(f"no body is being sent in state {self.state.name}")
            count_external(writer, nbytes)
        except LocalProtocolError:
            self._states.process_error(self._role)
            raise

    def send_response(
        self,
        status: int,
        fields: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
        *,
        reason: bytes = b"",
        close: bool = False,
        date: bytes | None = None,
    ) -> None:
        """Server: send a whole final response at once (head, body, end).

        The same bytes and state changes as sending ``Response``, ``Data`` and
        ``EndOfMessage`` with a Content-Length body, in one step (the server's
        fast path); the rules are in :func:`~sockit.proto.http1.whole.plan_whole_response`.
        ``close`` makes this the connection's last answer; ``date`` is sent as
        ``Date`` unless ``fields`` has one. LocalProtocolError (and our ERROR)
        if the response is refused or it is not our turn to answer.
        """
        states = self._states
        try:
            if self._role is not SERVER or states.server is not _SEND_RESPONSE:
                raise LocalProtocolError(f"cannot send a response in state {self.state.name}")
            wire, keep = plan_whole_response(
                status,
                fields or [],
                body,
                reason,
                method=self._request_method,
                peer_version=self._cycle_version,
                keep_alive=states.keep_alive,
                close=close,
                date=date,
            )
            states.process_event(SERVER, _RESPONSE)
            if not keep:
                states.disable_keep_alive()
            states.process_event(SERVER, _END)
        except LocalProtocolError:
            states.process_error(SERVER)
            raise
        self._expect_continue = False
        self._writer = None
        self._out.append(wire)

    def _send(self, event: Event) -> None:
        kind = type(event)
        states = self._states
        if kind is Data or kind is EndOfMessage:
            writer = self._writer
            ours = states.server if self._role is SERVER else states.client
            if ours is not _SEND_BODY or writer is None:
                raise LocalProtocolError(f"cannot send {kind.__name__} in state {self.state.name}")
            if kind is Data:
                assert isinstance(event, Data)
                data = event.data
                writer.data(self._out, data if type(data) is bytes else as_bytes(data, "Data.data"))
            else:
                assert isinstance(event, EndOfMessage)
                trailers = event.trailers
                if type(trailers) is not Headers:
                    trailers = as_headers(trailers)
                writer.end(self._out, trailers)
                self._writer = None
                states.process_event(self._role, _END)
        elif kind is Response:
            assert isinstance(event, Response)
            if self._role is not SERVER:
                raise LocalProtocolError("only a server sends responses")
            head, body, switch, keep = plan_response(
                event,
                method=self._request_method,
                peer_version=self._cycle_version,
                keep_alive=states.keep_alive,
            )
            states.process_event(SERVER, switch)
            if not keep and switch is _RESPONSE:
                states.disable_keep_alive()
            self._expect_continue = False
            self._writer = body
            self._out.append(head)
        elif kind is InformationalResponse:
            assert isinstance(event, InformationalResponse)
            if self._role is not SERVER:
                raise LocalProtocolError("only a server sends responses")
            head, switch = plan_informational(event)
            states.process_event(SERVER, switch)
            self._expect_continue = False
            self._out.append(head)
        elif kind is Request:
            assert isinstance(event, Request)
            if self._role is not CLIENT:
                raise LocalProtocolError("only a client sends requests")
            head, body, proposals, close = plan_request(event)
            states.process_event(CLIENT, _REQUEST)
            states.propose(proposals)
            if close:
                states.disable_keep_alive()
            self._request_method = as_bytes(event.method, "method")
            self._writer = body
            self._out.append(head)
        elif kind is ConnectionClosed:
            states.process_event(self._role, _CLOSED)
        else:
            raise LocalProtocolError(f"cannot send {kind.__name__} on HTTP/1.1")
