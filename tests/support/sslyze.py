"""Scan a TLS server with a modern ``sslyze`` (6.x) run as a separate program.

Modern sslyze needs ``nassl``, whose pins conflict with the pyOpenSSL and
cryptography sockit runs on, so it lives in its own virtualenv (CI makes
``/tmp/sockit-sslyze``; see :data:`DEFAULT_SSLYZE`) and the tests drive its
command line, reading the JSON report. ``SOCKIT_SSLYZE`` names another
executable. A missing or too-old sslyze skips the test locally and fails it
under ``SOCKIT_REQUIRE_PEERS=1``, like :func:`tests.support.peers.require_program`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.peers import REQUIRE_PEERS

__all__ = ["DEFAULT_SSLYZE", "SSLYZE_ENV", "CipherScan", "SSLyzeReport", "require_sslyze",
           "scan_tls"]

#: environment variable naming the sslyze executable to use
SSLYZE_ENV = "SOCKIT_SSLYZE"
#: where CI's dedicated virtualenv puts it
DEFAULT_SSLYZE = "/tmp/sockit-sslyze/bin/sslyze"
#: the oldest major version whose CLI and JSON layout this module reads
MIN_MAJOR = 5

#: the version scans, in sslyze's JSON names, oldest first
VERSION_SCANS = (
    "ssl_2_0_cipher_suites",
    "ssl_3_0_cipher_suites",
    "tls_1_0_cipher_suites",
    "tls_1_1_cipher_suites",
    "tls_1_2_cipher_suites",
    "tls_1_3_cipher_suites",
)


def _missing(msg: str) -> None:
    msg += (" (python -m venv /tmp/sockit-sslyze &&"
            " /tmp/sockit-sslyze/bin/pip install 'sslyze==6.*')")
    if REQUIRE_PEERS:
        pytest.fail(msg + " and SOCKIT_REQUIRE_PEERS=1")
    pytest.skip(msg)


def require_sslyze() -> str:
    """Path of a working sslyze >= 5; skip (or fail in CI) when there is none."""
    path = os.environ.get(SSLYZE_ENV) or DEFAULT_SSLYZE
    if not os.access(path, os.X_OK):
        _missing(f"sslyze not found at {path!r} (set {SSLYZE_ENV})")
    try:
        out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60,
                             check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _missing(f"sslyze at {path!r} does not run: {exc}")
        raise  # unreachable: _missing skips or fails
    found = re.search(r"SSLyze version (\d+)\.", out.stdout)
    if found is None or int(found.group(1)) < MIN_MAJOR:
        _missing(f"{path!r} is not sslyze >= {MIN_MAJOR}: {(out.stdout + out.stderr)[-300:]!r}")
    return path


@dataclass(frozen=True)
class CipherScan:
    """One protocol version's result: was it accepted, and with which suites."""

    version: str
    supported: bool
    accepted: tuple[str, ...]


@dataclass(frozen=True)
class SSLyzeReport:
    """What one scan found, keyed the way the assertions need it."""

    versions: dict[str, CipherScan]
    compression: bool
    secure_renegotiation: bool
    client_renegotiation_dos: bool
    client_renegotiations_accepted: int

    def supported(self) -> list[str]:
        """The protocol versions the server accepted (``TLS_1_3``...)."""
        return [scan.version for scan in self.versions.values() if scan.supported]


def _parse(report: Any) -> SSLyzeReport:  # sslyze's JSON, as json.loads gives it
    servers = report["server_scan_results"]
    assert isinstance(servers, list) and len(servers) == 1, report
    server = servers[0]
    assert server["connectivity_status"] == "COMPLETED", server.get("connectivity_error_trace")
    assert server["scan_status"] == "COMPLETED", server
    results = server["scan_result"]
    for name in (*VERSION_SCANS, "tls_compression", "session_renegotiation"):
        attempt = results[name]
        assert attempt["status"] == "COMPLETED", (name, attempt.get("error_trace"))
    versions = {}
    for name in VERSION_SCANS:
        result = results[name]["result"]
        versions[result["tls_version_used"]] = CipherScan(
            version=result["tls_version_used"],
            supported=bool(result["is_tls_version_supported"]),
            accepted=tuple(c["cipher_suite"]["name"] for c in result["accepted_cipher_suites"]),
        )
    reneg = results["session_renegotiation"]["result"]
    return SSLyzeReport(
        versions=versions,
        compression=bool(results["tls_compression"]["result"]["supports_compression"]),
        secure_renegotiation=bool(reneg["supports_secure_renegotiation"]),
        client_renegotiation_dos=bool(reneg["is_vulnerable_to_client_renegotiation_dos"]),
        client_renegotiations_accepted=int(reneg["client_renegotiations_success_count"]),
    )


def scan_tls(host: str, port: int, *, sni: str = "localhost",
             timeout: float = 180.0) -> SSLyzeReport:
    """Scan every protocol version, compression and renegotiation of ``host:port``."""
    exe = require_sslyze()
    with tempfile.TemporaryDirectory(prefix="sockit-sslyze-") as tmp:
        out = Path(tmp) / "scan.json"
        argv = [exe, "--quiet", f"--json_out={out}", "--sni", sni,
                "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                "--compression", "--reneg", f"{host}:{port}"]
        run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        assert out.exists(), f"sslyze wrote no report (exit {run.returncode}): {run.stderr[-2000:]}"
        return _parse(json.loads(out.read_text()))
