"""TLS speed: sockit's engine against the standard library's ``ssl`` module.

Both ends run in this process (a server thread and the main thread) over a
``socket.socketpair``, on the same trustme certificates (ECDSA P-256),
TLS 1.3 with the default suites:

* **handshakes/s**: full handshakes (no resumption), each followed by one
  byte each way so both sides have finished;
* **bulk MB/s**: one connection, the client sends ``--megabytes`` MiB in
  64 KiB writes, the server reads it all.

Ratios are sockit / ssl (goal: >= 0.9). ``--profile`` prints the top of a
cProfile run of sockit's bulk path.

    python benchmarks/bench_tls.py [--handshakes 200] [--megabytes 64] [--profile]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import socket
import ssl
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sockit.net.tcp import Socket
from sockit.net.tls import TLSSocket
from sockit.proto.tls import TLSConnection, TLSContext
from tests.support.tls_certs import tls_certs

CHUNK = 64 * 1024


def sockit_contexts() -> tuple[TLSContext, TLSContext]:
    c = tls_certs()
    server = TLSContext.server(c.server.cert, c.server.key, session_tickets=False)
    client = TLSContext.client(cafile=c.ca_file, session_cache=False)
    return client, server


def stdlib_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    c = tls_certs()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    server.load_cert_chain(c.server.cert, c.server.key)
    server.options |= ssl.OP_NO_TICKET
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    client.load_verify_locations(c.ca_file)
    return client, server


def sockit_pair(client: TLSContext, server: TLSContext) -> tuple[TLSSocket, TLSSocket]:
    a, b = socket.socketpair()
    ca = TLSSocket(Socket(sock=a), TLSConnection(client, server_hostname="localhost",
                                                 now=time.monotonic()))
    sb = TLSSocket(Socket(sock=b), TLSConnection(server))
    t = threading.Thread(target=sb.handshake, args=(10,))
    t.start()
    ca.handshake(10)
    t.join()
    return ca, sb


def stdlib_pair(
    client: ssl.SSLContext, server: ssl.SSLContext
) -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    a, b = socket.socketpair()
    ca = client.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
    sb = server.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    t = threading.Thread(target=sb.do_handshake)
    t.start()
    ca.do_handshake()
    t.join()
    return ca, sb


def handshakes(kind: str, n: int) -> float:
    start = time.perf_counter()
    if kind == "sockit":
        client, server = sockit_contexts()
        for _ in range(n):
            ca, sb = sockit_pair(client, server)
            ca.sendall(b"x")
            assert sb.recv(1) == b"x"
            ca.close()
            sb.close()
    else:
        sclient, sserver = stdlib_contexts()
        for _ in range(n):
            sa, ssb = stdlib_pair(sclient, sserver)
            sa.sendall(b"x")
            assert ssb.recv(1) == b"x"
            sa.close()
            ssb.close()
    return n / (time.perf_counter() - start)


def bulk(kind: str, megabytes: int) -> float:
    total = megabytes * 1024 * 1024
    payload = b"\xab" * CHUNK
    if kind == "sockit":
        client, server = sockit_contexts()
        a, b = sockit_pair(client, server)
    else:
        sclient, sserver = stdlib_contexts()
        a, b = stdlib_pair(sclient, sserver)  # type: ignore[assignment]
    got = [0]

    def reader() -> None:
        while got[0] < total:
            data = b.recv(CHUNK)
            if not data:
                break
            got[0] += len(data)

    t = threading.Thread(target=reader)
    start = time.perf_counter()
    t.start()
    for _ in range(total // CHUNK):
        a.sendall(payload)
    t.join()
    elapsed = time.perf_counter() - start
    a.close()
    b.close()
    assert got[0] == total
    return megabytes / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handshakes", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    tls_certs()
    hs = {k: max(handshakes(k, args.handshakes) for _ in range(2)) for k in ("sockit", "ssl")}
    mb = {k: max(bulk(k, args.megabytes) for _ in range(2)) for k in ("sockit", "ssl")}
    print(f"{'':12} {'sockit':>10} {'ssl':>10} {'ratio':>7}")
    for name, fig in (("handshakes/s", hs), ("bulk MB/s", mb)):
        ratio = fig["sockit"] / fig["ssl"]
        print(f"{name:12} {fig['sockit']:10.0f} {fig['ssl']:10.0f} {ratio:7.2f}")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(bulk, "sockit", max(8, args.megabytes // 4))
        pstats.Stats(prof).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
