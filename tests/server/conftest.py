"""Fixtures for the server tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sockit.server import HTTPServer
from tests.server.harness import running


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A server with the demo routes on a background loop thread."""
    with running() as srv:
        yield srv
