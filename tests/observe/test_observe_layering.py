"""sockit.observe stands alone: no I/O layers, no sockets, no handlers of its own."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sockit.proto", "sockit.net", "sockit.client", "sockit.server", "sockit.cli")
IO_MODULES = ("socket", "ssl", "selectors", "select", "asyncio")


def test_importing_observe_pulls_in_no_io_layer() -> None:
    code = "import sys, sockit.observe\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(result.stdout.split())
    assert "sockit.observe.metrics" in loaded
    assert "sockit.observe.log" in loaded
    leaked = {m for m in loaded if m.startswith(FORBIDDEN) or m in IO_MODULES}
    assert leaked == set()
