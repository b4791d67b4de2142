"""Certificate verification in the engine: each bad certificate, its class and reason."""

from __future__ import annotations

import pytest

from sockit.proto.tls import (
    CertificateExpired,
    CertificateRevoked,
    CertificateTransparencyError,
    HandshakeComplete,
    HostnameMismatch,
    OCSPRevoked,
    PeerAlert,
    PinMismatch,
    TLSConnection,
    TLSContext,
    TLSState,
    TLSUsageError,
    UntrustedCertificate,
)
from tests.support.tls_certs import CertPair, ocsp_response, pump, tls_certs


def server_for(pair: CertPair, **kw) -> TLSContext:
    return TLSContext.server(pair.cert, pair.key, **kw)


def client_ctx(**kw) -> TLSContext:
    kw.setdefault("cafile", tls_certs().ca_file)
    return TLSContext.client(**kw)


def handshake_error(client: TLSContext, server: TLSContext, host: str = "localhost"):
    c = TLSConnection(client, server_hostname=host, wall_time=1.7e9)
    s = TLSConnection(server)
    with pytest.raises(Exception) as info:
        pump(c, s)
    assert c.state is TLSState.FAILED
    alert = c.data_to_send()
    assert alert, "the client queues an alert for the server"
    with pytest.raises(PeerAlert):
        s.receive_data(alert)
    return info.value


@pytest.mark.parametrize(
    ("which", "cls", "reason"),
    [
        ("expired", CertificateExpired, "expired"),
        ("not_yet_valid", CertificateExpired, "not-yet-valid"),
        ("self_signed", UntrustedCertificate, "self-signed"),
        ("unknown_ca", UntrustedCertificate, "unknown-issuer"),
        ("wrong_host", HostnameMismatch, "hostname-mismatch"),
    ],
)
def test_each_bad_certificate_has_its_class_and_reason(which, cls, reason):
    exc = handshake_error(client_ctx(), server_for(getattr(tls_certs(), which)))
    assert type(exc) is cls
    assert exc.reason == reason
    assert str(exc)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost."])
def test_ip_addresses_and_names_are_checked(host):
    c = TLSConnection(client_ctx(), server_hostname=host)
    s = TLSConnection(server_for(tls_certs().server))
    assert isinstance(pump(c, s).client[0], HandshakeComplete)


def test_an_ip_the_certificate_does_not_name_is_refused():
    exc = handshake_error(client_ctx(), server_for(tls_certs().server), host="10.0.0.1")
    assert isinstance(exc, HostnameMismatch)
    assert "IP address" in str(exc)


def test_verify_off_and_hostname_off():
    c = TLSConnection(client_ctx(verify=False), server_hostname="localhost")
    s = TLSConnection(server_for(tls_certs().self_signed))
    assert isinstance(pump(c, s).client[0], HandshakeComplete)
    c = TLSConnection(client_ctx(check_hostname=False), server_hostname="localhost")
    s = TLSConnection(server_for(tls_certs().wrong_host))
    assert isinstance(pump(c, s).client[0], HandshakeComplete)
    # still verifies the chain
    exc = handshake_error(client_ctx(check_hostname=False), server_for(tls_certs().unknown_ca))
    assert isinstance(exc, UntrustedCertificate)


def test_check_hostname_needs_a_name():
    with pytest.raises(TLSUsageError):
        TLSConnection(client_ctx())
    TLSConnection(client_ctx(check_hostname=False))  # fine without


def test_cadata_and_system_defaults():
    ctx = client_ctx(cafile=None, cadata=tls_certs().ca_pem)
    c = TLSConnection(ctx, server_hostname="localhost")
    s = TLSConnection(server_for(tls_certs().server))
    assert isinstance(pump(c, s).client[0], HandshakeComplete)
    # the system store does not know the trustme CA
    exc = handshake_error(TLSContext.client(), server_for(tls_certs().server))
    assert isinstance(exc, UntrustedCertificate)


# -- post-verification policies, through fakes of the real checks ---------------

class FakePins:
    def __init__(self, *, fail: bool, report_only: bool = False) -> None:
        self.fail, self.report_only, self.seen = fail, report_only, []

    def check(self, chain_der):
        self.seen.append(list(chain_der))
        if self.fail and not self.report_only:
            raise PinMismatch("no pin matches")
        return ("failed" if self.fail else "ok", len(chain_der))


def test_pins_see_the_chain_leaf_first_and_can_refuse():
    pins = FakePins(fail=False)
    c = TLSConnection(client_ctx(pins=pins), server_hostname="localhost")
    result = pump(c, TLSConnection(server_for(tls_certs().server)))
    done = result.client[0]
    assert done.pin_result == ("ok", 2)  # leaf + CA
    leaf = pins.seen[0][0]
    assert leaf == c.peer_chain_der[0]
    exc = handshake_error(client_ctx(pins=FakePins(fail=True)), server_for(tls_certs().server))
    assert isinstance(exc, PinMismatch)


def test_report_only_pins_report_instead_of_failing():
    pins = FakePins(fail=True, report_only=True)
    c = TLSConnection(client_ctx(pins=pins), server_hostname="localhost")
    done = pump(c, TLSConnection(server_for(tls_certs().server))).client[0]
    assert done.pin_result == ("failed", 2)
    assert c.pin_result == ("failed", 2)


class FakeCRL:
    def __init__(self, revoked: bool) -> None:
        self.revoked, self.calls = revoked, []

    def check(self, chain_der, *, wall_time):
        self.calls.append(wall_time)
        if self.revoked:
            raise CertificateRevoked("serial 1 is revoked")


def test_crl_needs_wall_time_and_can_revoke():
    ctx = client_ctx(crl=FakeCRL(revoked=False))
    with pytest.raises(TLSUsageError):
        TLSConnection(ctx, server_hostname="localhost")
    c = TLSConnection(ctx, server_hostname="localhost", wall_time=123.0)
    assert isinstance(pump(c, TLSConnection(server_for(tls_certs().server))).client[0],
                      HandshakeComplete)
    assert ctx.crl.calls == [123.0]
    exc = handshake_error(client_ctx(crl=FakeCRL(revoked=True)), server_for(tls_certs().server))
    assert isinstance(exc, CertificateRevoked)


class FakeCT:
    def check(self, leaf_der, issuer_der, *, wall_time):
        assert issuer_der is not None
        raise CertificateTransparencyError("0 SCTs")


def test_ct_refusal():
    exc = handshake_error(client_ctx(ct=FakeCT()), server_for(tls_certs().server))
    assert isinstance(exc, CertificateTransparencyError)


class FakeOCSP:
    def __init__(self, revoked: bool) -> None:
        self.revoked, self.staples = revoked, []

    def check(self, staple, leaf_der, issuer_der, *, wall_time):
        self.staples.append(staple)
        if self.revoked:
            raise OCSPRevoked("revoked per OCSP")
        return "good"


def test_ocsp_staple_reaches_the_policy():
    policy = FakeOCSP(revoked=False)
    der = ocsp_response(tls_certs().server)
    server = server_for(tls_certs().server, ocsp_response=der)
    c = TLSConnection(client_ctx(ocsp=policy), server_hostname="localhost", wall_time=1.0)
    assert isinstance(pump(c, TLSConnection(server)).client[0], HandshakeComplete)
    assert policy.staples == [der]
    # no staple: the policy sees None
    policy = FakeOCSP(revoked=False)
    c = TLSConnection(client_ctx(ocsp=policy), server_hostname="localhost", wall_time=1.0)
    pump(c, TLSConnection(server_for(tls_certs().server)))
    assert policy.staples == [None]


def test_ocsp_revoked_fails_the_handshake():
    der = ocsp_response(tls_certs().server, revoked=True)
    server = server_for(tls_certs().server, ocsp_response=lambda: der)
    c = TLSConnection(client_ctx(ocsp=FakeOCSP(revoked=True)), server_hostname="localhost",
                      wall_time=1.0)
    with pytest.raises(OCSPRevoked):
        pump(c, TLSConnection(server))
    assert c.state is TLSState.FAILED


def test_oversized_staple_is_not_sent():
    from sockit.limits import TLSDefaults

    policy = FakeOCSP(revoked=False)
    der = ocsp_response(tls_certs().server)
    at_limit = server_for(tls_certs().server, ocsp_response=der,
                          defaults=TLSDefaults(max_ocsp_response_size=len(der)))
    c = TLSConnection(client_ctx(ocsp=policy), server_hostname="localhost", wall_time=1.0)
    pump(c, TLSConnection(at_limit))
    over = server_for(tls_certs().server, ocsp_response=der,
                      defaults=TLSDefaults(max_ocsp_response_size=len(der) - 1))
    c = TLSConnection(client_ctx(ocsp=policy), server_hostname="localhost", wall_time=1.0)
    pump(c, TLSConnection(over))
    assert policy.staples == [der, None]
