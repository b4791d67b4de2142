"""DTLS configuration: :class:`DTLSContext` for clients and servers.

The same policy as TLS, adapted to datagrams: DTLS 1.2 exactly (DTLS 1.0 is
refused; OpenSSL's DTLS 1.3, where present, is not offered because the
engine frames DTLS 1.2 records), ECDHE + AEAD suites only
(``TLSDefaults.tls12_ciphers``), no renegotiation, no compression, chains at
most ``verify_depth`` deep, verification on with the host name (or IP) checked
like TLS. Certificates, keys and CAs load with TLS's loaders, so they take
paths or PEM ``bytes`` and fail here, at configuration time.

A server context checks cookies (:class:`CookieJar`) by default: its
connections and :class:`~sockit.proto.tls.dtls.DTLSListener` answer a
ClientHello without a valid cookie with a HelloVerifyRequest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from OpenSSL import SSL, crypto

from sockit.limits import DTLSDefaults, TLSDefaults
from sockit.proto.events import Role
from sockit.proto.tls._context_build import check_alpn
from sockit.proto.tls._context_load import (
    CertSource,
    Password,
    PathLikeStr,
    client_ca_names,
    load_cert_chain,
    load_trust,
)
from sockit.proto.tls._dtls_cookies import CookieJar
from sockit.proto.tls._policies import PinCheck
from sockit.proto.tls.context import ClientAuth
from sockit.proto.tls.errors import TLSUsageError

__all__ = ["DTLS1_2_VERSION", "DTLSContext"]

#: The DTLS 1.2 wire version (pyOpenSSL has no constant for it).
DTLS1_2_VERSION: Final = 0xFEFD

_OP_COOKIE_EXCHANGE: Final = 0x2000  # SSL_OP_COOKIE_EXCHANGE, should pyOpenSSL not export it

_CLIENT_VERIFY: Final = {
    ClientAuth.NONE: SSL.VERIFY_NONE,
    ClientAuth.OPTIONAL: SSL.VERIFY_PEER,
    ClientAuth.REQUIRED: SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
}


class _Hooks(Protocol):
    """What the OpenSSL callbacks call on the object in the app data."""

    def _on_verify(self, cert: crypto.X509, errnum: int, depth: int, ok: int) -> bool: ...

    def _on_alert(self, where: int, ret: int) -> None: ...

    def _make_cookie(self) -> bytes: ...

    def _check_cookie(self, cookie: bytes) -> bool: ...


def _hooks(ssl_conn: SSL.Connection) -> _Hooks | None:
    hooks: _Hooks | None = ssl_conn.get_app_data()
    return hooks


def _verify_cb(
    ssl_conn: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int
) -> bool:
    hooks = _hooks(ssl_conn)
    return bool(ok) if hooks is None else hooks._on_verify(cert, errnum, depth, ok)


def _info_cb(ssl_conn: SSL.Connection, where: int, ret: int) -> None:
    if where & SSL.SSL_CB_ALERT:
        hooks = _hooks(ssl_conn)
        if hooks is not None:
            hooks._on_alert(where, ret)


def _cookie_generate_cb(ssl_conn: SSL.Connection) -> bytes:
    hooks = _hooks(ssl_conn)
    if hooks is None:
        raise TLSUsageError("a DTLS server connection without its engine")
    return hooks._make_cookie()


def _cookie_verify_cb(ssl_conn: SSL.Connection, cookie: bytes) -> bool:
    hooks = _hooks(ssl_conn)
    return False if hooks is None else hooks._check_cookie(cookie)


def _build(
    role: Role,
    tls: TLSDefaults,
    *,
    alpn: tuple[bytes, ...],
    verify_mode: int,
    cookies: bool,
) -> SSL.Context:
    server = role is Role.SERVER
    ctx = SSL.Context(SSL.DTLS_SERVER_METHOD if server else SSL.DTLS_CLIENT_METHOD)
    ctx.set_min_proto_version(DTLS1_2_VERSION)
    ctx.set_max_proto_version(DTLS1_2_VERSION)
    options = SSL.OP_NO_RENEGOTIATION | SSL.OP_NO_COMPRESSION | SSL.OP_NO_QUERY_MTU
    if server:
        options |= SSL.OP_CIPHER_SERVER_PREFERENCE
        if cookies:
            options |= SSL.OP_COOKIE_EXCHANGE or _OP_COOKIE_EXCHANGE
    ctx.set_options(options)
    try:
        ctx.set_cipher_list(tls.tls12_ciphers.encode("ascii"))
    except (SSL.Error, UnicodeError) as exc:
        raise TLSUsageError(f"cipher configuration refused by OpenSSL: {exc}") from exc
    ctx.set_verify(verify_mode, _verify_cb)
    ctx.set_verify_depth(tls.verify_depth)
    ctx.set_info_callback(_info_cb)
    if server:
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        if cookies:
            ctx.set_cookie_generate_callback(_cookie_generate_cb)
            ctx.set_cookie_verify_callback(_cookie_verify_cb)
        if alpn:
            preference = alpn

            def select(_conn: SSL.Connection, offered: list[bytes]) -> bytes:
                for name in preference:
                    if name in offered:
                        return name
                return SSL.NO_OVERLAPPING_PROTOCOLS  # type: ignore[return-value]

            ctx.set_alpn_select_callback(select)
    elif alpn:
        ctx.set_alpn_protos(list(alpn))
    return ctx


class DTLSContext:
    """Shared DTLS configuration for one role; make it with :meth:`client` or :meth:`server`."""

    def __init__(
        self,
        role: Role,
        openssl_context: SSL.Context,
        *,
        defaults: DTLSDefaults,
        tls_defaults: TLSDefaults,
        alpn: tuple[bytes, ...] = (),
        verify: bool = True,
        check_hostname: bool = True,
        pins: PinCheck | None = None,
        cookie_jar: CookieJar | None = None,
        client_auth: ClientAuth = ClientAuth.NONE,
    ) -> None:
        self.role = role
        self.openssl_context = openssl_context
        self.defaults = defaults
        self.tls_defaults = tls_defaults
        self._alpn = alpn
        self.verify = verify
        self.check_hostname = check_hostname and verify
        self.pins = pins
        self.cookie_jar = cookie_jar
        self.client_auth = client_auth

    @classmethod
    def client(
        cls,
        *,
        cafile: str | PathLikeStr | None = None,
        capath: str | PathLikeStr | None = None,
        cadata: bytes | str | None = None,
        verify: bool = True,
        check_hostname: bool = True,
        alpn: Sequence[str] = (),
        cert: CertSource | None = None,
        key: CertSource | None = None,
        password: Password = None,
        pins: PinCheck | None = None,
        defaults: DTLSDefaults | None = None,
        tls_defaults: TLSDefaults | None = None,
    ) -> DTLSContext:
        """A client context: verifies servers against the given CAs or the system's.

        ``verify=False`` accepts any chain (pins, if given, still apply);
        ``check_hostname=False`` skips only the name check; ``cert``/``key``
        present a client certificate (mutual authentication).
        """
        tls = tls_defaults or TLSDefaults()
        wire_alpn = check_alpn(alpn, tls)
        # always VERIFY_PEER: the engine's checks decide (and see the chain for pins)
        ctx = _build(Role.CLIENT, tls, alpn=wire_alpn, verify_mode=SSL.VERIFY_PEER, cookies=False)
        if not load_trust(ctx, cafile=cafile, capath=capath, cadata=cadata) and verify:
            ctx.set_default_verify_paths()
        if cert is not None:
            load_cert_chain(ctx, cert, key, password)
        elif key is not None:
            raise TLSUsageError("a client key needs its certificate (cert=)")
        return cls(
            Role.CLIENT,
            ctx,
            defaults=defaults or DTLSDefaults(),
            tls_defaults=tls,
            alpn=wire_alpn,
            verify=verify,
            check_hostname=check_hostname,
            pins=pins,
        )

    @classmethod
    def server(
        cls,
        cert: CertSource,
        key: CertSource | None = None,
        *,
        password: Password = None,
        alpn: Sequence[str] = (),
        client_auth: ClientAuth = ClientAuth.NONE,
        client_ca: CertSource | None = None,
        pins: PinCheck | None = None,
        cookies: bool = True,
        cookie_jar: CookieJar | None = None,
        defaults: DTLSDefaults | None = None,
        tls_defaults: TLSDefaults | None = None,
    ) -> DTLSContext:
        """A server context presenting ``cert`` (a chain, leaf first) with ``key``.

        ``cookies`` (on by default) makes clients prove their address first;
        ``cookie_jar`` shares one jar (and its secrets) between contexts.
        With ``client_auth`` OPTIONAL or REQUIRED, client certificates are
        verified against ``client_ca`` (and ``pins``, if given).
        """
        if not isinstance(client_auth, ClientAuth):
            raise TLSUsageError(f"client_auth must be a ClientAuth, not {client_auth!r}")
        if client_auth is not ClientAuth.NONE and client_ca is None:
            raise TLSUsageError("client_auth needs client_ca (the CAs of client certificates)")
        if cookie_jar is not None and not cookies:
            raise TLSUsageError("cookie_jar= given with cookies=False")
        policy = defaults or DTLSDefaults()
        tls = tls_defaults or TLSDefaults()
        wire_alpn = check_alpn(alpn, tls)
        ctx = _build(
            Role.SERVER, tls, alpn=wire_alpn, verify_mode=_CLIENT_VERIFY[client_auth],
            cookies=cookies,
        )
        if client_ca is not None:
            client_ca_names(ctx, client_ca)
        load_cert_chain(ctx, cert, key, password)
        jar = (cookie_jar or CookieJar(policy)) if cookies else None
        return cls(
            Role.SERVER,
            ctx,
            defaults=policy,
            tls_defaults=tls,
            alpn=wire_alpn,
            pins=pins,
            cookie_jar=jar,
            client_auth=client_auth,
        )

    @property
    def alpn_protocols(self) -> tuple[str, ...]:
        """The ALPN names offered (client) or accepted in preference order (server)."""
        return tuple(p.decode("utf-8") for p in self._alpn)

    @property
    def cookies(self) -> bool:
        """Whether this (server) context makes clients echo a cookie first."""
        return self.cookie_jar is not None

    def __repr__(self) -> str:
        return f"<DTLSContext {self.role.value} alpn={self.alpn_protocols} cookies={self.cookies}>"
