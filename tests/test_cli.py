"""The command-line entry point, run in-process and as ``python -m sockit``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sockit import __version__
from sockit.cli import main


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sockit {__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "info" in capsys.readouterr().err


def test_info_json_lists_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", "--limits"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sockit"] == __version__
    assert data["limits"]["HTTP1Limits"]["max_header_count"] == 100
    assert data["limits"]["ClientLimits"]["retry"]["max_delay"] == 10.0


def test_python_dash_m_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sockit", "info"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith(f"sockit {__version__}")
    assert "pyOpenSSL" in out.stdout
