"""A sockit-server app guarding paths with Digest (RFC 7616) and Basic (RFC 7617).

Routes:

* ``/protected`` and below: Digest. ``/protected`` offers every algorithm in
  ``algorithms`` (one challenge each, most preferred first); the sub-paths
  ``/protected/md5``, ``/protected/sha256``, ``/protected/md5-sess``,
  ``/protected/sha256-sess`` and ``/protected/sha512-256`` offer just that one.
  qop is ``auth``. A nonce goes stale after ``nonce_max_uses`` accepted
  requests or ``nonce_ttl`` seconds of ``clock``; a correct answer with a
  stale nonce gets ``401`` with ``stale=true``, a wrong one a plain ``401``.
  A replayed (not increasing) ``nc`` is refused. With ``stale_first`` the first
  right answer to a nonce from a fresh (not stale) challenge is called stale,
  to exercise a client's stale handling without waiting.
* ``/basic`` and below: Basic, ``charset="UTF-8"``.
* ``/open``: no authentication.

``200`` answers say ``hello <user>``. :meth:`DigestApp.check` does the work
without a server, so flow tests can drive an auth object against it
directly; :attr:`DigestApp.stats` counts what happened.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sockit.errors import SockitError
from sockit.proto.http import Headers
from sockit.proto.http.auth_challenge import (
    Challenge,
    DigestAlgorithm,
    digest_ha1,
    digest_response,
    digest_userhash,
    parse_credentials,
)
from sockit.proto.http.percent import unquote_to_bytes
from sockit.server import Response, ServerRequest

__all__ = ["DigestApp"]

_PATH_ALGORITHMS = {
    "md5": DigestAlgorithm.MD5,
    "sha256": DigestAlgorithm.SHA_256,
    "md5-sess": DigestAlgorithm.MD5_SESS,
    "sha256-sess": DigestAlgorithm.SHA_256_SESS,
    "sha512-256": DigestAlgorithm.SHA_512_256,
}
_TEXT = ("Content-Type", "text/plain")
_MAX_NONCES = 1000

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class _Nonce:
    issued: float
    uses: int = 0
    last_nc: int = 0
    doomed: bool = False


class DigestApp:
    """The app (callable per request) and its nonce bookkeeping; thread-safe."""

    def __init__(
        self,
        users: Mapping[str, str] | None = None,
        *,
        realm: str = "digest@sockit.test",
        basic_realm: str = "basic@sockit.test",
        algorithms: Sequence[DigestAlgorithm] = (DigestAlgorithm.SHA_256, DigestAlgorithm.MD5),
        nonce_max_uses: int = 100,
        nonce_ttl: float = 300.0,
        userhash: bool = False,
        stale_first: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = dict(users or {"user": "pass"})
        self.realm = realm
        self.basic_realm = basic_realm
        self.algorithms = tuple(algorithms)
        self.nonce_max_uses = nonce_max_uses
        self.nonce_ttl = nonce_ttl
        self.userhash = userhash
        self.stale_first = stale_first
        self.clock = clock
        self.opaque = secrets.token_hex(8)
        self.stats: Counter[str] = Counter()
        self._nonces: dict[str, _Nonce] = {}
        self._lock = threading.Lock()

    # -- the server app ----------------------------------------------------------

    def __call__(self, request: ServerRequest) -> Response:
        """Answer one request from sockit's server."""
        status, headers, body = self.check(request.method, request.target, request.headers)
        return Response(status, [_TEXT, *headers], body)

    def check(self, method: str, target: str, headers: Headers) -> Answer:
        """``(status, headers, body)`` for a request, without any I/O."""
        path = target.partition("?")[0]
        if path == "/open":
            return 200, [], b"open\n"
        if path == "/basic" or path.startswith("/basic/"):
            return self._basic(headers)
        if path == "/protected" or path.startswith("/protected/"):
            last = path.rsplit("/", 1)[1]
            algs = (_PATH_ALGORITHMS[last],) if last in _PATH_ALGORITHMS else self.algorithms
            return self._digest(method, target, headers, algs)
        return 404, [], b"not found\n"

    # -- Basic ---------------------------------------------------------------------

    def _basic(self, headers: Headers) -> Answer:
        user = self._basic_user(headers.get("authorization"))
        if user is None:
            self.stats["basic_challenges"] += 1
            value = f'Basic realm="{self.basic_realm}", charset="UTF-8"'
            return 401, [("WWW-Authenticate", value)], b"unauthorized\n"
        self.stats["basic_ok"] += 1
        return 200, [], f"hello {user}\n".encode()

    def _basic_user(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            creds = parse_credentials(value)
            if creds.scheme != "basic" or creds.token68 is None:
                return None
            decoded = base64.b64decode(creds.token68, validate=True).decode("utf-8")
        except (SockitError, binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        expected = self.users.get(user)
        if not sep or expected is None:
            return None
        if not hmac.compare_digest(password.encode(), expected.encode()):
            return None
        return user

    # -- Digest --------------------------------------------------------------------

    def _new_nonce(self, *, doomed: bool) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            self._nonces[nonce] = _Nonce(self.clock(), doomed=doomed)
            while len(self._nonces) > _MAX_NONCES:
                del self._nonces[next(iter(self._nonces))]
        return nonce

    def _challenge(self, algs: Sequence[DigestAlgorithm], *, stale: bool) -> Answer:
        nonce = self._new_nonce(doomed=self.stale_first and not stale)
        self.stats["stale" if stale else "digest_challenges"] += 1
        fields = []
        for alg in algs:
            parts = [
                f'realm="{self.realm}"',
                'qop="auth"',
                f"algorithm={alg.value}",
                f'nonce="{nonce}"',
                f'opaque="{self.opaque}"',
                'charset="UTF-8"',
            ]
            if self.userhash:
                parts.append("userhash=true")
            if stale:
                parts.append("stale=true")
            fields.append(("WWW-Authenticate", "Digest " + ", ".join(parts)))
        return 401, fields, b"unauthorized\n"

    def _find_user(self, creds: Challenge, alg: DigestAlgorithm) -> str | None:
        name = creds.param("username")
        if name is None:
            ext = creds.param("username*")
            if ext is None or not ext.lower().startswith("utf-8''"):
                return None
            try:
                name = unquote_to_bytes(ext[7:]).decode("utf-8")
            except (SockitError, UnicodeDecodeError):
                return None
        if (creds.param("userhash") or "").lower() == "true":
            for user in self.users:
                if digest_userhash(alg, user.encode(), self.realm.encode()) == name:
                    return user
            return None
        if name not in self.users:
            try:  # obs-text: the UTF-8 octets arrived as latin-1 text
                name = name.encode("latin-1").decode("utf-8")
            except UnicodeError:
                return None
        return name if name in self.users else None

    def _digest(
        self, method: str, target: str, headers: Headers, algs: Sequence[DigestAlgorithm]
    ) -> Answer:
        value = headers.get("authorization")
        if value is None:
            return self._challenge(algs, stale=False)
        verdict = self._verify(method, target, value, algs)
        if verdict == "stale":
            return self._challenge(algs, stale=True)
        if verdict is None:
            self.stats["digest_failures"] += 1
            return self._challenge(algs, stale=False)
        self.stats["digest_ok"] += 1
        return 200, [], f"hello {verdict}\n".encode()

    def _verify(
        self, method: str, target: str, value: str, algs: Sequence[DigestAlgorithm]
    ) -> str | None:
        """The user name, ``"stale"`` (right answer, spent nonce) or ``None`` (wrong)."""
        try:
            creds = parse_credentials(value)
            alg = DigestAlgorithm.parse(creds.param("algorithm"))
        except SockitError:
            return None
        nonce, nc_text = creds.param("nonce"), creds.param("nc") or ""
        cnonce, answer = creds.param("cnonce") or "", creds.param("response") or ""
        if (
            creds.scheme != "digest"
            or alg not in algs
            or creds.param("realm") != self.realm
            or creds.param("uri") != target
            or creds.param("qop") != "auth"
            or creds.param("opaque") != self.opaque
            or nonce is None
            or len(nc_text) != 8
        ):
            return None
        user = self._find_user(creds, alg)
        if user is None:
            return None
        try:
            nc = int(nc_text, 16)
            ha1 = digest_ha1(
                alg, user.encode(), self.realm.encode(), self.users[user].encode(), nonce, cnonce
            )
            expected = digest_response(
                alg, ha1, nonce=nonce, method=method, uri=target, qop="auth",
                nc=nc_text, cnonce=cnonce,
            )
        except (SockitError, ValueError):
            return None
        if not hmac.compare_digest(expected, answer):
            return None
        with self._lock:
            state = self._nonces.get(nonce)
            if state is None or state.doomed or (
                state.uses >= self.nonce_max_uses or self.clock() - state.issued > self.nonce_ttl
            ):
                return "stale"
            if nc <= state.last_nc:
                self.stats["replays"] += 1
                return None
            state.uses += 1
            state.last_nc = nc
        self.stats[f"ok {alg.value}"] += 1
        return user
