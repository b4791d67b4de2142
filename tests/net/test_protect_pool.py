"""SYNProtector as a ConnectionPool's admission gate, over real loopback connections."""

from __future__ import annotations

import sys
from collections import defaultdict

import pytest

from sockit.limits import SYNProtectDefaults
from sockit.net.pool import ConnectionPool, PooledConnection, RefusalReason, Refused
from sockit.net.protect import SYNProtector
from sockit.net.tcp import Socket, connect_tcp, listen_tcp
from sockit.observe import MetricsRegistry

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="needs the whole 127.0.0.0/8 on loopback"
)


def test_pool_refuses_what_the_protector_blocks() -> None:
    now = [500.0]
    cfg = SYNProtectDefaults(max_attempts_per_window=3, penalty_attempt=0.0)
    protector = SYNProtector(
        cfg, deny=["127.0.0.3/32"], clock=lambda: now[0], registry=MetricsRegistry()
    )
    pool = ConnectionPool(admission=protector, registry=MetricsRegistry())
    clients: list[Socket] = []
    with listen_tcp("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        sources = ["127.0.0.1"] * 2 + ["127.0.0.3"] + ["127.0.0.2"] * 5
        try:
            for src in sources:
                clients.append(connect_tcp("127.0.0.1", port, source_address=(src, 0), timeout=5))
            results: list[PooledConnection | Refused] = []
            for _ in range(100):
                results += pool.accept(listener)
                if len(results) >= len(sources):
                    break
                listener.is_readable(0.05)
            by_ip: dict[str, list[str | None]] = defaultdict(list)
            for item in results:
                if isinstance(item, Refused):
                    assert item.reason is RefusalReason.PROTECTION
                    assert item.ip is not None
                    by_ip[item.ip].append(item.detail)
                else:
                    by_ip[str(item.ip)].append(None)
            assert by_ip["127.0.0.1"] == [None, None]
            assert by_ip["127.0.0.3"] == ["block:denylisted"]
            assert by_ip["127.0.0.2"] == [None] * 3 + ["block:rate-window", "block:blocked"]
            assert len(pool) == 5
            # the server reports how admitted connections went
            protector.record_success("127.0.0.1")
            assert protector.score("127.0.0.1") == pytest.approx(0.85)
        finally:
            for c in clients:
                c.close()
            pool.force_close()
