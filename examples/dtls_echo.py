"""A DTLS echo server and client in one process, over loopback UDP.

    SOCKIT_EXAMPLE_SELFTEST=1 python examples/dtls_echo.py

The server (:func:`sockit.net.dtls.listen_dtls`) runs in a thread, answers
ClientHellos without a cookie statelessly, and echoes every datagram of the
peer it accepted. The client (:func:`sockit.net.dtls.connect_dtls`) checks
the server's certificate against a throwaway CA made with ``trustme`` (a test
dependency), sends datagrams of growing size, expects each one back, closes
with close_notify and prints

    dtls echo ok: 25 datagrams

Exit status: 0 on success, 2 on an error.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from sockit.errors import SockitError
from sockit.net.dtls import DTLSServer, connect_dtls, listen_dtls
from sockit.proto.tls.dtls import DTLSContext

COUNT = 25


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A CA file and a server certificate/key for localhost (trustme)."""
    import trustme  # noqa: PLC0415 - test dependency: a throwaway CA for this run only

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca_file, cert, key = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return ca_file, cert, key


def serve(server: DTLSServer, failures: list[BaseException]) -> None:
    """Accept one peer and echo its datagrams until it closes."""
    try:
        peer = server.accept(timeout=10)
        while data := peer.recv(timeout=10):
            peer.send(data)
    except BaseException as exc:
        failures.append(exc)
    finally:
        server.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        ca_file, cert, key = make_certs(Path(tmp))
        server = listen_dtls("127.0.0.1", 0, DTLSContext.server(cert, key))
        failures: list[BaseException] = []
        thread = threading.Thread(target=serve, args=(server, failures), daemon=True)
        thread.start()
        port = server.address[1]
        echoed = 0
        try:
            ctx = DTLSContext.client(cafile=ca_file)
            with connect_dtls("127.0.0.1", port, ctx, server_hostname="localhost",
                              timeout=10) as dtls:
                for i in range(COUNT):
                    payload = bytes([65 + i % 26]) * (1 + 40 * i)
                    dtls.send(payload)
                    if dtls.recv(timeout=10) != payload:
                        print(f"dtls echo failed at datagram {i}")
                        return 2
                    echoed += 1
        except SockitError as exc:
            print(f"dtls echo failed: {exc!r}")
            return 2
        thread.join(10)
        if failures:
            print(f"dtls echo server failed: {failures[0]!r}")
            return 2
    print(f"dtls echo ok: {echoed} datagrams")
    return 0


if __name__ == "__main__":
    sys.exit(main())
