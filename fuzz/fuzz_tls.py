"""atheris harness: the TLS engine (server role) and the certificate-data parsers.

Property: arbitrary bytes either parse or raise a ``SockitError``, never
anything else. The first byte picks the target:

* 0-3: a fresh server ``TLSConnection`` fed the rest in one or two cuts, then
  EOF (records, alerts, a half ClientHello, garbage);
* 4: ``CertificateInfo.from_der``; 5: ``CRLSet.load``;
* 6: ``OCSPPolicy.check`` with the rest as the stapled response;
* 7: ``CTPolicy.check`` with the rest as the leaf certificate.

The server certificate is made once at start-up with ``cryptography``.
"""

import datetime as dt
import sys

import atheris

with atheris.instrument_imports():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from sockit.errors import SockitError
    from sockit.proto.tls import (
        CertificateInfo,
        CRLSet,
        CTPolicy,
        OCSPPolicy,
        TLSConnection,
        TLSContext,
    )


def _self_signed() -> tuple[bytes, bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("fuzz.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, key_pem, cert.public_bytes(serialization.Encoding.DER)


CERT_PEM, KEY_PEM, CERT_DER = _self_signed()
SERVER = TLSContext.server(CERT_PEM, KEY_PEM, alpn=("h2", "http/1.1"))
OCSP = OCSPPolicy(must_staple=True)
CT = CTPolicy(strict=True, min_scts=1)
WALL = dt.datetime.now(dt.timezone.utc).timestamp()


def one_input(data: bytes) -> None:
    if not data:
        return
    target, rest = data[0] & 7, data[1:]
    try:
        if target < 4:
            conn = TLSConnection(SERVER)
            cut = (target * 97) % (len(rest) + 1)
            for piece in (rest[:cut], rest[cut:]):
                conn.receive_data(piece)
                conn.data_to_send()
            conn.receive_eof()
        elif target == 4:
            CertificateInfo.from_der(rest)
        elif target == 5:
            CRLSet().load(rest, wall_time=WALL)
        elif target == 6:
            OCSP.check(rest, CERT_DER, CERT_DER, wall_time=WALL)
        else:
            CT.check(rest, CERT_DER, wall_time=WALL)
    except SockitError:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
