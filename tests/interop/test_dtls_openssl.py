"""DTLS 1.2 against OpenSSL's command line tools, both directions.

``openssl s_server -dtls1_2`` prints what it receives on stdout and sends
the lines of its stdin; ``openssl s_client -dtls1_2`` does the same from the
other side and sends close_notify when its stdin ends. UDP has no port to
wait for: the client's retransmissions cover a server that is still
starting, and the tests read the tools' output with a bounded wait.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

import pytest

from sockit.errors import SockitError
from sockit.limits import DTLSDefaults
from sockit.net.dtls import connect_dtls, listen_dtls
from sockit.proto.tls import UntrustedCertificate
from sockit.proto.tls.dtls import DTLSContext
from tests.support.peers import free_port, require_program
from tests.support.tls_certs import tls_certs

pytestmark = pytest.mark.interop

FAST = DTLSDefaults(retransmit_initial=0.1, retransmit_max=1.0, handshake_timeout=10.0)


@contextmanager
def openssl(args: Sequence[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``openssl ARGS`` with piped stdio in its own process group; kill it after."""
    proc = subprocess.Popen(
        [require_program("openssl"), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()


def read_until(proc: subprocess.Popen[bytes], marker: bytes, timeout: float = 10.0) -> bytes:
    """The tool's output up to and including ``marker`` (AssertionError after ``timeout``)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError(f"no {marker!r} from openssl; got {seen[-2000:]!r}")
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"openssl exited before {marker!r}; got {seen[-2000:]!r}")
            seen += chunk
    return seen


def s_server(port: int) -> list[str]:
    c = tls_certs()
    return ["s_server", "-dtls1_2", "-accept", f"127.0.0.1:{port}",
            "-cert", str(c.server.cert), "-key", str(c.server.key)]


def test_our_client_against_s_server():
    port = free_port()
    with openssl(s_server(port)) as proc:
        ctx = DTLSContext.client(cafile=tls_certs().ca_file, defaults=FAST)
        with connect_dtls("127.0.0.1", port, ctx, server_hostname="localhost",
                          timeout=10) as dtls:
            assert dtls.connection.version == "DTLSv1.2"
            dtls.send(b"hello from sockit\n")
            read_until(proc, b"hello from sockit\n")
            assert proc.stdin is not None
            proc.stdin.write(b"hello from openssl\n")
            proc.stdin.flush()
            assert dtls.recv(timeout=10) == b"hello from openssl\n"
        read_until(proc, b"DONE")  # s_server saw our close_notify


def test_our_client_refuses_s_server_with_an_untrusted_certificate():
    port = free_port()
    c = tls_certs()
    args = ["s_server", "-dtls1_2", "-accept", f"127.0.0.1:{port}",
            "-cert", str(c.unknown_ca.cert), "-key", str(c.unknown_ca.key)]
    with openssl(args):
        ctx = DTLSContext.client(cafile=c.ca_file, defaults=FAST)
        with pytest.raises(UntrustedCertificate):
            connect_dtls("127.0.0.1", port, ctx, server_hostname="localhost", timeout=10)


def s_client(port: int, *extra: str) -> list[str]:
    return ["s_client", "-dtls1_2", "-connect", f"127.0.0.1:{port}",
            "-CAfile", str(tls_certs().ca_file), "-servername", "localhost",
            "-verify_return_error", *extra]


def test_s_client_against_our_server_both_ways():
    c = tls_certs()
    server = listen_dtls("127.0.0.1", 0, DTLSContext.server(c.server.cert, c.server.key))
    with server, openssl(s_client(server.address[1])) as proc:
        peer = server.accept(timeout=10)
        assert peer.handshake is not None and peer.handshake.version == "DTLSv1.2"
        assert server.listener.stats.verify_requests >= 1  # s_client echoed a cookie
        read_until(proc, b"Verify return code: 0 (ok)")
        assert proc.stdin is not None
        proc.stdin.write(b"hello from openssl\n")
        proc.stdin.flush()
        data = peer.recv(timeout=10)
        assert data == b"hello from openssl\n"
        peer.send(b"echo: " + data)
        read_until(proc, b"echo: hello from openssl\n")
        proc.stdin.close()  # s_client sends close_notify at the end of its input
        assert peer.recv(timeout=10) == b""
        assert proc.wait(timeout=10) == 0


def test_s_client_speaking_dtls_10_is_refused():
    c = tls_certs()
    with listen_dtls("127.0.0.1", 0, DTLSContext.server(c.server.cert, c.server.key)) as server:
        args = ["s_client", "-dtls1", "-connect", f"127.0.0.1:{server.address[1]}",
                "-cipher", "DEFAULT:@SECLEVEL=0"]
        with openssl(args) as proc:
            with pytest.raises(SockitError):
                server.accept(timeout=1.5)
            assert server.peer_count == 0
            assert server.listener.stats.refused == 1  # answered with an alert
            assert proc.wait(timeout=10) != 0
