"""Test-suite wide configuration: hypothesis profiles, vectors, peers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
REQUIRE_VECTORS = os.environ.get("SOCKIT_REQUIRE_VECTORS") == "1"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The shared conformance vectors (../shared/vectors beside the checkout)."""
    if not VECTORS.is_dir():
        msg = f"conformance vectors not found at {VECTORS}"
        if REQUIRE_VECTORS:
            pytest.fail(msg + " and SOCKIT_REQUIRE_VECTORS=1")
        pytest.skip(msg)
    return VECTORS
