"""What every CLI subcommand shares: the command record and curl's exit codes."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable

__all__ = [
    "EXIT_CONNECT",
    "EXIT_HTTP_ERROR",
    "EXIT_OTHER",
    "EXIT_TIMEOUT",
    "EXIT_TLS",
    "EXIT_TLS_CERT",
    "EXIT_TOO_MANY_REDIRECTS",
    "Command",
]

#: curl's exit codes, so scripts can swap one tool for the other
EXIT_CONNECT, EXIT_HTTP_ERROR, EXIT_TIMEOUT, EXIT_OTHER = 7, 22, 28, 1
#: curl's codes: 35 for a failed TLS handshake, 60 for a certificate that did not verify
EXIT_TLS, EXIT_TLS_CERT = 35, 60
#: more redirects than --max-redirs allows
EXIT_TOO_MANY_REDIRECTS = 47


@dataclasses.dataclass(frozen=True)
class Command:
    """A CLI subcommand: how to declare its arguments and how to run it."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
