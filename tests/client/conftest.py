"""Fixtures for the client tests: scripted raw servers and a fresh client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sockit import HTTPClient
from tests.client.rawserver import Handler, RawServer


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], RawServer]]:
    """``serve(handler)`` starts a :class:`RawServer`; all are closed at teardown."""
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def client() -> Iterator[HTTPClient]:
    """A client with default limits, closed at teardown."""
    with HTTPClient() as c:
        yield c
