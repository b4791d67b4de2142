"""The peer-process harness itself, exercised against a real nginx and curl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.nginx import run_nginx
from tests.support.peers import free_port, require_program, run_peer

pytestmark = pytest.mark.interop


def test_nginx_serves_and_is_stopped_by_pid(tmp_path: Path) -> None:
    curl = require_program("curl")
    with run_nginx(tmp_path) as (peer, root):
        (root / "hello.txt").write_bytes(b"hello from nginx\n")
        url = f"http://{peer.host}:{peer.port}/hello.txt"
        out = subprocess.run([curl, "-sS", "--fail", url], capture_output=True, check=True)
        assert out.stdout == b"hello from nginx\n"
        assert peer.proc.poll() is None
    # the whole process group is gone once the context exits
    assert peer.proc.returncode is not None
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run([curl, "-sS", "--fail", "--max-time", "2", url], capture_output=True,
                       check=True)


def test_peer_that_never_listens_is_reported(tmp_path: Path) -> None:
    sleep = require_program("sleep")
    port = free_port()
    with (
        pytest.raises(RuntimeError, match="did not start"),
        run_peer([sleep, "30"], port=port, start_timeout=1.0),
    ):
        pass
