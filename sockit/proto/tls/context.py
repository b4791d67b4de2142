"""TLS configuration: :class:`TLSContext` for clients and servers.

A context is made once and shared by many connections. Its two constructors
are safe by default and every knob is a keyword::

    client = TLSContext.client(alpn=["h2", "http/1.1"])          # system CAs
    server = TLSContext.server("cert.pem", "key.pem", alpn=["http/1.1"])
    server.add_sni_certificate("*.example.org", "other.pem", "other-key.pem")

Policy (``docs/tls.md`` has the whole list): TLS 1.3 only unless
``TLSDefaults(allow_tls12=True)`` (then TLS 1.2 with ECDHE + AEAD suites
only); no renegotiation, no compression; chains at most ``verify_depth``
deep; a client verifies the server and checks its host name (or IP address)
with ``service_identity``. Certificate, key and CA arguments are paths or PEM
``bytes``. Misconfiguration raises :class:`TLSUsageError` right here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence

from OpenSSL import SSL

from sockit.limits import TLSDefaults
from sockit.proto.events import Role
from sockit.proto.tls._context_build import KeylogSink, build_openssl_context, check_alpn
from sockit.proto.tls._context_load import (
    CertSource,
    Password,
    PathLikeStr,
    client_ca_names,
    load_cert_chain,
    load_trust,
)
from sockit.proto.tls._context_sessions import SessionStore, TLSSession
from sockit.proto.tls._policies import CRLCheck, CTCheck, OCSPCheck, PinCheck
from sockit.proto.tls.certinfo import CertificateInfo
from sockit.proto.tls.errors import TLSUsageError

__all__ = ["ClientAuth", "OCSPResponder", "TLSContext", "TLSSession"]

_DEFAULTS = TLSDefaults()
_INFO_CACHE_SIZE = 256

#: What a server staples: fixed DER bytes, or a function returning the current response.
OCSPResponder = bytes | Callable[[], bytes | None]


class ClientAuth(enum.Enum):
    """Whether a server asks clients for a certificate (mutual TLS)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


_CLIENT_VERIFY = {
    ClientAuth.NONE: SSL.VERIFY_NONE,
    ClientAuth.OPTIONAL: SSL.VERIFY_PEER,
    ClientAuth.REQUIRED: SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT,
}


def _sni_key(hostname: str, defaults: TLSDefaults) -> str:
    name = hostname.strip().rstrip(".").lower()
    try:
        raw = name.encode("idna") if not name.startswith("*.") else b"*." + name[2:].encode("idna")
    except UnicodeError as exc:
        raise TLSUsageError(f"bad SNI host name {hostname!r}: {exc}") from exc
    if not raw or len(raw) > defaults.max_sni_size or b"*" in raw[1:]:
        raise TLSUsageError(f"bad SNI host name {hostname!r}")
    return raw.decode("ascii")


class TLSContext:
    """Shared TLS configuration for one role; make it with :meth:`client` or :meth:`server`.

    Connections (:class:`~sockit.proto.tls.TLSConnection`) read it and never
    change it, except the client's session store, which they fill.
    """

    def __init__(
        self,
        role: Role,
        openssl_context: SSL.Context,
        *,
        defaults: TLSDefaults,
        alpn: tuple[bytes, ...] = (),
        verify: bool = True,
        check_hostname: bool = True,
        pins: PinCheck | None = None,
        crl: CRLCheck | None = None,
        ocsp: OCSPCheck | None = None,
        ct: CTCheck | None = None,
        keylog: KeylogSink | None = None,
        session_cache: SessionStore | None = None,
        client_auth: ClientAuth = ClientAuth.NONE,
    ) -> None:
        self.role = role
        self.defaults = defaults
        self.openssl_context = openssl_context
        self._alpn = alpn
        self.verify = verify
        self.check_hostname = check_hostname and verify
        self.pins = pins
        self.crl = crl
        self.ocsp = ocsp
        self.ct = ct
        self._keylog = keylog if keylog is not None else KeylogSink()
        self.session_cache = session_cache
        self.client_auth = client_auth
        self._sni: dict[str, SSL.Context] = {}
        # per-context memo of facts that only depend on certificate bytes
        self._name_cache: set[tuple[bytes, str]] = set()
        self._info_cache: dict[bytes, CertificateInfo] = {}
        self._build_sni: Callable[[], SSL.Context] | None = None

    # -- constructors --------------------------------------------------------

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
        crl: CRLCheck | None = None,
        ocsp: OCSPCheck | None = None,
        ct: CTCheck | None = None,
        keylog: Callable[[bytes], None] | None = None,
        session_cache: bool = True,
        defaults: TLSDefaults | None = None,
    ) -> TLSContext:
        """A client context: verifies servers against the given CAs or the system's.

        ``verify=False`` accepts any chain (pins, if given, still apply);
        ``check_hostname=False`` skips only the name check. ``cert``/``key``
        present a client certificate for mutual TLS.
        """
        policy = defaults or _DEFAULTS
        wire_alpn = check_alpn(alpn, policy)
        sink = KeylogSink(keylog)
        ctx = build_openssl_context(
            Role.CLIENT, policy, alpn=wire_alpn, keylog=sink, ocsp_client=ocsp is not None
        )
        if not load_trust(ctx, cafile=cafile, capath=capath, cadata=cadata) and verify:
            ctx.set_default_verify_paths()
        if cert is not None:
            load_cert_chain(ctx, cert, key, password)
        elif key is not None:
            raise TLSUsageError("a client key needs its certificate (cert=)")
        store = (
            SessionStore(policy.session_cache_size, policy.session_timeout)
            if session_cache
            else None
        )
        return cls(
            Role.CLIENT,
            ctx,
            defaults=policy,
            alpn=wire_alpn,
            verify=verify,
            check_hostname=check_hostname,
            pins=pins,
            crl=crl,
            ocsp=ocsp,
            ct=ct,
            keylog=sink,
            session_cache=store,
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
        crl: CRLCheck | None = None,
        pins: PinCheck | None = None,
        ocsp_response: OCSPResponder | None = None,
        session_tickets: bool = True,
        session_id_context: bytes = b"sockit",
        keylog: Callable[[bytes], None] | None = None,
        defaults: TLSDefaults | None = None,
    ) -> TLSContext:
        """A server context presenting ``cert`` (a chain, leaf first) with ``key``.

        ``key`` defaults to the cert's source (one PEM with both). With
        ``client_auth`` OPTIONAL or REQUIRED, client certificates are
        verified against ``client_ca`` (and ``crl``/``pins``, if given).
        ``ocsp_response`` is stapled: fixed DER bytes or a function returning
        the current response (``None``: staple nothing this time).
        """
        policy = defaults or _DEFAULTS
        if not isinstance(client_auth, ClientAuth):
            raise TLSUsageError(f"client_auth must be a ClientAuth, not {client_auth!r}")
        if client_auth is not ClientAuth.NONE and client_ca is None:
            raise TLSUsageError("client_auth needs client_ca (the CAs of client certificates)")
        wire_alpn = check_alpn(alpn, policy)
        sink = KeylogSink(keylog)

        def build() -> SSL.Context:
            ctx = build_openssl_context(
                Role.SERVER,
                policy,
                alpn=wire_alpn,
                verify_mode=_CLIENT_VERIFY[client_auth],
                session_tickets=session_tickets,
                session_id_context=session_id_context,
                keylog=sink,
            )
            if client_ca is not None:
                client_ca_names(ctx, client_ca)
            if ocsp_response is not None:
                ctx.set_ocsp_server_callback(_stapler(ocsp_response, policy))
            return ctx

        main = build()
        load_cert_chain(main, cert, key, password)
        context = cls(
            Role.SERVER,
            main,
            defaults=policy,
            alpn=wire_alpn,
            pins=pins,
            crl=crl,
            keylog=sink,
            client_auth=client_auth,
        )
        context._build_sni = build
        main.set_tlsext_servername_callback(context._on_servername)
        return context

    # -- SNI -----------------------------------------------------------------

    def add_sni_certificate(
        self, hostname: str, cert: CertSource, key: CertSource | None = None, *,
        password: Password = None,
    ) -> None:
        """Present ``cert`` to clients asking for ``hostname`` (``*.example.com`` allowed).

        Exact names win over wildcards; a wildcard covers one label; other
        names get the default certificate. At most ``max_sni_certificates``.
        """
        if self.role is not Role.SERVER or self._build_sni is None:
            raise TLSUsageError("SNI certificates are for server contexts")
        name = _sni_key(hostname, self.defaults)
        if name not in self._sni and len(self._sni) >= self.defaults.max_sni_certificates:
            raise TLSUsageError(
                f"more than max_sni_certificates={self.defaults.max_sni_certificates}"
            )
        ctx = self._build_sni()
        load_cert_chain(ctx, cert, key, password)
        self._sni[name] = ctx

    @property
    def sni_hostnames(self) -> tuple[str, ...]:
        """The names with their own certificate (normalised, wildcards as given)."""
        return tuple(self._sni)

    def context_for(self, server_name: str | None) -> SSL.Context:
        """The OpenSSL context whose certificate answers ``server_name``."""
        if server_name and self._sni:
            name = server_name.rstrip(".").lower()
            found = self._sni.get(name)
            if found is None and "." in name:
                found = self._sni.get("*." + name.split(".", 1)[1])
            if found is not None:
                return found
        return self.openssl_context

    def _on_servername(self, ssl_conn: SSL.Connection) -> None:
        raw = ssl_conn.get_servername()
        name = raw.decode("ascii", "replace") if raw else None
        hooks = ssl_conn.get_app_data()
        if hooks is not None:
            hooks._on_servername(ssl_conn)
        chosen = self.context_for(name)
        if chosen is not self.openssl_context:
            ssl_conn.set_context(chosen)

    # -- properties ----------------------------------------------------------

    @property
    def alpn_protocols(self) -> tuple[str, ...]:
        """The ALPN names offered (client) or accepted in preference order (server)."""
        return tuple(p.decode("utf-8") for p in self._alpn)

    @property
    def allow_tls12(self) -> bool:
        """Whether TLS 1.2 is accepted besides TLS 1.3."""
        return self.defaults.allow_tls12

    @property
    def keylog(self) -> Callable[[bytes], None] | None:
        """Where NSS key-log lines go (``None``: nowhere)."""
        return self._keylog.target

    def set_keylog(self, keylog: Callable[[bytes], None] | None) -> None:
        """Send key-log lines to ``keylog`` (debugging with Wireshark); ``None`` stops it."""
        self._keylog.target = keylog

    @property
    def needs_wall_time(self) -> bool:
        """Whether connections need ``wall_time`` (CRL, OCSP or CT checks are on)."""
        return self.crl is not None or self.ocsp is not None or self.ct is not None

    def session_for(self, origin: str, *, now: float | None = None) -> TLSSession | None:
        """The stored session for ``origin`` (client contexts with a session cache)."""
        if self.session_cache is None:
            return None
        return self.session_cache.get(origin, now=now)

    def _certificate_info(self, der: bytes) -> CertificateInfo:
        """The parsed leaf, remembered: the same server sends the same certificate."""
        info = self._info_cache.get(der)
        if info is None:
            info = CertificateInfo.from_der(der)
            if len(self._info_cache) >= _INFO_CACHE_SIZE:
                self._info_cache.clear()
            self._info_cache[der] = info
        return info

    def __repr__(self) -> str:
        return f"<TLSContext {self.role.value} alpn={self.alpn_protocols} tls12={self.allow_tls12}>"


def _stapler(
    response: OCSPResponder, defaults: TLSDefaults
) -> Callable[[SSL.Connection, object], bytes]:
    """The OpenSSL OCSP server callback stapling ``response`` (bounded in size)."""

    def staple(_conn: SSL.Connection, _data: object) -> bytes:
        value = response() if callable(response) else response
        if not value or len(value) > defaults.max_ocsp_response_size:
            return b""
        return bytes(value)

    return staple
