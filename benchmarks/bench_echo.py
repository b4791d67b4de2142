"""TCP echo: sockit's reactor versus asyncio and uvloop servers, throughput and CPU cost.

Each server runs in its own process (``examples/echo_server.py`` for sockit,
``_echo_peers.py`` for asyncio and uvloop ``Protocol`` servers). A client
process drives ``--connections`` sockets, each doing ping-pong with
``--depth`` ``--size``-byte messages in flight (default 1: strict ping-pong),
for ``--seconds`` after a ``--warmup``. Servers are measured in interleaved
rounds (the order rotates every round) so machine noise hits them alike; the
table gives the best and the median round.

Two numbers per server and round:

* **round trips/s** seen by the client -- honest only if the client is not the
  bottleneck, so the client's own CPU use (``client %``: CPU seconds per wall
  second, over the measured window) is printed too;
* **server CPU µs per round trip**: the server process's on-CPU time
  (``/proc/<pid>/task/*/schedstat``, nanoseconds; ``utime + stime`` from
  ``/proc/<pid>/stat`` where schedstat is missing) over the same window,
  divided by the round trips. It does not depend on how much CPU the server
  happened to get, so it is the robust efficiency metric on a busy 2-core box.
  Softirq time the kernel does not charge to any process is left out alike
  for every server.

The client is a small C program (source below) compiled with ``cc`` into a
temporary directory: a Python client costs about as much CPU per message as
the servers under test, so on two cores it saturates first and every server
looks alike. Without a C compiler (Debian: ``apt-get install gcc``) the
benchmark falls back to the Python client (``--client python``) and says so;
its throughput numbers are then bounded by the client, and only the
CPU-per-round-trip column stays meaningful. No Debian package has a
ping-pong TCP echo load generator (``tcpkali`` is not in bookworm).

Options: ``--floor`` adds two reference servers with no library at all: a C
epoll loop (``c-floor``: the kernel's share of a round trip) and the leanest
pure-Python ``select.epoll`` loop (``py-floor``: the least a Python server can
spend). ``--rate N`` offers a fixed load (round trips/s) instead of
saturating; ``--clients N`` splits the connections over N client processes;
``--baseline DIR`` adds ``sockit-base``, the echo example of another checkout
(``git worktree add /tmp/base HEAD``) run against its own ``sockit``.

Run: ``python benchmarks/bench_echo.py [--seconds 3] [--rounds 7] [--floor]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _support import free_port, launch, stop

ROOT = Path(__file__).resolve().parents[1]

C_CLIENT = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static double cpu(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6
         + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}
int main(int argc, char **argv) {
    if (argc != 8) { fprintf(stderr, "port conns size depth warmup seconds rate\n"); return 2; }
    int port = atoi(argv[1]), n = atoi(argv[2]), size = atoi(argv[3]), depth = atoi(argv[4]);
    double warmup = atof(argv[5]), seconds = atof(argv[6]), rate = atof(argv[7]);
    char *msg = malloc((size_t)size * depth); memset(msg, 'x', (size_t)size * depth);
    static char buf[1 << 16];
    int *fds = calloc(n, sizeof(int)), *parked = calloc(n, sizeof(int)), nparked = 0;
    long *got = calloc(n, sizeof(long)), *owed = calloc(n, sizeof(long));
    int ep = epoll_create1(0);
    struct sockaddr_in sa; memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET; sa.sin_port = htons(port); sa.sin_addr.s_addr = htonl(0x7f000001);
    for (int i = 0; i < n; i++) {
        int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 1; }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        fds[i] = fd;
    }
    for (int i = 0; i < n; i++) send(fds[i], msg, (size_t)size * depth, MSG_NOSIGNAL);
    struct epoll_event evs[256];
    long trips = 0, sent = 0; int measuring = 0;
    double t0 = now(), start = t0, end = t0 + warmup, c0 = 0;
    for (;;) {
        double t = now();
        if (t >= end) {
            if (measuring) break;
            measuring = 1; trips = 0; t0 = t; end = t + seconds; c0 = cpu();
            printf("go\n"); fflush(stdout);
        }
        /* --rate: a round trip's reply releases the next message only within budget */
        long budget = rate > 0 ? (long)(rate * (t - start)) : -1;
        while (nparked > 0 && (budget < 0 || sent < budget)) {
            int i = parked[--nparked];
            long c = owed[i];
            if (budget >= 0 && c > budget - sent) { c = budget - sent; nparked++; }
            send(fds[i], msg, (size_t)(c * size), MSG_NOSIGNAL);
            owed[i] -= c; sent += c;
        }
        int wait_ms = nparked > 0 ? 1 : (int)((end - t) * 1000) + 1;
        int k = epoll_wait(ep, evs, 256, wait_ms);
        for (int e = 0; e < k; e++) {
            int i = (int)evs[e].data.u32;
            ssize_t r = recv(fds[i], buf, sizeof buf, 0);
            if (r < 0 && errno == EAGAIN) continue;
            if (r <= 0) { fprintf(stderr, "connection %d closed\n", i); return 1; }
            got[i] += r;
            long m = got[i] / size;
            got[i] -= m * size;
            trips += m;
            if (m == 0) continue;
            if (rate > 0) {  /* park: the loop above sends when the budget allows */
                if (owed[i] == 0) parked[nparked++] = i;
                owed[i] += m;
                continue;
            }
            sent += m;
            while (m > 0) {
                long c = m < depth ? m : depth;
                if (send(fds[i], msg, (size_t)(c * size), MSG_NOSIGNAL) != c * size) {
                    perror("send"); return 1;
                }
                m -= c;
            }
        }
    }
    double elapsed = now() - t0, used = cpu() - c0;
    printf("done %ld %.6f %.6f\n", trips, elapsed, used); fflush(stdout);
    for (int i = 0; i < n; i++) close(fds[i]);
    return 0;
}
"""

# --floor: the same loop as the servers under test with no interpreter: the
# kernel's share of a round trip (epoll_wait, recv, send through loopback)
C_SERVER = r"""
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <errno.h>
int main(int argc, char **argv) {
    int port = atoi(argv[1]), one = 1;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa; memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET; sa.sin_port = htons(port); sa.sin_addr.s_addr = htonl(0x7f000001);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1024) < 0) {
        perror("listen"); return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static char buf[65536];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int e = 0; e < k; e++) {
            int fd = evs[e].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r < 0 && errno == EAGAIN) continue;
            if (r <= 0) { close(fd); continue; }
            send(fd, buf, r, MSG_NOSIGNAL);  /* small: assume it fits */
        }
    }
}
"""


def compile_c(workdir: Path, name: str, source: str) -> list[str] | None:
    """Build a C helper; ``None`` when there is no working C compiler."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src, exe = workdir / f"{name}.c", workdir / name
    src.write_text(source)
    done = subprocess.run([cc, "-O2", "-o", str(exe), str(src)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"cc failed on {name}:\n{done.stderr}", file=sys.stderr)
        return None
    return [str(exe)]


def python_floor_server(port: int) -> None:
    """--floor: the leanest pure-Python loop (select.epoll, no library, no checks)."""
    listener = socket.create_server(("127.0.0.1", port), backlog=1024)
    listener.setblocking(False)
    ep = select.epoll()
    ep.register(listener.fileno(), select.EPOLLIN)
    socks: dict[int, socket.socket] = {}
    while True:
        for fd, _ in ep.poll(None, 256):
            s = socks.get(fd)
            if s is None:
                with contextlib.suppress(BlockingIOError):
                    while True:
                        conn, _ = listener.accept()
                        conn.setblocking(False)
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        socks[conn.fileno()] = conn
                        ep.register(conn.fileno(), select.EPOLLIN)
                continue
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                s.send(data)  # small: assume it fits
            else:
                ep.unregister(fd)
                del socks[fd]
                s.close()


def python_client(argv: list[str]) -> None:
    """The fallback client: the C one's protocol on ``select.epoll`` (no ``--rate``)."""
    port, connections, size, depth = (int(a) for a in argv[:4])
    warmup, seconds = float(argv[4]), float(argv[5])
    message = b"x" * size
    ep = select.epoll()
    socks: dict[int, socket.socket] = {}
    got: dict[int, int] = {}
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks[s.fileno()] = s
        got[s.fileno()] = 0
        ep.register(s.fileno(), select.EPOLLIN)
    for s in socks.values():
        s.send(message * depth)
    trips = 0
    measuring = False
    t0 = time.perf_counter()
    end = t0 + warmup
    c0 = 0.0
    while True:
        t = time.perf_counter()
        if t >= end:
            if measuring:
                break
            measuring, trips, t0, end = True, 0, t, t + seconds
            c0 = sum(os.times()[:2])
            print("go", flush=True)
        for fd, _ in ep.poll(end - t):
            s = socks[fd]
            try:
                n = len(s.recv(65536))
            except BlockingIOError:
                continue
            if n == 0:
                raise SystemExit("connection closed")
            got[fd] += n
            m, got[fd] = divmod(got[fd], size)
            trips += m
            if m:
                s.send(message * m)
    used = sum(os.times()[:2]) - c0
    print(f"done {trips} {time.perf_counter() - t0:.6f} {used:.6f}", flush=True)
    for s in socks.values():
        s.close()


def start(kind: str, port: int, baseline: Path | None, floor: list[str] | None
          ) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if kind == "py-floor":
        argv = [sys.executable, __file__, "--py-floor-server", str(port)]
    elif kind == "c-floor":
        assert floor is not None
        argv = [*floor, str(port)]
    elif kind == "sockit":
        argv = [sys.executable, str(ROOT / "examples" / "echo_server.py"), "--port", str(port)]
    elif kind == "sockit-base":
        assert baseline is not None
        argv = [sys.executable, str(baseline / "examples" / "echo_server.py"), "--port", str(port)]
        env["PYTHONPATH"] = str(baseline)
    else:
        argv = [sys.executable, str(ROOT / "benchmarks" / "_echo_peers.py"), kind, str(port)]
    return launch(argv, port, env=env)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """On-CPU time of every thread of ``pid`` so far (schedstat ns, else stat ticks)."""
    try:
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


@dataclass
class Round:
    """One measured window against one server."""

    trips_per_s: float
    server_us_per_trip: float
    client_share: float  # clients' CPU seconds per wall second (all client processes)


def measure(client: list[str], pid: int, port: int, args: argparse.Namespace) -> Round:
    """One window: ``--clients`` processes share the connections and the rate."""
    n = args.clients
    procs = []
    for i in range(n):
        conns = args.connections // n + (i < args.connections % n)
        argv = [*client, str(port), str(conns), str(args.size), str(args.depth),
                str(args.warmup), str(args.seconds), str(args.rate / n)]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    try:
        for proc in procs:  # every client is past its warm-up
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "go":
                raise RuntimeError(f"client failed before the measured window: {line!r}")
        before = cpu_seconds(pid)
        lines = [proc.stdout.readline() for proc in procs if proc.stdout is not None]
        after = cpu_seconds(pid)
        for proc, line in zip(procs, lines, strict=True):
            if proc.wait(30) != 0 or not line.startswith("done "):
                raise RuntimeError(f"client failed: {line!r}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    done = [line.split() for line in lines]
    rate = sum(int(d[1]) / float(d[2]) for d in done)
    share = sum(float(d[3]) / float(d[2]) for d in done)
    return Round(rate, (after - before) / max(rate * float(done[0][2]), 1) * 1e6, share)


def report(kinds: list[str], results: dict[str, list[Round]], args: argparse.Namespace,
           client_name: str) -> None:
    print(f"TCP echo, {args.connections} connections x {args.depth} in flight, "
          f"{args.size}-byte messages, {args.rounds} interleaved rounds x {args.seconds:g}s, "
          f"{client_name} client")
    best = {k: max(r.trips_per_s for r in v) for k, v in results.items()}
    med = {k: statistics.median(r.trips_per_s for r in v) for k, v in results.items()}
    cpu = {k: statistics.median(r.server_us_per_trip for r in v) for k, v in results.items()}
    head = (f"{'server':<12}{'best rt/s':>11}{'median rt/s':>13}{'µs CPU/rt':>11}"
            f"{'client %':>10}{'sockit x best':>15}{'x median':>10}{'x CPU':>8}")
    print(head)
    print("-" * len(head))
    mine = results["sockit"]
    for k in kinds:
        share = statistics.median(r.client_share for r in results[k]) * 100
        # medians of per-round ratios: each pair was measured minutes apart at most
        rate_ratio = statistics.median(
            a.trips_per_s / b.trips_per_s for a, b in zip(mine, results[k], strict=True))
        cpu_ratio = statistics.median(
            b.server_us_per_trip / a.server_us_per_trip
            for a, b in zip(mine, results[k], strict=True))
        print(f"{k:<12}{best[k]:>11,.0f}{med[k]:>13,.0f}{cpu[k]:>11.2f}{share:>9.0f}%"
              f"{best['sockit'] / best[k]:>14.2f}x{rate_ratio:>9.2f}x{cpu_ratio:>7.2f}x")
    print("sockit x: sockit's round trips/s over the row's (best over best; median of the "
          "per-round ratios), and the row's server CPU per round trip over sockit's (median "
          "of per-round ratios; >1: sockit needs less CPU per round trip). µs CPU/rt and "
          "client % are medians.")
    shares = [r.client_share / args.clients for v in results.values() for r in v]
    if statistics.median(shares) > 0.85:
        print("warning: the client used most of a core; round trips/s may be client-bound "
              "(trust the CPU column)", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--depth", type=int, default=1, help="messages in flight per connection")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="offered load in round trips/s (0: as fast as the server echoes)")
    parser.add_argument("--clients", type=int, default=1,
                        help="client processes sharing the connections (2 on 2 cores: "
                             "every server saturated, never idle)")
    parser.add_argument("--client", choices=["auto", "c", "python"], default="auto")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="another checkout whose echo example runs as sockit-base")
    parser.add_argument("--floor", action="store_true",
                        help="add c-floor, a C epoll echo server: the kernel's share")
    parser.add_argument("--only", default="", help="comma-separated servers to run")
    args = parser.parse_args()
    kinds = ["sockit"] + (["sockit-base"] if args.baseline else []) + ["asyncio"]
    try:
        import uvloop  # noqa: F401

        kinds.append("uvloop")
    except ImportError:
        print("uvloop not installed: pip install -e '.[bench]'", file=sys.stderr)
    if args.only:
        kinds = [k for k in kinds if k in args.only.split(",") or k == "sockit"]
    with tempfile.TemporaryDirectory(prefix="sockit-echo-") as tmp:
        client = None if args.client == "python" else compile_c(Path(tmp), "client", C_CLIENT)
        floor = compile_c(Path(tmp), "server", C_SERVER) if args.floor else None
        if floor is not None:
            kinds.append("c-floor")
        if args.floor:
            kinds.append("py-floor")
        if client is None and args.client == "c":
            print("no working C compiler (apt-get install gcc)", file=sys.stderr)
            return 1
        client_name = "C"
        if client is None:
            client_name = "Python"
            print("using the Python client: round trips/s are client-bound on 2 cores; "
                  "install a C compiler (apt-get install gcc) for honest throughput",
                  file=sys.stderr)
            client = [sys.executable, __file__, "--python-client"]
            if args.rate:
                print("--rate needs the C client", file=sys.stderr)
                return 1
        results: dict[str, list[Round]] = {k: [] for k in kinds}
        servers = {k: (start(k, port := free_port(), args.baseline, floor), port) for k in kinds}
        try:
            for r in range(args.rounds):
                for kind in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
                    proc, port = servers[kind]
                    if proc.poll() is not None:
                        err = proc.stderr.read().decode() if proc.stderr else ""
                        raise RuntimeError(f"the {kind} server died:\n{err}")
                    results[kind].append(measure(client, proc.pid, port, args))
        finally:
            for proc, _ in servers.values():
                stop(proc)
    report(kinds, results, args, client_name)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--python-client":
        with contextlib.suppress(KeyboardInterrupt):
            python_client(sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--py-floor-server":
        with contextlib.suppress(KeyboardInterrupt):
            python_floor_server(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
