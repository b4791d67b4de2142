"""The two OpenSSL calls pyOpenSSL does not wrap, in one place.

``SSL_session_reused`` (did the handshake resume?) and
``X509_verify_cert_error_string`` (the text of a verification code) come
from the cffi bindings pyOpenSSL itself uses. Should a release drop them,
both degrade quietly (``False``, a generic text) instead of breaking TLS.
"""

from __future__ import annotations

from OpenSSL import SSL

try:
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
except ImportError:  # pragma: no cover - depends on the pyOpenSSL release
    _ffi = _lib = None

__all__ = ["session_reused", "verify_error_text"]


def session_reused(conn: SSL.Connection) -> bool:
    """Whether ``conn``'s handshake resumed a session."""
    try:
        return bool(_lib.SSL_session_reused(conn._ssl))
    except AttributeError:  # pragma: no cover
        return False


def verify_error_text(code: int) -> str:
    """OpenSSL's text for X.509 verification code ``code``."""
    try:
        return str(_ffi.string(_lib.X509_verify_cert_error_string(code)).decode("ascii", "replace"))
    except AttributeError:  # pragma: no cover
        return f"certificate verify error {code}"
