"""OCSPPolicy against responses built with cryptography's OCSPResponseBuilder."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given
from hypothesis import strategies as st

from sockit.errors import SockitError
from sockit.proto.tls.errors import OCSPError, OCSPRevoked, TLSUsageError
from sockit.proto.tls.ocsp import OCSPPolicy, OCSPStatus, build_ocsp_response, requires_staple

DER = serialization.Encoding.DER
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)
WALL = NOW.timestamp()


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(DER)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def issue(
    ca: trustme.CA, name: str, extensions: list[x509.ExtensionType]
) -> tuple[bytes, bytes]:
    """A certificate for ``name`` signed by ``ca`` with ``extensions``: (DER, key PEM)."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=30))
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(DER), _key_pem(key)


class PKI:
    def __init__(self, key_type: trustme.KeyType = trustme.KeyType.ECDSA) -> None:
        self.ca = trustme.CA(key_type=key_type)
        self.ca_der = _der(self.ca.cert_pem.bytes())
        self.ca_key = self.ca.private_key_pem.bytes()
        self.leaf_der = _der(self.ca.issue_cert("ocsp.test").cert_chain_pems[0].bytes())
        self.leaf2_der = _der(self.ca.issue_cert("two.ocsp.test").cert_chain_pems[0].bytes())

    def response(self, status: str = "good", **kw: object) -> bytes:
        kw.setdefault("wall_time", WALL)
        return build_ocsp_response(self.leaf_der, self.ca_der, self.ca_key, status=status, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


@pytest.mark.parametrize("key_type", [trustme.KeyType.ECDSA, trustme.KeyType.RSA])
def test_good(key_type: trustme.KeyType) -> None:
    pki = PKI(key_type)
    status = OCSPPolicy().check(pki.response(), pki.leaf_der, pki.ca_der, wall_time=WALL + 60)
    assert isinstance(status, OCSPStatus)
    assert status.serial == x509.load_der_x509_certificate(pki.leaf_der).serial_number
    assert status.this_update == NOW and status.next_update == NOW + timedelta(hours=1)
    assert status.delegated is False
    assert status.responder == x509.load_der_x509_certificate(pki.ca_der).subject.rfc4514_string()


def test_revoked(pki: PKI) -> None:
    staple = pki.response(
        "revoked", revoked_at=WALL - 86400, revocation_reason=x509.ReasonFlags.key_compromise
    )
    with pytest.raises(OCSPRevoked) as info:
        OCSPPolicy().check(staple, pki.leaf_der, pki.ca_der, wall_time=WALL)
    exc = info.value
    assert exc.reason == "ocsp-revoked"
    assert exc.revocation_time == NOW - timedelta(days=1)  # type: ignore[attr-defined]
    assert exc.revocation_reason == "keyCompromise"  # type: ignore[attr-defined]


def test_unknown(pki: PKI) -> None:
    with pytest.raises(OCSPError) as info:
        OCSPPolicy().check(pki.response("unknown"), pki.leaf_der, pki.ca_der, wall_time=WALL)
    assert info.value.reason == "ocsp-unknown" and not isinstance(info.value, OCSPRevoked)


def _reason(policy: OCSPPolicy, staple: bytes | None, pki: PKI, **kw: object) -> str:
    leaf = kw.pop("leaf", pki.leaf_der)
    issuer = kw.pop("issuer", pki.ca_der)
    wall = kw.pop("wall_time", WALL)
    with pytest.raises(OCSPError) as info:
        policy.check(staple, leaf, issuer, wall_time=wall)  # type: ignore[arg-type]
    return info.value.reason


def test_bad_signature(pki: PKI) -> None:
    good = pki.response()
    # without certificates the signature's last byte ends the response
    forged = good[:-1] + bytes([good[-1] ^ 0x01])
    parsed = ocsp.load_der_ocsp_response(forged)
    assert parsed.signature != ocsp.load_der_ocsp_response(good).signature
    assert _reason(OCSPPolicy(), forged, pki) == "ocsp-bad-signature"


def test_signed_by_another_ca_with_its_own_id(pki: PKI) -> None:
    stranger = PKI()
    # a valid response about our leaf's serial, by a CA that did not issue it
    other = build_ocsp_response(pki.leaf_der, stranger.ca_der, stranger.ca_key, wall_time=WALL)
    assert _reason(OCSPPolicy(), other, pki) == "ocsp-wrong-certificate"


def test_response_for_another_certificate(pki: PKI) -> None:
    other = build_ocsp_response(pki.leaf2_der, pki.ca_der, pki.ca_key, wall_time=WALL)
    assert _reason(OCSPPolicy(), other, pki) == "ocsp-wrong-certificate"
    # the same serial under another issuer is another certificate too
    stranger = PKI()
    reason = _reason(OCSPPolicy(), pki.response(), pki, issuer=stranger.ca_der)
    assert reason == "ocsp-wrong-certificate"


def test_time_window(pki: PKI) -> None:
    policy = OCSPPolicy()  # leeway 300 s
    staple = pki.response(validity=3600)
    assert policy.check(staple, pki.leaf_der, pki.ca_der, wall_time=WALL + 3600 + 300)
    assert _reason(policy, staple, pki, wall_time=WALL + 3600 + 301) == "ocsp-stale"
    assert policy.check(staple, pki.leaf_der, pki.ca_der, wall_time=WALL - 300)
    assert _reason(policy, staple, pki, wall_time=WALL - 301) == "ocsp-not-yet-valid"
    strict = OCSPPolicy(leeway=0)
    assert _reason(strict, staple, pki, wall_time=WALL + 3601) == "ocsp-stale"


def test_max_age(pki: PKI) -> None:
    staple = pki.response(validity=7 * 86400)
    policy = OCSPPolicy(max_age=600, leeway=0)
    assert policy.check(staple, pki.leaf_der, pki.ca_der, wall_time=WALL + 600)
    assert _reason(policy, staple, pki, wall_time=WALL + 601) == "ocsp-stale"
    with pytest.raises(TLSUsageError):
        OCSPPolicy(max_age=0)
    with pytest.raises(TLSUsageError):
        OCSPPolicy(leeway=-1)


def test_missing_staple(pki: PKI) -> None:
    assert OCSPPolicy().check(None, pki.leaf_der, pki.ca_der, wall_time=WALL) is None
    assert OCSPPolicy().check(b"", pki.leaf_der, pki.ca_der, wall_time=WALL) is None
    assert _reason(OCSPPolicy(must_staple=True), None, pki) == "ocsp-missing"


def test_must_staple_extension(pki: PKI) -> None:
    feature = x509.TLSFeature([x509.TLSFeatureType.status_request])
    leaf, _ = issue(pki.ca, "staple.test", [feature])
    assert requires_staple(leaf) and not requires_staple(pki.leaf_der)
    assert _reason(OCSPPolicy(), None, pki, leaf=leaf) == "ocsp-missing"
    staple = build_ocsp_response(leaf, pki.ca_der, pki.ca_key, wall_time=WALL)
    assert OCSPPolicy().check(staple, leaf, pki.ca_der, wall_time=WALL) is not None


def test_delegated_responder(pki: PKI) -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
    responder, key = issue(pki.ca, "responder", [eku])
    staple = build_ocsp_response(
        pki.leaf_der, pki.ca_der, key, wall_time=WALL, responder_cert_der=responder
    )
    status = OCSPPolicy().check(staple, pki.leaf_der, pki.ca_der, wall_time=WALL)
    assert status is not None and status.delegated and status.responder == "CN=responder"


def test_delegated_responder_without_eku(pki: PKI) -> None:
    responder, key = issue(pki.ca, "no-eku", [])
    staple = build_ocsp_response(
        pki.leaf_der, pki.ca_der, key, wall_time=WALL, responder_cert_der=responder
    )
    assert _reason(OCSPPolicy(), staple, pki) == "ocsp-bad-signature"


def test_delegated_responder_from_another_ca(pki: PKI) -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
    responder, key = issue(trustme.CA(), "rogue", [eku])
    staple = build_ocsp_response(
        pki.leaf_der, pki.ca_der, key, wall_time=WALL, responder_cert_der=responder
    )
    assert _reason(OCSPPolicy(), staple, pki) == "ocsp-bad-signature"


def test_delegated_responder_expired(pki: PKI) -> None:
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING])
    responder, key = issue(pki.ca, "responder", [eku])  # valid NOW +- 30 days
    late = WALL + 40 * 86400
    staple = build_ocsp_response(
        pki.leaf_der, pki.ca_der, key, wall_time=late, responder_cert_der=responder
    )
    assert _reason(OCSPPolicy(), staple, pki, wall_time=late) == "ocsp-bad-signature"


def test_size_bound_n_and_n_plus_one(pki: PKI) -> None:
    staple = pki.response()
    assert OCSPPolicy(max_size=len(staple)).check(
        staple, pki.leaf_der, pki.ca_der, wall_time=WALL
    )
    assert _reason(OCSPPolicy(max_size=len(staple) - 1), staple, pki) == "ocsp-too-large"


def test_no_issuer(pki: PKI) -> None:
    assert _reason(OCSPPolicy(), pki.response(), pki, issuer=None) == "ocsp-no-issuer"


def test_unsuccessful_response(pki: PKI) -> None:
    error = ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.TRY_LATER
    ).public_bytes(DER)
    assert _reason(OCSPPolicy(), error, pki) == "ocsp-unsuccessful"


def test_builder_refuses_bad_input(pki: PKI) -> None:
    with pytest.raises(TLSUsageError):
        build_ocsp_response(pki.leaf_der, pki.ca_der, pki.ca_key, status="maybe", wall_time=WALL)
    with pytest.raises(TLSUsageError):
        build_ocsp_response(b"junk", pki.ca_der, pki.ca_key, wall_time=WALL)
    with pytest.raises(TLSUsageError):
        build_ocsp_response(pki.leaf_der, pki.ca_der, b"not a key", wall_time=WALL)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(min_size=1, max_size=400))
def test_arbitrary_staple_only_sockit_errors(data: bytes) -> None:
    try:
        OCSPPolicy().check(data, _BASE.leaf_der, _BASE.ca_der, wall_time=WALL)
    except SockitError as exc:
        assert isinstance(exc, OCSPError)
        return
    raise AssertionError("random bytes verified as an OCSP response")  # pragma: no cover


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@given(st.binary(min_size=1, max_size=16), st.integers(min_value=0, max_value=1000))
def test_corrupted_staple_only_sockit_errors(garbage: bytes, at: int) -> None:
    pos = at % len(_BASE_STAPLE)
    mutated = _BASE_STAPLE[:pos] + garbage + _BASE_STAPLE[pos + len(garbage) :]
    try:
        result = OCSPPolicy().check(mutated, _BASE.leaf_der, _BASE.ca_der, wall_time=WALL)
    except SockitError:
        return
    assert result is not None  # only a still-valid response may pass


_BASE = PKI()
_BASE_STAPLE = _BASE.response()
