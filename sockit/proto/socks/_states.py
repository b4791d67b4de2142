"""The states of both SOCKS machines and the tables that move them.

Each machine changes state only through :func:`client_next` / :func:`server_next`,
which look the (state, trigger) pair up in a table; a pair that is missing is
an API misuse (LocalProtocolError), so an illegal call never moves a machine.
"""

from __future__ import annotations

import enum

from sockit.errors import LocalProtocolError

__all__ = [
    "ClientTrigger",
    "SOCKSClientState",
    "SOCKSServerState",
    "ServerTrigger",
    "client_next",
    "server_next",
]


class SOCKSClientState(enum.Enum):
    """Where a :class:`~sockit.proto.socks.SOCKSClient` is."""

    #: SOCKS5: greeting sent, waiting for the method selection.
    AWAIT_METHOD = "AWAIT_METHOD"
    #: SOCKS5: RFC 1929 credentials sent, waiting for their status.
    AWAIT_AUTH = "AWAIT_AUTH"
    #: The request is sent, waiting for the (first) reply.
    AWAIT_REPLY = "AWAIT_REPLY"
    #: BIND: the proxy listens; waiting for the second reply (the peer connected).
    AWAIT_BIND_PEER = "AWAIT_BIND_PEER"
    #: Done: the connection carries the next layer (UDP_ASSOCIATE: only keeps it alive).
    TUNNEL = "TUNNEL"
    #: Refused or broken; the error is raised again on every call.
    FAILED = "FAILED"


class ClientTrigger(enum.Enum):
    """What moves a client."""

    METHOD_NONE = "method-none"
    METHOD_AUTH = "method-auth"
    AUTH_OK = "auth-ok"
    GRANTED = "granted"
    BOUND = "bound"  # BIND's first reply
    PEER = "peer"  # BIND's second reply
    ERROR = "error"


class SOCKSServerState(enum.Enum):
    """Where a :class:`~sockit.proto.socks.SOCKSServer` is."""

    #: Waiting for the SOCKS5 greeting or the SOCKS4 request.
    AWAIT_GREETING = "AWAIT_GREETING"
    #: SOCKS5: username/password chosen; waiting for the credentials.
    AWAIT_CREDENTIALS = "AWAIT_CREDENTIALS"
    #: CredentialsReceived was returned; waiting for ``accept_credentials``.
    CREDENTIALS_RECEIVED = "CREDENTIALS_RECEIVED"
    #: SOCKS5: waiting for the request.
    AWAIT_REQUEST = "AWAIT_REQUEST"
    #: CommandRequested was returned; waiting for ``reply_success``/``reply_failure``.
    REQUEST_RECEIVED = "REQUEST_RECEIVED"
    #: BIND: the listening address was sent; waiting for the second ``reply_success``.
    BIND_WAITING = "BIND_WAITING"
    #: Granted: the connection carries the client's data (see ``trailing_data``).
    TUNNEL = "TUNNEL"
    #: We refused (a failure reply or rejected credentials); close the connection.
    CLOSED = "CLOSED"
    #: The client broke the protocol; the error is raised again on every call.
    FAILED = "FAILED"


class ServerTrigger(enum.Enum):
    """What moves a server."""

    METHOD_NONE = "method-none"
    METHOD_AUTH = "method-auth"
    CREDENTIALS = "credentials"
    ACCEPT_AUTH = "accept-credentials"
    REJECT_AUTH = "reject-credentials"
    REQUEST = "request"
    SUCCESS = "reply-success"
    BIND_READY = "reply-success (BIND listening)"
    FAILURE = "reply-failure"
    EOF = "eof"
    ERROR = "error"


_C = SOCKSClientState
_CT = ClientTrigger
_S = SOCKSServerState
_ST = ServerTrigger

CLIENT_TRANSITIONS: dict[tuple[SOCKSClientState, ClientTrigger], SOCKSClientState] = {
    (_C.AWAIT_METHOD, _CT.METHOD_NONE): _C.AWAIT_REPLY,
    (_C.AWAIT_METHOD, _CT.METHOD_AUTH): _C.AWAIT_AUTH,
    (_C.AWAIT_AUTH, _CT.AUTH_OK): _C.AWAIT_REPLY,
    (_C.AWAIT_REPLY, _CT.GRANTED): _C.TUNNEL,
    (_C.AWAIT_REPLY, _CT.BOUND): _C.AWAIT_BIND_PEER,
    (_C.AWAIT_BIND_PEER, _CT.PEER): _C.TUNNEL,
    (_C.AWAIT_METHOD, _CT.ERROR): _C.FAILED,
    (_C.AWAIT_AUTH, _CT.ERROR): _C.FAILED,
    (_C.AWAIT_REPLY, _CT.ERROR): _C.FAILED,
    (_C.AWAIT_BIND_PEER, _CT.ERROR): _C.FAILED,
}

SERVER_TRANSITIONS: dict[tuple[SOCKSServerState, ServerTrigger], SOCKSServerState] = {
    (_S.AWAIT_GREETING, _ST.METHOD_NONE): _S.AWAIT_REQUEST,
    (_S.AWAIT_GREETING, _ST.METHOD_AUTH): _S.AWAIT_CREDENTIALS,
    (_S.AWAIT_GREETING, _ST.REQUEST): _S.REQUEST_RECEIVED,  # SOCKS4: no greeting
    (_S.AWAIT_CREDENTIALS, _ST.CREDENTIALS): _S.CREDENTIALS_RECEIVED,
    (_S.CREDENTIALS_RECEIVED, _ST.ACCEPT_AUTH): _S.AWAIT_REQUEST,
    (_S.CREDENTIALS_RECEIVED, _ST.REJECT_AUTH): _S.CLOSED,
    (_S.AWAIT_REQUEST, _ST.REQUEST): _S.REQUEST_RECEIVED,
    (_S.REQUEST_RECEIVED, _ST.SUCCESS): _S.TUNNEL,
    (_S.REQUEST_RECEIVED, _ST.BIND_READY): _S.BIND_WAITING,
    (_S.REQUEST_RECEIVED, _ST.FAILURE): _S.CLOSED,
    (_S.BIND_WAITING, _ST.SUCCESS): _S.TUNNEL,
    (_S.BIND_WAITING, _ST.FAILURE): _S.CLOSED,
    (_S.AWAIT_GREETING, _ST.ERROR): _S.FAILED,
    (_S.AWAIT_CREDENTIALS, _ST.ERROR): _S.FAILED,
    (_S.AWAIT_REQUEST, _ST.ERROR): _S.FAILED,
    (_S.AWAIT_GREETING, _ST.EOF): _S.CLOSED,
    (_S.AWAIT_CREDENTIALS, _ST.EOF): _S.CLOSED,
    (_S.CREDENTIALS_RECEIVED, _ST.EOF): _S.CLOSED,
    (_S.AWAIT_REQUEST, _ST.EOF): _S.CLOSED,
    (_S.REQUEST_RECEIVED, _ST.EOF): _S.CLOSED,
    (_S.BIND_WAITING, _ST.EOF): _S.CLOSED,
}


def client_next(state: SOCKSClientState, trigger: ClientTrigger) -> SOCKSClientState:
    """The state ``trigger`` leads a client to from ``state``; LocalProtocolError if none."""
    new = CLIENT_TRANSITIONS.get((state, trigger))
    if new is None:
        raise LocalProtocolError(f"SOCKS client cannot {trigger.value} in state {state.name}")
    return new


def server_next(state: SOCKSServerState, trigger: ServerTrigger) -> SOCKSServerState:
    """The state ``trigger`` leads a server to from ``state``; LocalProtocolError if none."""
    new = SERVER_TRANSITIONS.get((state, trigger))
    if new is None:
        raise LocalProtocolError(f"SOCKS server cannot {trigger.value} in state {state.name}")
    return new
