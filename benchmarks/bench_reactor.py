"""Reactor throughput per backend: 1000 socketpairs, 10 % of them active per round.

Each round writes one byte to a random 10 % of the pairs, calls ``wait()`` and
reads the byte back from every reported socket. Two rates are printed:

* ``loop ev/s``: events per second of the whole round (writes + wait + reads);
* ``wait ev/s``: events per second of the time spent inside ``wait()`` only,
  which is the part a backend changes.

A second, shorter run with a single active pair per round measures per-call
overhead. It breaks a tie between the two fastest level-triggered backends of
the main run: a tie is when 1.0 lies inside the interquartile range of their
slice-by-slice ratio (adjacent slices share the machine's load, so the ratio is
what is left of the difference once the noise is paired out). Quiet loops with
few ready fds per ``wait()`` are common, so per-call cost is the fair decider.

Ratios are against sockit's ``selectors`` backend and against the peer: the same
loop written directly on :class:`selectors.DefaultSelector`. Backends run in
many short interleaved slices and the median slice counts, so a load spike on
the machine hits every backend alike instead of deciding the ranking. The
``Reactor()`` default is the fastest *level-triggered* backend by ``wait ev/s``
(edge-triggered changes semantics, so it is opt-in).

    python benchmarks/bench_reactor.py [--seconds 2] [--pairs 1000] [--active 0.1]

A benchmark prints numbers; it never asserts on them.
"""

from __future__ import annotations

import argparse
import random
import resource
import selectors
import socket
import statistics
import time
from collections.abc import Callable

from sockit.net._backends import available_backends, default_backend_name
from sockit.net.reactor import READ, IOEvent, Reactor

PEER = "peer: raw selectors"

Round = Callable[[list[int]], tuple[int, float]]


def raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def make_pairs(n: int) -> list[tuple[socket.socket, socket.socket]]:
    pairs = []
    for _ in range(n):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        pairs.append((a, b))
    return pairs


def reactor_round(
    backend: str, pairs: list[tuple[socket.socket, socket.socket]]
) -> tuple[Round, Callable[[], None]]:
    reactor = Reactor(backend)
    for i, (reader, _) in enumerate(pairs):
        reactor.register(reader, READ, data=i)
    writers = [w for _, w in pairs]

    def one(active: list[int]) -> tuple[int, float]:
        for i in active:
            writers[i].send(b"x")
        want = len(active)
        got = 0
        in_wait = 0.0
        while got < want:
            t0 = time.perf_counter()
            events = reactor.wait(1.0)
            in_wait += time.perf_counter() - t0
            for ev in events:
                assert isinstance(ev, IOEvent)
                # one byte was written, so one recv drains it (edge-triggered too)
                ev.fileobj.recv(64)  # type: ignore[union-attr]
            got += len(events)
        return got, in_wait

    return one, reactor.close


def peer_round(
    pairs: list[tuple[socket.socket, socket.socket]],
) -> tuple[Round, Callable[[], None]]:
    sel = selectors.DefaultSelector()
    for i, (reader, _) in enumerate(pairs):
        sel.register(reader, selectors.EVENT_READ, i)
    writers = [w for _, w in pairs]

    def one(active: list[int]) -> tuple[int, float]:
        for i in active:
            writers[i].send(b"x")
        want = len(active)
        got = 0
        in_wait = 0.0
        while got < want:
            t0 = time.perf_counter()
            ready = sel.select(1.0)
            in_wait += time.perf_counter() - t0
            for key, _mask in ready:
                key.fileobj.recv(64)  # type: ignore[union-attr]
            got += len(ready)
        return got, in_wait

    return one, sel.close


Rates = dict[str, tuple[float, float]]  # backend -> (loop ev/s, wait ev/s), medians
Samples = dict[str, list[tuple[float, float]]]  # backend -> the same, per slice


def measure(
    names: list[str],
    rounds: dict[str, tuple[Round, Callable[[], None]]],
    plans: list[list[int]],
    seconds: float,
    slices: int,
) -> tuple[Rates, Samples]:
    samples: Samples = {name: [] for name in names}
    slice_time = seconds / slices
    for _ in range(slices):
        for name in names:
            # a slice belongs to one backend; the others' registrations stay idle
            one, _close = rounds[name]
            one(plans[0])  # warm-up
            events = 0
            waited = 0.0
            j = 0
            start = time.perf_counter()
            while (elapsed := time.perf_counter() - start) < slice_time:
                got, in_wait = one(plans[j % len(plans)])
                events += got
                waited += in_wait
                j += 1
            samples[name].append((events / elapsed, events / waited if waited else 0.0))
    medians = {
        name: (
            statistics.median(loop for loop, _ in rates),
            statistics.median(wait for _, wait in rates),
        )
        for name, rates in samples.items()
    }
    return medians, samples


def tied(samples: Samples, a: str, b: str) -> tuple[bool, float, float, float]:
    """Whether a and b are indistinguishable: 1.0 inside the IQR of paired slice ratios.

    Slices of different backends run back to back, so slice i of ``a`` and slice
    i of ``b`` saw the same machine load; their ratio cancels the load out.
    """
    ratios = [sa[1] / sb[1] for sa, sb in zip(samples[a], samples[b], strict=True) if sb[1]]
    q1, median, q3 = statistics.quantiles(ratios, n=4)
    return q1 <= 1.0 <= q3, q1, median, q3


def print_table(title: str, names: list[str], rates: Rates) -> None:
    base_wait = rates["selectors"][1]
    peer_loop, peer_wait = rates[PEER]
    print(title)
    header = (
        f"{'backend':<20} {'trigger':<7} {'loop ev/s':>11} {'wait ev/s':>11} "
        f"{'wait vs selectors':>17} {'wait vs peer':>12} {'loop vs peer':>12}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        loop_rate, wait_rate = rates[name]
        trigger = "-" if name == PEER else ("edge" if name.endswith("-et") else "level")
        print(
            f"{name:<20} {trigger:<7} {loop_rate:>11,.0f} {wait_rate:>11,.0f} "
            f"{wait_rate / base_wait:>16.2f}x {wait_rate / peer_wait:>11.2f}x "
            f"{loop_rate / peer_loop:>11.2f}x"
        )
    print()


def run(seconds: float, n_pairs: int, active_fraction: float, slices: int) -> None:
    raise_fd_limit(2 * n_pairs + 64)
    pairs = make_pairs(n_pairs)
    rng = random.Random(20240601)
    k = max(1, round(n_pairs * active_fraction))
    plans = [rng.sample(range(n_pairs), k) for _ in range(512)]
    quiet_plans = [rng.sample(range(n_pairs), 1) for _ in range(512)]

    names = [*available_backends(), PEER]
    rounds: dict[str, tuple[Round, Callable[[], None]]] = {}
    try:
        for name in names:
            rounds[name] = peer_round(pairs) if name == PEER else reactor_round(name, pairs)
        main, main_samples = measure(names, rounds, plans, seconds, slices)
        quiet, _ = measure(names, rounds, quiet_plans, seconds / 4, max(2, slices // 2))
    finally:
        for _, close in rounds.values():
            close()
        for a, b in pairs:
            a.close()
            b.close()

    print_table(
        f"reactor benchmark: {n_pairs} socketpairs, {k} active per round, "
        f"{seconds:.1f}s per backend in {slices} interleaved slices (median slice)",
        names,
        main,
    )
    print_table(
        f"tie-break: the same {n_pairs} socketpairs, 1 active per round "
        f"(per-call overhead), {seconds / 4:.1f}s per backend",
        names,
        quiet,
    )
    level = sorted(
        (n for n in names if n != PEER and not n.endswith("-et")),
        key=lambda n: main[n][1],
        reverse=True,
    )
    fastest, runner_up = level[0], level[1]
    is_tie, q1, median, q3 = tied(main_samples, fastest, runner_up)
    print(
        f"{fastest} / {runner_up} wait ev/s, paired by slice: median {median:.3f}, "
        f"IQR {q1:.3f}..{q3:.3f}"
    )
    if is_tie:
        pick = max((fastest, runner_up), key=lambda n: quiet[n][1])
        print(f"1.0 lies inside the IQR: a tie at {k} active; the 1-active run decides: {pick}")
    else:
        pick = fastest
        print(f"fastest level-triggered backend (by wait ev/s): {pick}")
    print(f"current Reactor() default: {default_backend_name()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per backend")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--active", type=float, default=0.1, help="fraction active per round")
    parser.add_argument("--slices", type=int, default=12, help="interleaved slices per backend")
    args = parser.parse_args()
    run(args.seconds, args.pairs, args.active, args.slices)


if __name__ == "__main__":
    main()
