"""The two-role state machine of an HTTP/1.1 connection.

One connection carries two conversations at once: what the client sends and
what the server sends. Each role has its own :class:`ConnectionState`, and
every event either role sends moves that role's state through an explicit
table, :data:`EVENT_TRANSITIONS`. A few events move the *other* role too
(a request wakes the server up; a server's protocol switch takes the client
along); those live in :data:`PEER_TRANSITIONS`. Finally some states follow
from the pair of states rather than from an event (a finished exchange
without keep-alive must close; a closed peer means we must close too); those
are :data:`JOINT_TRANSITIONS`, applied after every change until nothing moves.

The table shape follows h11's design idea; the tables themselves are ours.
Events are looked up by :class:`Kind`, not by class, so the server's
"switching" responses (``101`` to an Upgrade, ``2xx`` to CONNECT) can have
their own rows.
"""

from __future__ import annotations

import enum

from sockit.errors import LocalProtocolError
from sockit.proto.events import Role

__all__ = [
    "EVENT_TRANSITIONS",
    "JOINT_TRANSITIONS",
    "PEER_TRANSITIONS",
    "ConnectionState",
    "ConnectionStates",
    "Kind",
    "proposals",
]

CLIENT = Role.CLIENT
SERVER = Role.SERVER


class ConnectionState(enum.Enum):
    """Where one role is in the request/response cycle."""

    #: Nothing sent yet in this cycle (client: no request; server: no request seen).
    IDLE = "IDLE"
    #: The server saw a request and has not sent its final response head.
    SEND_RESPONSE = "SEND_RESPONSE"
    #: A head was sent; body data and the end of the message follow.
    SEND_BODY = "SEND_BODY"
    #: The message is complete; waiting for the other side or the next cycle.
    DONE = "DONE"
    #: The message is complete and the connection cannot be reused.
    MUST_CLOSE = "MUST_CLOSE"
    #: This role closed its side (or, for the peer, we saw EOF).
    CLOSED = "CLOSED"
    #: The client finished a request that proposed a protocol switch.
    MIGHT_SWITCH_PROTOCOL = "MIGHT_SWITCH_PROTOCOL"
    #: The switch happened: the bytes now belong to another protocol.
    SWITCHED_PROTOCOL = "SWITCHED_PROTOCOL"
    #: This role broke the protocol; the connection is unusable.
    ERROR = "ERROR"

    # Members are singletons, so identity hashing is correct, and it runs in
    # C: Enum's own __hash__ is Python code, called on every table lookup.
    __hash__ = object.__hash__


class Kind(enum.Enum):
    """What an event means to the state machine."""

    REQUEST = "request"
    INFORMATIONAL = "informational"
    RESPONSE = "response"
    DATA = "data"
    END = "end"
    CLOSED = "closed"
    #: A ``101 Switching Protocols`` answering the client's Upgrade.
    SWITCH_UPGRADE = "switch-upgrade"
    #: A ``2xx`` answering the client's CONNECT.
    SWITCH_CONNECT = "switch-connect"

    __hash__ = object.__hash__  # see ConnectionState


S = ConnectionState

#: (role, its state, event kind) -> its new state. Anything missing is illegal.
EVENT_TRANSITIONS: dict[tuple[Role, ConnectionState, Kind], ConnectionState] = {
    (CLIENT, S.IDLE, Kind.REQUEST): S.SEND_BODY,
    (CLIENT, S.IDLE, Kind.CLOSED): S.CLOSED,
    (CLIENT, S.SEND_BODY, Kind.DATA): S.SEND_BODY,
    (CLIENT, S.SEND_BODY, Kind.END): S.DONE,
    (CLIENT, S.DONE, Kind.CLOSED): S.CLOSED,
    (CLIENT, S.MUST_CLOSE, Kind.CLOSED): S.CLOSED,
    (CLIENT, S.CLOSED, Kind.CLOSED): S.CLOSED,
    # A server may answer without a request (408, or 400 after a bad one).
    (SERVER, S.IDLE, Kind.RESPONSE): S.SEND_BODY,
    (SERVER, S.IDLE, Kind.CLOSED): S.CLOSED,
    (SERVER, S.SEND_RESPONSE, Kind.INFORMATIONAL): S.SEND_RESPONSE,
    (SERVER, S.SEND_RESPONSE, Kind.RESPONSE): S.SEND_BODY,
    (SERVER, S.SEND_RESPONSE, Kind.SWITCH_UPGRADE): S.SWITCHED_PROTOCOL,
    (SERVER, S.SEND_RESPONSE, Kind.SWITCH_CONNECT): S.SWITCHED_PROTOCOL,
    (SERVER, S.SEND_RESPONSE, Kind.CLOSED): S.CLOSED,
    (SERVER, S.SEND_BODY, Kind.DATA): S.SEND_BODY,
    (SERVER, S.SEND_BODY, Kind.END): S.DONE,
    (SERVER, S.DONE, Kind.CLOSED): S.CLOSED,
    (SERVER, S.MUST_CLOSE, Kind.CLOSED): S.CLOSED,
    (SERVER, S.CLOSED, Kind.CLOSED): S.CLOSED,
}

#: (role sending, event kind, the other role's state) -> the other role's new state.
PEER_TRANSITIONS: dict[tuple[Role, Kind, ConnectionState], ConnectionState] = {
    (CLIENT, Kind.REQUEST, S.IDLE): S.SEND_RESPONSE,
    (SERVER, Kind.SWITCH_UPGRADE, S.MIGHT_SWITCH_PROTOCOL): S.SWITCHED_PROTOCOL,
    (SERVER, Kind.SWITCH_CONNECT, S.MIGHT_SWITCH_PROTOCOL): S.SWITCHED_PROTOCOL,
}

#: (client state, server state) -> {role: new state}, applied until stable.
JOINT_TRANSITIONS: dict[tuple[ConnectionState, ConnectionState], dict[Role, ConnectionState]] = {
    # One side gone or broken: a finished or idle other side cannot go on.
    (S.CLOSED, S.DONE): {SERVER: S.MUST_CLOSE},
    (S.CLOSED, S.IDLE): {SERVER: S.MUST_CLOSE},
    (S.ERROR, S.DONE): {SERVER: S.MUST_CLOSE},
    (S.DONE, S.CLOSED): {CLIENT: S.MUST_CLOSE},
    (S.IDLE, S.CLOSED): {CLIENT: S.MUST_CLOSE},
    (S.DONE, S.ERROR): {CLIENT: S.MUST_CLOSE},
}


def proposals(method: bytes, upgrade: bool) -> frozenset[Kind]:
    """The switches a request offers: CONNECT, and/or an Upgrade field."""
    kinds = set()
    if method == b"CONNECT":
        kinds.add(Kind.SWITCH_CONNECT)
    if upgrade:
        kinds.add(Kind.SWITCH_UPGRADE)
    return frozenset(kinds)


_SWITCH_KINDS = frozenset({Kind.SWITCH_UPGRADE, Kind.SWITCH_CONNECT})
_NO_PROPOSALS: frozenset[Kind] = frozenset()

# The same tables split by role, so a lookup never hashes a Role (whose
# Enum __hash__ is Python code).
_BY_ROLE: dict[Role, dict[tuple[ConnectionState, Kind], ConnectionState]] = {
    role: {(st, kind): new for (r, st, kind), new in EVENT_TRANSITIONS.items() if r is role}
    for role in Role
}
_PEER_BY_ROLE: dict[Role, dict[tuple[Kind, ConnectionState], ConnectionState]] = {
    role: {(kind, st): new for (r, kind, st), new in PEER_TRANSITIONS.items() if r is role}
    for role in Role
}
_CLIENT_EVENTS = _BY_ROLE[CLIENT]
_SERVER_EVENTS = _BY_ROLE[SERVER]
_CLIENT_PEER = _PEER_BY_ROLE[CLIENT]
_SERVER_PEER = _PEER_BY_ROLE[SERVER]


_JOINT: dict[tuple[ConnectionState, ConnectionState], tuple[ConnectionState, ConnectionState]] = {
    (c, sv): (changes.get(CLIENT, c), changes.get(SERVER, sv))
    for (c, sv), changes in JOINT_TRANSITIONS.items()
}
# Enum members as plain globals: ``S.DONE`` looks the member up through the
# class on every use, which costs more than the whole table lookup.
_IDLE = S.IDLE
_DONE = S.DONE
_ERROR = S.ERROR
_MUST_CLOSE = S.MUST_CLOSE
_MIGHT_SWITCH = S.MIGHT_SWITCH_PROTOCOL
_RESPONSE = Kind.RESPONSE


class ConnectionStates:
    """Both roles' states plus the facts that steer them.

    ``keep_alive`` turns ``False`` for good once either side says
    ``Connection: close`` (or speaks HTTP/1.0, or frames a body by closing);
    ``proposals`` holds the switches the client's request offered
    (:attr:`Kind.SWITCH_UPGRADE`, :attr:`Kind.SWITCH_CONNECT`).
    """

    __slots__ = ("client", "keep_alive", "proposals", "server")

    def __init__(self) -> None:
        self.client = _IDLE
        self.server = _IDLE
        self.keep_alive = True
        self.proposals: frozenset[Kind] = _NO_PROPOSALS

    def get(self, role: Role) -> ConnectionState:
        """The state of ``role``."""
        return self.client if role is CLIENT else self.server

    def process_event(self, role: Role, kind: Kind) -> None:
        """Move ``role`` (and maybe its peer) for an event it sent.

        Raises :class:`LocalProtocolError` when the table has no row for it;
        nothing changes then. Whoever calls this for the peer's events turns
        that into a :class:`RemoteProtocolError`.
        """
        client = self.client
        server = self.server
        if self.keep_alive and not self.proposals:
            step = (_CLIENT_STEPS if role is CLIENT else _SERVER_STEPS).get((client, server, kind))
            if step is not None:  # the usual case, worked out in advance
                self.client, self.server = step
                return
        if role is CLIENT:
            new = _CLIENT_EVENTS.get((client, kind))
            peer_new = _CLIENT_PEER.get((kind, server))
            old = client
        else:
            new = _SERVER_EVENTS.get((server, kind))
            peer_new = _SERVER_PEER.get((kind, client))
            old = server
        if new is None:
            raise LocalProtocolError(
                f"{role.value} cannot send a {kind.value} event in state {old.name}"
            )
        if kind in _SWITCH_KINDS:
            if kind not in self.proposals:
                raise LocalProtocolError(f"{kind.value} without a matching client proposal")
            if peer_new is None:
                raise LocalProtocolError("the server cannot switch before the request is done")
        if role is CLIENT:
            client = new
            if peer_new is not None:
                server = peer_new
        else:
            server = new
            if peer_new is not None:
                client = peer_new
            if kind is _RESPONSE:
                # A final response that does not switch declines every proposal.
                self.proposals = _NO_PROPOSALS
        self._settle(client, server)

    def propose(self, kinds: frozenset[Kind]) -> None:
        """Record the switches a client request offers (before its END)."""
        self.proposals = kinds
        self._settle(self.client, self.server)

    def process_error(self, role: Role) -> None:
        """``role`` broke the protocol: it is in ERROR for good."""
        if role is CLIENT:
            self._settle(_ERROR, self.server)
        else:
            self._settle(self.client, _ERROR)

    def disable_keep_alive(self) -> None:
        """This connection will close after the current exchange."""
        self.keep_alive = False
        self._settle(self.client, self.server)

    def start_next_cycle(self) -> None:
        """Both sides DONE with keep-alive: back to IDLE for the next exchange."""
        if self.client is not _DONE or self.server is not _DONE:
            raise LocalProtocolError(
                f"not done with this exchange (client {self.client.name}, "
                f"server {self.server.name})"
            )
        self.client = _IDLE
        self.server = _IDLE
        self.proposals = _NO_PROPOSALS

    def _settle(self, client: ConnectionState, server: ConnectionState) -> None:
        """Store the new states after applying the state-derived transitions."""
        if (
            self.keep_alive
            and not self.proposals
            and client is not _MIGHT_SWITCH
            and (client, server) not in _JOINT
        ):
            self.client = client  # the usual case: nothing derives from these
            self.server = server
            return
        while True:
            new_client = client
            new_server = server
            # a pending switch comes first: an HTTP/1.0 CONNECT (no keep-alive)
            # still waits for the answer that may switch, as in h11
            if self.proposals:
                if new_client is _DONE:
                    new_client = _MIGHT_SWITCH
            elif new_client is _MIGHT_SWITCH:
                new_client = _DONE if self.keep_alive else _MUST_CLOSE
            if not self.keep_alive:
                if new_client is _DONE:
                    new_client = _MUST_CLOSE
                if new_server is _DONE:
                    new_server = _MUST_CLOSE
            joint = _JOINT.get((new_client, new_server))
            if joint is not None:
                new_client, new_server = joint
            if new_client is client and new_server is server:
                break
            client = new_client
            server = new_server
        self.client = client
        self.server = server


#: A pair of states: ``(client, server)``.
Steps = tuple[ConnectionState, ConnectionState]


def _simple_steps(role: Role) -> dict[tuple[ConnectionState, ConnectionState, Kind], Steps]:
    """Where each legal event of ``role`` leads from each pair of states, while
    keep-alive holds and nothing is proposed (the usual case).

    Worked out once by running the general rules, so the shortcut in
    :meth:`ConnectionStates.process_event` can never disagree with them.
    """
    steps: dict[tuple[ConnectionState, ConnectionState, Kind], Steps] = {}
    for client in ConnectionState:
        for server in ConnectionState:
            for kind in Kind:
                states = ConnectionStates()
                states.client = client
                states.server = server
                try:
                    states.process_event(role, kind)
                except LocalProtocolError:
                    continue
                steps[client, server, kind] = (states.client, states.server)
    return steps


# Filled after the class exists: _simple_steps runs the general rules (with
# the tables still empty, process_event takes the general way).
_CLIENT_STEPS: dict[tuple[ConnectionState, ConnectionState, Kind], Steps] = {}
_SERVER_STEPS: dict[tuple[ConnectionState, ConnectionState, Kind], Steps] = {}
_CLIENT_STEPS.update(_simple_steps(CLIENT))
_SERVER_STEPS.update(_simple_steps(SERVER))
