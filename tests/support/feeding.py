"""Feed a sans-I/O machine the same bytes split different ways.

The architecture promises that the same bytes give the same events and the
same limit decisions however TCP split them. :func:`split_feed` checks that
promise: it builds a fresh machine per split, feeds it whole, byte by byte and
in seeded random cuts, and asserts the outcomes are identical.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sockit.errors import SockitError


@dataclass(frozen=True)
class FeedResult:
    """What one way of feeding produced: the events and the error, if any."""

    events: tuple[Any, ...]
    error: tuple[type[BaseException], str | None, int | None] | None


def splits(data: bytes, *, seed: int = 0, random_cuts: int = 5) -> Iterable[list[bytes]]:
    """Yield the ways to cut ``data``: whole, byte by byte, and random cuts."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    rng = random.Random(seed)
    for _ in range(random_cuts):
        if len(data) < 2:
            yield [data]
            continue
        n = rng.randint(1, min(len(data) - 1, 16))
        cuts = sorted(rng.sample(range(1, len(data)), n))
        bounds = [0, *cuts, len(data)]
        yield [data[a:b] for a, b in itertools.pairwise(bounds)]


def merge_data(events: Sequence[Any], data_type: type | None) -> list[Any]:
    """Join adjacent data events so different chunkings compare equal."""
    if data_type is None:
        return list(events)
    out: list[Any] = []
    for ev in events:
        if isinstance(ev, data_type) and out and type(out[-1]) is type(ev):
            out[-1] = type(ev)(data=out[-1].data + ev.data)  # type: ignore[call-arg]
        else:
            out.append(ev)
    return out


def feed(
    make: Callable[[], Any],
    chunks: Sequence[bytes],
    *,
    drain: Callable[[Any], Sequence[Any]] | None = None,
    eof: bool = False,
    data_type: type | None = None,
) -> FeedResult:
    """Feed ``chunks`` to a new machine; ``drain`` runs after each chunk."""
    conn = make()
    events: list[Any] = []
    error = None
    try:
        for chunk in chunks:
            events.extend(conn.receive_data(chunk))
            if drain is not None:
                events.extend(drain(conn))
        if eof:
            events.extend(conn.receive_eof())
    except SockitError as exc:
        error = (
            type(exc),
            getattr(exc, "limit", None),
            getattr(exc, "http_status", None),
        )
    return FeedResult(tuple(merge_data(events, data_type)), error)


def split_feed(
    make: Callable[[], Any],
    data: bytes,
    *,
    drain: Callable[[Any], Sequence[Any]] | None = None,
    eof: bool = False,
    data_type: type | None = None,
    seed: int = 0,
) -> FeedResult:
    """Feed ``data`` every way and assert identical results; return the result."""
    results = [
        feed(make, chunks, drain=drain, eof=eof, data_type=data_type)
        for chunks in splits(data, seed=seed)
    ]
    first = results[0]
    for i, other in enumerate(results[1:], 1):
        assert other == first, f"split #{i} differs:\n{other}\n!=\n{first}"
    return first
