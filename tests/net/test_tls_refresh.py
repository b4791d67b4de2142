"""CRLRefresher on a fake reactor clock, and the self-renewing OCSP staple."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sockit.errors import SockitError
from sockit.net import Reactor, TimerEvent
from sockit.net.tls_refresh import CRLRefresher, OCSPStaple
from sockit.proto.tls import CertificateRevoked, CRLSet
from tests.support.crl_helpers import PKI, WALL, make_crl

PEM = serialization.Encoding.PEM


class Clock:
    """A settable clock for the reactor's timers and the refresher's wall time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_refresher_reloads_on_its_timer(tmp_path: Path) -> None:
    pki = PKI()
    path = tmp_path / "inter.crl"
    path.write_bytes(make_crl(pki.inter, [], encoding=PEM))
    crls = CRLSet(issuers=[pki.inter_der])
    crls.load(str(path), wall_time=WALL)
    crls.check(pki.chain, wall_time=WALL)
    clock = Clock(100.0)
    wall = Clock(WALL)
    refresher = CRLRefresher(crls, interval=10.0, wall_clock=wall)  # raised to the 60 s floor
    assert refresher.interval == 60.0
    with Reactor(clock=clock) as reactor:
        refresher.schedule(reactor)
        path.write_bytes(make_crl(pki.inter, [pki.serial(pki.chain[0])], encoding=PEM))
        clock.now += 59.0
        assert not [ev for ev in reactor.wait(timeout=0) if isinstance(ev, TimerEvent)]
        clock.now += 1.0
        fired = [ev for ev in reactor.wait(timeout=0) if isinstance(ev, TimerEvent)]
        assert [ev.data for ev in fired] == [refresher]
        assert refresher.refresh() is True
        assert refresher.reloads == 1
        with pytest.raises(CertificateRevoked):
            crls.check(pki.chain, wall_time=WALL)
        # a broken file: the reload fails, the old lists stay, the next refresh is re-armed
        path.write_bytes(b"not a CRL")
        clock.now += 60.0
        assert [ev.data for ev in reactor.wait(timeout=0) if isinstance(ev, TimerEvent)] == [
            refresher
        ]
        assert refresher.refresh() is False
        assert refresher.failures == 1 and isinstance(refresher.last_error, SockitError)
        with pytest.raises(CertificateRevoked):
            crls.check(pki.chain, wall_time=WALL)
        refresher.cancel()
        clock.now += 600.0
        assert not [ev for ev in reactor.wait(timeout=0) if isinstance(ev, TimerEvent)]


def test_staple_is_cached_renewed_and_expires() -> None:
    wall = Clock(1000.0)
    made: list[float] = []
    broken = False

    def make(now: float) -> bytes:
        if broken:
            raise SockitError("responder down")
        made.append(now)
        return b"DER@%d" % int(now)

    staple = OCSPStaple(make, validity=100.0, wall_clock=wall)
    assert staple() == b"DER@1000"
    wall.now = 1049.0
    assert staple() == b"DER@1000" and made == [1000.0]  # cached until half the validity
    wall.now = 1050.0
    assert staple() == b"DER@1050"  # renewed
    broken = True
    wall.now = 1120.0
    assert staple() == b"DER@1050"  # renewal failed: the old one is still valid
    assert staple.failures == 1
    wall.now = 1150.0
    assert staple() is None  # expired and not renewed: nothing is stapled
    with pytest.raises(ValueError):
        OCSPStaple(make, validity=0)
