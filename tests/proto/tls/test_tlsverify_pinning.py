"""PinSet: pin formats, the max_pins bound, strict and report-only checks."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.tls.certinfo import spki_sha256
from sockit.proto.tls.errors import PinMismatch, TLSUsageError
from sockit.proto.tls.pinning import PinResult, PinSet, format_pin, parse_pin

DER = serialization.Encoding.DER


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(DER)


@pytest.fixture(scope="module")
def chain() -> list[bytes]:
    """leaf, intermediate (root not sent, as servers do)."""
    root = trustme.CA()
    inter = root.create_child_ca()
    leaf = inter.issue_cert("pinned.test")
    return [_der(p.bytes()) for p in leaf.cert_chain_pems]


@pytest.fixture(scope="module")
def other() -> bytes:
    return _der(trustme.CA().issue_cert("other.test").cert_chain_pems[0].bytes())


def test_pin_forms_are_equivalent(chain: list[bytes]) -> None:
    raw = spki_sha256(chain[0])
    forms = [
        raw,
        bytearray(raw),
        raw.hex(),
        raw.hex().upper(),
        ":".join(f"{b:02X}" for b in raw),
        "sha256/" + base64.b64encode(raw).decode(),
        "  SHA256/" + base64.b64encode(raw).decode() + " ",
    ]
    for form in forms:
        assert parse_pin(form) == raw  # type: ignore[arg-type]
    pins = PinSet(forms)  # type: ignore[arg-type]
    assert len(pins) == 1
    assert all(form in pins for form in forms)
    assert pins.pins == (raw,)
    assert format_pin(raw) == forms[5]


@pytest.mark.parametrize(
    "bad",
    ["", "zz" * 32, "ab" * 31, "ab" * 33, "sha256/!!!", "sha256/" + "A" * 40, b"x" * 31, b"x" * 33],
)
def test_bad_pins_refused(bad: bytes | str) -> None:
    with pytest.raises(TLSUsageError):
        parse_pin(bad)
    with pytest.raises(TLSUsageError):
        PinSet([bad])
    assert bad not in PinSet()


def test_single_pin_string_is_a_mistake() -> None:
    with pytest.raises(TLSUsageError):
        PinSet("ab" * 32)  # type: ignore[arg-type]
    with pytest.raises(TLSUsageError):
        parse_pin(12)  # type: ignore[arg-type]
    assert 12 not in PinSet()


def test_max_pins_n_and_n_plus_one() -> None:
    pins = [hashlib.sha256(bytes([i])).digest() for i in range(33)]
    full = PinSet(pins[:32])
    assert len(full) == 32
    full.add(pins[0])  # a duplicate does not count
    assert len(full) == 32
    with pytest.raises(TLSUsageError, match="max_pins=32"):
        PinSet(pins)
    with pytest.raises(TLSUsageError):
        full.add(pins[32])
    assert len(PinSet(pins[:3], max_pins=3)) == 3
    with pytest.raises(TLSUsageError):
        PinSet(pins[:4], max_pins=3)


def test_leaf_pin_matches(chain: list[bytes]) -> None:
    result = PinSet([spki_sha256(chain[0])]).check(chain)
    assert result == PinResult(True, spki_sha256(chain[0]), tuple(spki_sha256(d) for d in chain))


def test_intermediate_pin_matches(chain: list[bytes]) -> None:
    backup = hashlib.sha256(b"backup key").digest()
    result = PinSet([backup, spki_sha256(chain[1])]).check(chain)
    assert result.matched and result.matched_pin == spki_sha256(chain[1])


def test_strict_mismatch_raises(chain: list[bytes], other: bytes) -> None:
    pins = PinSet([spki_sha256(other)])
    with pytest.raises(PinMismatch) as info:
        pins.check(chain)
    assert info.value.reason == "pin-mismatch"
    assert format_pin(spki_sha256(chain[0])) in str(info.value)


def test_report_only_returns(chain: list[bytes], other: bytes) -> None:
    result = PinSet([spki_sha256(other)], report_only=True).check(chain)
    assert result.matched is False and result.matched_pin is None
    assert result.chain_pins == tuple(spki_sha256(d) for d in chain)


def test_empty_set_and_empty_chain(chain: list[bytes]) -> None:
    with pytest.raises(PinMismatch):
        PinSet().check(chain)
    with pytest.raises(PinMismatch, match="empty chain"):
        PinSet([spki_sha256(chain[0])]).check([])


def test_from_certificate_file(tmp_path: Path, chain: list[bytes], other: bytes) -> None:
    pem = b"".join(
        x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM) for d in chain
    )
    (tmp_path / "chain.pem").write_bytes(pem)
    (tmp_path / "one.der").write_bytes(other)
    pins = PinSet.from_certificate_file(tmp_path / "chain.pem", report_only=True)
    assert pins.pins == tuple(spki_sha256(d) for d in chain)
    assert pins.report_only
    assert PinSet.from_certificate_file(str(tmp_path / "one.der")).pins == (spki_sha256(other),)
    with pytest.raises(TLSUsageError):
        PinSet.from_certificate_file(tmp_path / "missing.pem")
    (tmp_path / "junk").write_bytes(b"junk")
    with pytest.raises(TLSUsageError):
        PinSet.from_certificate_file(tmp_path / "junk")


@given(st.lists(st.binary(max_size=80), max_size=3))
def test_arbitrary_chain_bytes_only_sockit_errors(chain: list[bytes]) -> None:
    pins = PinSet([b"\x00" * 32], report_only=True)
    try:
        result = pins.check(chain)
    except SockitError:
        return
    assert not result.matched
