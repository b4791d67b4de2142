"""``sockit ws``: stdin lines to a WebSocket, its messages to stdout."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sockit.cli._common import (
    EXIT_CONNECT,
    EXIT_OTHER,
    EXIT_TIMEOUT,
    Command,
)
from sockit.errors import SockitError

if TYPE_CHECKING:
    pass

__all__ = ["COMMAND"]


def _ws_configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", help="ws:// or wss:// URL to connect to")
    parser.add_argument("--subprotocol", action="append", default=[], help="offer (repeatable)")
    parser.add_argument("--no-compression", action="store_true", help="offer no permessage-deflate")
    parser.add_argument("--timeout", type=float, default=10.0, help="handshake timeout (s)")
    parser.add_argument("-1", "--one", action="store_true",
                        help="after stdin ends, wait for one reply per line sent, then close")
    parser.add_argument("--cacert", metavar="FILE", default=None,
                        help="trust the CA certificates in FILE for wss:// (not the system's)")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="do not verify the server's certificate")


def _ws_run(args: argparse.Namespace) -> int:
    import threading  # noqa: PLC0415 - keep `sockit info` light

    from sockit.client import websocket_connect  # noqa: PLC0415
    from sockit.errors import ConnectError, Timeout  # noqa: PLC0415

    err = sys.stderr
    try:
        verify: bool | str = False if args.insecure else (args.cacert or True)
        ws = websocket_connect(args.url, subprotocols=args.subprotocol,
                               compression=not args.no_compression, timeout=args.timeout,
                               verify=verify)
    except ConnectError as exc:
        print(f"sockit ws: cannot connect: {exc}", file=err)
        return EXIT_CONNECT
    except Timeout as exc:
        print(f"sockit ws: timed out ({exc.phase.value}): {exc}", file=err)
        return EXIT_TIMEOUT
    except (SockitError, OSError) as exc:
        print(f"sockit ws: {exc}", file=err)
        return EXIT_OTHER
    ws.timeout = None
    received = threading.Semaphore(0)
    out = sys.stdout

    def printer() -> None:
        for message in ws:
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            out.write(text + "\n")
            out.flush()
            received.release()

    reader = threading.Thread(target=printer, name="sockit-ws-reader", daemon=True)
    reader.start()
    sent = 0
    try:
        for line in sys.stdin:
            ws.send(line.rstrip("\n"))
            sent += 1
        if args.one:
            for _ in range(sent):
                if not received.acquire(timeout=args.timeout):
                    print("sockit ws: no reply in time", file=err)
                    return EXIT_TIMEOUT
    except (SockitError, OSError) as exc:
        print(f"sockit ws: {exc}", file=err)
        return EXIT_OTHER
    finally:
        ws.close()
        reader.join(args.timeout)
    return 0


COMMAND = Command(
    "ws",
    "talk to a WebSocket: stdin lines go out as messages, messages come to stdout",
    _ws_configure,
    _ws_run,
)
