"""TLS speed: sockit's engine against the standard library's ``ssl`` module.

Both ends run in this process (a server thread and the main thread) over a
``socket.socketpair``, the same way for both libraries:

* **handshakes/s**: full handshakes (no resumption), each followed by one
  byte each way so both sides have finished; the server side runs in a
  fresh thread per handshake, the client in the main thread;
* **bulk MB/s**: one connection, the main thread sends ``--megabytes`` MiB
  in 64 KiB writes while a reader thread reads with ``recv(65536)``.

What is held equal (printed at the start of a run):

* the trustme certificates (ECDSA P-256 leaf and CA) and TLS 1.3 only;
* the cipher suite: both sides negotiate TLS_AES_256_GCM_SHA384 (the first
  suite of both defaults; the run checks it and prints it);
* the key exchange group: pyOpenSSL's OpenSSL (4.x) offers the hybrid
  X25519MLKEM768 first while the stdlib's OpenSSL (3.0) offers X25519, so
  ``--groups X25519`` (the default) pins both sides to X25519; ``--groups
  default`` leaves each library its own default and measures what users get;
* verification: both clients verify the chain and the host name
  ("localhost"); session tickets off and no session reuse on both sides;
* the threading model, buffer sizes and the transport (AF_UNIX socketpair).

Rounds alternate sockit and ssl so both see the same machine load; each side
reports its best round (``--rounds``, default 5) and the ratio of the bests
(sockit / ssl, goal >= 0.9). On a shared machine wall-clock rates swing with
the load, so the CPU time the process used (both threads, user + system) per
handshake and per MiB is printed too, from the same rounds: it moves much
less and shows the work each library does. ``--profile`` prints the top of
a cProfile run of sockit's bulk sender (main thread only).

    python benchmarks/bench_tls.py [--handshakes 200] [--megabytes 64] [--rounds 5]
                                   [--groups X25519|default] [--profile]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from OpenSSL import SSL

from sockit.net.tcp import Socket
from sockit.net.tls import TLSSocket
from sockit.proto.tls import TLSConnection, TLSContext
from tests.support.tls_certs import tls_certs

CHUNK = 64 * 1024
HOSTNAME = "localhost"
# --cpus: where the worker threads (server handshakes, bulk reader) run; the
# main thread is pinned in main(). None: wherever the scheduler puts them.
WORKER_CPUS: set[int] | None = None


def worker(target: Callable[[], object]) -> threading.Thread:
    """A thread for ``target``, pinned to WORKER_CPUS when --cpus asks for it."""

    def run() -> None:
        if WORKER_CPUS is not None:
            os.sched_setaffinity(0, WORKER_CPUS)
        target()

    return threading.Thread(target=run)


def _pin_groups(ctx: SSL.Context, groups: str) -> None:
    """Restrict an OpenSSL context's key exchange groups (benchmark only).

    pyOpenSSL has no public call for it; this uses the cffi binding it ships.
    """
    from OpenSSL._util import lib

    if lib.SSL_CTX_set1_curves_list(ctx._context, groups.encode("ascii")) != 1:
        raise SystemExit(f"OpenSSL refused the groups {groups!r}")


def sockit_contexts(groups: str | None) -> tuple[TLSContext, TLSContext]:
    c = tls_certs()
    server = TLSContext.server(c.server.cert, c.server.key, session_tickets=False)
    client = TLSContext.client(cafile=c.ca_file, session_cache=False)
    if groups is not None:
        _pin_groups(server.openssl_context, groups)
        _pin_groups(client.openssl_context, groups)
    return client, server


def stdlib_contexts(groups: str | None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    c = tls_certs()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_3
    server.load_cert_chain(c.server.cert, c.server.key)
    server.options |= ssl.OP_NO_TICKET
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    client.load_verify_locations(c.ca_file)
    if groups is not None:
        server.set_ecdh_curve(groups)
        client.set_ecdh_curve(groups)
    return client, server


# Both pairs are built in the same order: the server side is wrapped and its
# handshake thread started, then the client is wrapped and handshakes (the
# client's key share is made in TLSConnection() for sockit, in do_handshake()
# for ssl: either way after the server thread started).


def sockit_pair(client: TLSContext, server: TLSContext) -> tuple[TLSSocket, TLSSocket]:
    a, b = socket.socketpair()
    sb = TLSSocket(Socket(sock=b), TLSConnection(server))
    t = worker(lambda: sb.handshake(10))
    t.start()
    ca = TLSSocket(Socket(sock=a), TLSConnection(client, server_hostname=HOSTNAME,
                                                 now=time.monotonic()))
    ca.handshake(10)
    t.join()
    return ca, sb


def stdlib_pair(
    client: ssl.SSLContext, server: ssl.SSLContext
) -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    a, b = socket.socketpair()
    sb = server.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    t = worker(sb.do_handshake)
    t.start()
    ca = client.wrap_socket(a, server_hostname=HOSTNAME, do_handshake_on_connect=False)
    ca.do_handshake()
    t.join()
    return ca, sb


def describe(groups: str | None) -> None:
    """Print what each side negotiates, so the comparison's fairness can be checked."""
    sc, ss = sockit_contexts(groups)
    a, b = sockit_pair(sc, ss)
    group = b.connection._ssl.get_group_name()
    print(f"sockit: {a.version} {a.cipher} group={group} (pyOpenSSL on "
          f"{SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()})")
    a.close()
    b.close()
    tc, ts = stdlib_contexts(groups)
    x, y = stdlib_pair(tc, ts)
    print(f"ssl:    {x.version()} {x.cipher()[0]} group=? ({ssl.OPENSSL_VERSION})")
    x.close()
    y.close()
    # the stdlib does not report its group: ask a pyOpenSSL server what it gets
    c, s = socket.socketpair()
    server = TLSSocket(Socket(sock=s), TLSConnection(ss))
    t = threading.Thread(target=server.handshake, args=(10,))
    t.start()
    probe = tc.wrap_socket(c, server_hostname=HOSTNAME)
    t.join()
    print(f"        (an ssl client against a pyOpenSSL server agrees on "
          f"group={server.connection._ssl.get_group_name()})")
    probe.close()
    server.close()


def handshakes(kind: str, n: int, groups: str | None) -> float:
    if kind == "sockit":
        client, server = sockit_contexts(groups)
        start = time.perf_counter()
        for _ in range(n):
            ca, sb = sockit_pair(client, server)
            ca.sendall(b"x")
            assert sb.recv(1) == b"x"
            sb.sendall(b"y")
            assert ca.recv(1) == b"y"
            ca.close()
            sb.close()
    else:
        sclient, sserver = stdlib_contexts(groups)
        start = time.perf_counter()
        for _ in range(n):
            sa, ssb = stdlib_pair(sclient, sserver)
            sa.sendall(b"x")
            assert ssb.recv(1) == b"x"
            ssb.sendall(b"y")
            assert sa.recv(1) == b"y"
            sa.close()
            ssb.close()
    return n / (time.perf_counter() - start)


def bulk(kind: str, megabytes: int, groups: str | None) -> float:
    total = megabytes * 1024 * 1024
    payload = b"\xab" * CHUNK
    if kind == "sockit":
        client, server = sockit_contexts(groups)
        a, b = sockit_pair(client, server)
    else:
        sclient, sserver = stdlib_contexts(groups)
        a, b = stdlib_pair(sclient, sserver)  # type: ignore[assignment]
    got = [0]

    def reader() -> None:
        while got[0] < total:
            data = b.recv(CHUNK)
            if not data:
                break
            got[0] += len(data)

    t = worker(reader)
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


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def alternate(
    rounds: int, runs: dict[str, Callable[[], float]]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run each side once per round, alternating: rates and CPU seconds per run."""
    rates: dict[str, list[float]] = {k: [] for k in runs}
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for kind, run in runs.items():
            before = cpu_seconds()
            rates[kind].append(run())
            cpu[kind].append(cpu_seconds() - before)
    return rates, cpu


def pin(mode: str) -> None:
    """Apply --cpus: 'one' puts every thread on one CPU, 'split' main and workers apart."""
    global WORKER_CPUS
    if mode == "any":
        return
    cpus = sorted(os.sched_getaffinity(0))
    if mode == "split" and len(cpus) < 2:
        raise SystemExit("--cpus split needs two CPUs")
    main_cpu = cpus[0]
    WORKER_CPUS = {cpus[1] if mode == "split" else main_cpu}
    os.sched_setaffinity(0, {main_cpu})
    print(f"threads: main on CPU {main_cpu}, workers on CPU {min(WORKER_CPUS)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--handshakes", type=int, default=200)
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--groups", default="X25519",
                        help="key exchange groups for both sides, or 'default'")
    parser.add_argument("--cpus", choices=("any", "one", "split"), default="any",
                        help="threads on any CPU, all on one, or main and workers apart")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    groups = None if args.groups == "default" else args.groups
    pin(args.cpus)
    tls_certs()
    describe(groups)
    hs, hs_cpu = alternate(args.rounds, {
        k: (lambda k=k: handshakes(k, args.handshakes, groups)) for k in ("sockit", "ssl")
    })
    mb, mb_cpu = alternate(args.rounds, {
        k: (lambda k=k: bulk(k, args.megabytes, groups)) for k in ("sockit", "ssl")
    })
    print(f"\nbest of {args.rounds} alternating rounds (groups: {args.groups}, "
          f"cpus: {args.cpus})")
    print(f"{'':16} {'sockit':>10} {'ssl':>10} {'ratio':>7}   all rounds (sockit | ssl)")
    for name, fig in (("handshakes/s", hs), ("bulk MB/s", mb)):
        best = {k: max(v) for k, v in fig.items()}
        ratio = best["sockit"] / best["ssl"]
        rounds = " ".join(f"{x:.0f}" for x in fig["sockit"]) + " | " + " ".join(
            f"{x:.0f}" for x in fig["ssl"])
        print(f"{name:16} {best['sockit']:10.0f} {best['ssl']:10.0f} {ratio:7.2f}   {rounds}")
    # CPU cost: the least a round used, per unit of work (ratio ssl / sockit:
    # above 1 means sockit needs less CPU for the same work)
    for name, cpu, units, scale in (
        ("CPU us/handshake", hs_cpu, args.handshakes, 1e6),
        ("CPU ms/MiB", mb_cpu, args.megabytes, 1e3),
    ):
        least = {k: min(v) / units * scale for k, v in cpu.items()}
        ratio = least["ssl"] / least["sockit"]
        print(f"{name:16} {least['sockit']:10.2f} {least['ssl']:10.2f} {ratio:7.2f}")
    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(bulk, "sockit", max(8, args.megabytes // 4), groups)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(15)


if __name__ == "__main__":
    main()
