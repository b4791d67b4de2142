"""Loading certificates, keys and trust anchors into an OpenSSL context.

Every argument is either a filesystem path (``str`` or an object with
``__fspath__``) that OpenSSL reads itself, or PEM contents as ``bytes``
(a certificate argument may hold a whole chain, leaf first). Mistakes (a
missing file, a key that does not match, a wrong password) raise
:class:`~sockit.proto.tls.errors.TLSUsageError` at configuration time,
never later during a handshake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeAlias, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto

from sockit.proto.tls.errors import TLSUsageError

__all__ = [
    "CertSource",
    "Password",
    "PathLikeStr",
    "client_ca_names",
    "load_cert_chain",
    "load_trust",
    "pem_certificates",
]


@runtime_checkable
class PathLikeStr(Protocol):
    """An ``os.PathLike[str]`` (``pathlib.Path`` and friends)."""

    def __fspath__(self) -> str:
        """The path as a string."""
        ...


#: A certificate/key/CA argument: a path, or PEM contents as bytes.
CertSource: TypeAlias = "str | PathLikeStr | bytes"
#: A private key password, or a function returning it.
Password: TypeAlias = "str | bytes | Callable[[], str | bytes] | None"  # noqa: S105


def _path(source: str | PathLikeStr) -> str:
    return source if isinstance(source, str) else source.__fspath__()


def _password_bytes(password: Password) -> bytes | None:
    if password is None:
        return None
    value = password() if callable(password) else password
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def _describe(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], list):
        parts = [str(item[-1]) for item in args[0] if isinstance(item, tuple) and item]
        if parts:
            return "; ".join(parts)
    return str(exc) or type(exc).__name__


def pem_certificates(data: bytes, what: str) -> list[x509.Certificate]:
    """Every certificate in PEM ``data`` (at least one, else TLSUsageError)."""
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TLSUsageError(f"{what}: no valid PEM certificate ({exc})") from exc
    return certs


def load_cert_chain(
    ctx: SSL.Context, cert: CertSource, key: CertSource | None, password: Password
) -> None:
    """Install our certificate chain and private key (key defaults to the cert's source)."""
    secret = _password_bytes(password)
    try:
        if isinstance(cert, bytes):
            certs = pem_certificates(cert, "certificate")
            ctx.use_certificate(certs[0])
            for extra in certs[1:]:
                ctx.add_extra_chain_cert(extra)
        else:
            ctx.use_certificate_chain_file(_path(cert))
        key_source = cert if key is None else key
        if isinstance(key_source, bytes) or secret is not None:
            if not isinstance(key_source, bytes):
                # an encrypted key: read it here (configuration time, not I/O
                # on a connection) and decrypt it with cryptography
                with open(_path(key_source), "rb") as fh:
                    key_source = fh.read()
            private = serialization.load_pem_private_key(key_source, password=secret)
            ctx.use_privatekey(private)  # type: ignore[arg-type]
        else:
            ctx.use_privatekey_file(_path(key_source))
        ctx.check_privatekey()
    except TLSUsageError:
        raise
    except (SSL.Error, ValueError, TypeError, OSError) as exc:
        raise TLSUsageError(f"cannot load the certificate or key: {_describe(exc)}") from exc


def load_trust(
    ctx: SSL.Context,
    *,
    cafile: str | PathLikeStr | None,
    capath: str | PathLikeStr | None,
    cadata: bytes | str | None,
) -> bool:
    """Install trust anchors; ``False`` when none was given (use system defaults)."""
    if cafile is None and capath is None and cadata is None:
        return False
    try:
        if cafile is not None or capath is not None:
            ctx.load_verify_locations(
                None if cafile is None else _path(cafile),
                None if capath is None else _path(capath),
            )
        if cadata is not None:
            data = cadata.encode("ascii") if isinstance(cadata, str) else cadata
            store = ctx.get_cert_store()
            assert store is not None
            for cert in pem_certificates(data, "cadata"):
                store.add_cert(crypto.X509.from_cryptography(cert))
    except TLSUsageError:
        raise
    except (SSL.Error, ValueError, TypeError, OSError) as exc:
        raise TLSUsageError(f"cannot load the CA certificates: {_describe(exc)}") from exc
    return True


def client_ca_names(ctx: SSL.Context, source: CertSource) -> None:
    """Trust ``source`` for client certificates and advertise its subject names."""
    if isinstance(source, bytes):
        load_trust(ctx, cafile=None, capath=None, cadata=source)
        for cert in pem_certificates(source, "client_ca"):
            ctx.add_client_ca(cert)
        return
    load_trust(ctx, cafile=source, capath=None, cadata=None)
    try:
        ctx.load_client_ca(_path(source).encode())
    except (SSL.Error, ValueError, TypeError) as exc:
        raise TLSUsageError(f"cannot load the client CA names: {_describe(exc)}") from exc
