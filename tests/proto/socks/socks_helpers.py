"""Shared pieces of the SOCKS machine tests: run a client against a server in memory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sockit.proto.events import Event
from sockit.proto.socks import (
    CommandRequested,
    CredentialsReceived,
    SOCKSClient,
    SOCKSServer,
    SOCKSServerState,
)


@dataclass
class Exchange:
    """What each side saw while the two machines talked."""

    client_events: list[Event] = field(default_factory=list)
    server_events: list[Event] = field(default_factory=list)


def run_pair(
    client: SOCKSClient,
    server: SOCKSServer,
    *,
    check: Callable[[str, str], bool] = lambda user, password: True,
    answer: Callable[[SOCKSServer, CommandRequested], None] | None = None,
    rounds: int = 10,
) -> Exchange:
    """Pass bytes both ways until quiet; the server answers through ``check``/``answer``."""
    seen = Exchange()
    for _ in range(rounds):
        moved = False
        data = client.data_to_send()
        if data:
            moved = True
            seen.server_events += server.receive_data(data)
        for event in list(seen.server_events):
            state = server.state
            if (
                isinstance(event, CredentialsReceived)
                and state is SOCKSServerState.CREDENTIALS_RECEIVED
            ):
                server.accept_credentials(check(event.username, event.password))
                seen.server_events += server.receive_data(b"")
            elif isinstance(event, CommandRequested) and state is SOCKSServerState.REQUEST_RECEIVED:
                if answer is None:
                    server.reply_success("192.0.2.1", 4242)
                else:
                    answer(server, event)
        data = server.data_to_send()
        if data:
            moved = True
            seen.client_events += client.receive_data(data)
        if not moved:
            break
    return seen
