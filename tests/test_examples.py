"""Every program in examples/ runs to completion and does what it says.

Examples must finish on their own in a few seconds; ones that run servers
take a self-test mode from ``SOCKIT_EXAMPLE_SELFTEST=1``. Each example's
expected output markers are listed here, so an example that silently stops
working fails the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# substrings each example's stdout must contain
EXPECTED: dict[str, list[str]] = {
    "auth.py": ["auth ok: basic, bearer and digest accepted; the second digest request "
                "needed no new challenge"],
    "download.py": ["download ok:", "(206), complete (416), uploaded back intact"],
    "json_api.py": ["json api ok: 3 created, 1 done via 303, 2 open, missing -> 404"],
    "dtls_echo.py": ["dtls echo ok: 25 datagrams"],
    "echo_server.py": ["echo ok: 20 clients, 1000 echoes"],
    "fetch.py": ["fetch ok: 200, 13 bytes"],
    "h2_client.py": ["h2 ok: 40 responses over 1 connection(s), HTTP/2"],
    "hello_server.py": ["hello server ok: 3 requests"],
    "https_get.py": ["https ok: 200, 13 bytes, TLSv1.3, alpn=http/1.1"],
    "http1_sansio.py": [
        "200 GET /hello got 0 body bytes",
        "200 POST /upload got 1500 body bytes",
        "HTTP/1.1 400 Bad Request | refused: both Content-Length and Transfer-Encoding",
    ],
    "middleware_app.py": [
        "middleware app ok: user 7, 404 and 405 as JSON, logins [200, 200, 429]"
    ],
    "static_site.py": ["static site ok: index, gzip variant", "range 206 (524288 bytes), "
                       "revalidated 304"],
    "sse.py": ["sse ok: 5 events, ids 1..5, text/event-stream"],
    "pool_server.py": [
        "pool server ok: 5 clients, every ping answered, idle closed, drained without force"
    ],
    "via_proxy.py": [
        "via proxy ok: tunnel, 3 datagrams, 2 client requests over 1 pooled tunnel(s)"
    ],
    "ws_chat.py": ["ws chat ok: 3 clients, 9 messages delivered"],
    "utf8_stream.py": [
        "accepted: 'Hello, wörld'",
        "refused at byte 16",
        "refused: message over 64 bytes",
    ],
}


def all_examples() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_example_has_expectations() -> None:
    missing = set(all_examples()) - set(EXPECTED)
    assert not missing, f"add expected output for {sorted(missing)}"


@pytest.mark.parametrize("name", all_examples())
def test_example_runs(name: str) -> None:
    env = {**os.environ, "SOCKIT_EXAMPLE_SELFTEST": "1"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for marker in EXPECTED.get(name, []):
        assert marker in proc.stdout, f"{marker!r} not in output:\n{proc.stdout}"
