"""Building an ``OpenSSL.SSL.Context`` with sockit's TLS policy.

One function sets everything that makes the defaults safe (versions, suites,
no renegotiation, no compression, chain depth) and installs the callbacks the
engine listens to. The callbacks are per OpenSSL context but the state they
feed is per connection: each finds its :class:`TLSConnection` through the
OpenSSL connection's app data (``_Hooks`` below), so one context serves any
number of connections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from OpenSSL import SSL, crypto

from sockit.limits import TLSDefaults
from sockit.proto.events import Role
from sockit.proto.tls.errors import TLSUsageError

try:
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
except ImportError:  # pragma: no cover - depends on the pyOpenSSL release
    _ffi = _lib = None

__all__ = ["ALERT_CALLBACK_MASK", "Hooks", "KeylogSink", "build_openssl_context", "check_alpn"]

ALERT_CALLBACK_MASK = SSL.SSL_CB_ALERT
_MAX_SID_CTX = 32  # SSL_MAX_SID_CTX_LENGTH


class Hooks(Protocol):
    """What the callbacks call on the connection found in the app data."""

    def _on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool: ...

    def _on_alert(self, where: int, ret: int) -> None: ...

    def _on_servername(self, ssl_conn: SSL.Connection) -> None: ...

    def _on_ocsp_staple(self, staple: bytes) -> bool: ...


def _hooks(ssl_conn: SSL.Connection) -> Hooks | None:
    hooks: Hooks | None = ssl_conn.get_app_data()
    return hooks


def _verify_cb(
    ssl_conn: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int
) -> bool:
    hooks = _hooks(ssl_conn)
    return bool(ok) if hooks is None else hooks._on_verify(cert, errnum, depth, ok)


def _info_cb(ssl_conn: SSL.Connection, where: int, ret: int) -> None:
    if where & ALERT_CALLBACK_MASK:
        hooks = _hooks(ssl_conn)
        if hooks is not None:
            hooks._on_alert(where, ret)


def _raw_info_cb(ssl: object, where: int, ret: int) -> None:
    # OpenSSL calls the info callback ~25 times per handshake, alerts only
    # at the end of a failing one: the filter runs before any Python lookup
    if where & ALERT_CALLBACK_MASK:
        conn = SSL.Connection._reverse_mapping.get(ssl)
        if conn is not None:
            _info_cb(conn, where, ret)


_RAW_INFO_CB = None
if (
    _ffi is not None
    and hasattr(_lib, "SSL_CTX_set_info_callback")
    and isinstance(getattr(SSL.Connection, "_reverse_mapping", None), Mapping)
):
    _RAW_INFO_CB = _ffi.callback("void (*)(const SSL *, int, int)", _raw_info_cb)


def _set_info_callback(ctx: SSL.Context) -> None:
    """Install the alert listener, straight through cffi when pyOpenSSL allows.

    pyOpenSSL's own wrapper looks the connection up in a weak dictionary on
    every call; the raw callback (one for all contexts, kept alive by this
    module) does so only for alerts.
    """
    if _RAW_INFO_CB is None:
        ctx.set_info_callback(_info_cb)
    else:
        _lib.SSL_CTX_set_info_callback(ctx._context, _RAW_INFO_CB)


def _ocsp_client_cb(ssl_conn: SSL.Connection, staple: bytes, _data: object) -> bool:
    hooks = _hooks(ssl_conn)
    return True if hooks is None else hooks._on_ocsp_staple(staple)


class KeylogSink:
    """Forwards NSS key-log lines to a target that may change after first use.

    pyOpenSSL freezes a context once it made a connection, so the callback is
    installed up front and the target (``None``: drop the lines) is swapped here.
    While there is no target the callback is switched off in OpenSSL itself
    (through cffi, when pyOpenSSL allows): otherwise every handshake would
    call into Python once per secret just to drop the line.
    """

    __slots__ = ("_contexts", "_target")

    def __init__(self, target: Callable[[bytes], None] | None = None) -> None:
        self._target = target
        self._contexts: list[SSL.Context] = []

    @property
    def target(self) -> Callable[[bytes], None] | None:
        """Where the lines go now (``None``: nowhere)."""
        return self._target

    @target.setter
    def target(self, target: Callable[[bytes], None] | None) -> None:
        self._target = target
        for ctx in self._contexts:
            self._switch(ctx)

    def attach(self, ctx: SSL.Context) -> None:
        """Install this sink on ``ctx`` (before its first connection)."""
        ctx.set_keylog_callback(self)
        self._contexts.append(ctx)
        self._switch(ctx)

    def _switch(self, ctx: SSL.Context) -> None:
        callback = getattr(ctx, "_keylog_callback", None)
        if _lib is None or callback is None or not hasattr(_lib, "SSL_CTX_set_keylog_callback"):
            return  # the Python callback stays on and drops lines itself
        on = self._target is not None
        _lib.SSL_CTX_set_keylog_callback(ctx._context, callback if on else _ffi.NULL)

    def __call__(self, _conn: SSL.Connection, line: bytes) -> None:
        target = self.target
        if target is not None:
            target(line)


def check_alpn(protocols: Sequence[str], defaults: TLSDefaults) -> tuple[bytes, ...]:
    """Validate an ALPN list against the bounds; return the wire names."""
    if isinstance(protocols, str):
        raise TLSUsageError("alpn must be a sequence of protocol names, not a string")
    names = tuple(protocols)
    if len(names) > defaults.max_alpn_protocols:
        raise TLSUsageError(
            f"{len(names)} ALPN protocols exceed max_alpn_protocols={defaults.max_alpn_protocols}"
        )
    out: list[bytes] = []
    for name in names:
        if not isinstance(name, str):
            raise TLSUsageError(f"ALPN protocol names are str, not {type(name).__name__}")
        raw = name.encode("utf-8")
        if not 1 <= len(raw) <= defaults.max_alpn_protocol_size:
            raise TLSUsageError(
                f"ALPN protocol {name!r} must be 1..{defaults.max_alpn_protocol_size} bytes"
            )
        out.append(raw)
    return tuple(out)


def build_openssl_context(
    role: Role,
    defaults: TLSDefaults,
    *,
    alpn: tuple[bytes, ...] = (),
    verify_mode: int = SSL.VERIFY_PEER,
    session_tickets: bool = True,
    session_id_context: bytes = b"sockit",
    keylog: KeylogSink | None = None,
    ocsp_client: bool = False,
) -> SSL.Context:
    """A fresh OpenSSL context for ``role`` with the policy of ``defaults``."""
    server = role is Role.SERVER
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD if server else SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION if defaults.allow_tls12 else SSL.TLS1_3_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
    options = SSL.OP_NO_RENEGOTIATION | SSL.OP_NO_COMPRESSION
    if server:
        options |= SSL.OP_CIPHER_SERVER_PREFERENCE
        if not session_tickets:
            options |= SSL.OP_NO_TICKET
    ctx.set_options(options)
    try:
        ctx.set_tls13_ciphersuites(defaults.ciphersuites.encode("ascii"))
        ctx.set_cipher_list(defaults.tls12_ciphers.encode("ascii"))
    except (SSL.Error, UnicodeError) as exc:
        raise TLSUsageError(f"cipher configuration refused by OpenSSL: {exc}") from exc
    ctx.set_verify(verify_mode, _verify_cb)
    ctx.set_verify_depth(defaults.verify_depth)
    _set_info_callback(ctx)
    if keylog is not None:
        keylog.attach(ctx)
    if server:
        if len(session_id_context) > _MAX_SID_CTX or not session_id_context:
            raise TLSUsageError(f"session_id_context must be 1..{_MAX_SID_CTX} bytes")
        ctx.set_session_id(session_id_context)
        ctx.set_timeout(max(1, int(defaults.session_timeout)))
        mode = SSL.SESS_CACHE_SERVER if defaults.session_cache_size > 0 else SSL.SESS_CACHE_OFF
        ctx.set_session_cache_mode(mode)
        if alpn:
            preference = alpn

            def select(_conn: SSL.Connection, offered: list[bytes]) -> bytes:
                for name in preference:
                    if name in offered:
                        return name
                return SSL.NO_OVERLAPPING_PROTOCOLS  # type: ignore[return-value]

            ctx.set_alpn_select_callback(select)
    else:
        ctx.set_session_cache_mode(SSL.SESS_CACHE_CLIENT)
        if alpn:
            ctx.set_alpn_protos(list(alpn))
        if ocsp_client:
            ctx.set_ocsp_client_callback(_ocsp_client_cb)
    return ctx
