"""The import-linter contracts really bite.

The layering rules are only worth something if a violation fails. These tests
copy the package into a temporary directory, plant one forbidden import, and
run ``lint-imports`` there against the project's own contracts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports_in(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is not installed (pip install -e '.[lint]')")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [exe, "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree, capture_output=True, text=True, env=env, check=False,
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "sockit", tmp_path / "sockit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_clean_tree_keeps_every_contract(tree: Path) -> None:
    proc = lint_imports_in(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "expected"),
    [
        ("sockit/proto/_planted.py", "import socket\n", "not allowed to import socket"),
        ("sockit/proto/_planted.py", "import time\n", "not allowed to import time"),
        ("sockit/proto/_planted.py", "import sockit.net\n", "not allowed to import sockit.net"),
        ("sockit/net/_planted.py", "import sockit.server\n", "sockit.net"),
    ],
)
def test_planted_violation_fails(tree: Path, module: str, line: str, expected: str) -> None:
    (tree / module).write_text(line)
    proc = lint_imports_in(tree)
    assert proc.returncode != 0, proc.stdout
    assert expected in proc.stdout, proc.stdout


def test_core_module_reaching_up_fails(tree: Path) -> None:
    errors_py = tree / "sockit" / "errors.py"
    errors_py.write_text(errors_py.read_text() + "import sockit.net\n")
    proc = lint_imports_in(tree)
    assert proc.returncode != 0, proc.stdout
    assert "sockit.errors is not allowed to import sockit.net" in proc.stdout, proc.stdout
