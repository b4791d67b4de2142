"""Credentials for the HTTP client: Basic (RFC 7617), Bearer (RFC 6750), Digest (RFC 7616).

An auth object answers two questions for the client's request loop
(:mod:`sockit.client.flow`): which headers go on the first attempt
(:meth:`Auth.authorize`) and, after a ``401`` (``407`` for a proxy), which
headers go on one more attempt (:meth:`Auth.on_challenge`) — or ``None``
to stop and hand the ``401`` to the caller. How many more attempts are
allowed is the caller's decision (``ClientLimits.max_auth_retries``).

Basic and Bearer send their header at once. Digest cannot: it needs the
server's nonce, so the first request goes out bare, the ``401`` carries the
challenge, and the second carries the answer. The challenge is then kept
per protection space (origin and realm, narrowed by the challenge's
``domain`` list), so later requests to the same space answer pre-emptively
with the next nonce count.

Passwords are kept as UTF-8 in a ``bytearray`` and hashed or encoded from
there; :meth:`clear` overwrites it with zeros. That is as far as Python
allows: the ``str`` you passed in, the base64 token of a Basic header and
the header text handed to the connection are immutable objects the
interpreter frees (without wiping) whenever it likes.
"""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from sockit.errors import LocalProtocolError, SockitError
from sockit.proto.http import URL, Headers
from sockit.proto.http.auth_challenge import (
    MAX_NC,
    Challenge,
    DigestChallenge,
    challenges_from_headers,
    choose_qop,
    digest_authorization,
    offered_schemes,
)

__all__ = ["Auth", "BasicAuth", "BearerAuth", "DigestAuth", "auth_from_userinfo"]

_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_CTL_RE = re.compile(r"[\x00-\x1f\x7f]")
#: Protection spaces a DigestAuth remembers; the oldest is forgotten beyond this.
_MAX_SPACES = 64

_Origin = tuple[str | None, str | None, int | None]
_S = TypeVar("_S", bound="_Secret")


@runtime_checkable
class Auth(Protocol):
    """What the client asks of an authentication scheme (see the module docstring)."""

    proxy: bool

    def authorize(
        self, method: str, url: URL, body_hash: bytes | None = None
    ) -> list[tuple[str, str]]:
        """Headers for the first attempt of a request (possibly none)."""
        ...

    def on_challenge(
        self, method: str, url: URL, status: int, headers: Headers
    ) -> list[tuple[str, str]] | None:
        """Headers for one more attempt after a 401/407, or ``None`` to give up."""
        ...


def _header_names(proxy: bool) -> tuple[str, int]:
    return ("Proxy-Authorization", 407) if proxy else ("Authorization", 401)


def _origin(url: URL) -> _Origin:
    return (url.scheme.lower() if url.scheme else None, url.host, url.effective_port)


class _Secret:
    """A user name and a password held in a wipeable buffer."""

    def __init__(self, user: str, password: str | bytes, *, proxy: bool) -> None:
        if not isinstance(user, str) or _CTL_RE.search(user):
            raise LocalProtocolError("the user name must be a str without control characters")
        self.user = user
        self.proxy = proxy
        raw = password.encode("utf-8") if isinstance(password, str) else bytes(password)
        self._password = bytearray(raw)
        self._cleared = False

    def clear(self) -> None:
        """Overwrite the stored password with zeros; later requests carry no credentials.

        Copies Python made elsewhere (the ``str`` passed in, encoded header
        values) are not reachable from here: see the module docstring.
        """
        self._password[:] = bytes(len(self._password))
        self._password = bytearray()
        self._cleared = True

    @property
    def cleared(self) -> bool:
        """Whether :meth:`clear` has run (the object then authorizes nothing)."""
        return self._cleared

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self.user!r}, password=<hidden>, proxy={self.proxy})"


class BasicAuth(_Secret):
    """``Authorization: Basic`` with a user name and password, sent on every request.

    The user-pass is encoded as UTF-8 by default, the only charset RFC 7617
    lets a server ask for. ``encoding="latin-1"`` suits older servers; if
    such a server's challenge then says ``charset="UTF-8"``, one retry in
    UTF-8 follows.
    """

    def __init__(
        self,
        user: str,
        password: str | bytes,
        *,
        proxy: bool = False,
        encoding: str = "utf-8",
    ) -> None:
        super().__init__(user, password, proxy=proxy)
        if ":" in user:
            raise LocalProtocolError("a Basic user name cannot contain ':' (RFC 7617 §2)")
        if encoding.lower().replace("_", "-") not in ("utf-8", "latin-1", "iso-8859-1"):
            raise LocalProtocolError(f"encoding must be utf-8 or latin-1, not {encoding!r}")
        self.encoding = "utf-8" if encoding.lower().replace("_", "-") == "utf-8" else "latin-1"
        if self.encoding == "latin-1":
            self._to_latin1()  # refuse unencodable credentials now, not mid-request
        #: Why the last :meth:`on_challenge` gave up, for error messages.
        self.reason: str | None = None

    def _to_latin1(self) -> bytearray:
        try:
            user = self.user.encode("latin-1")
            password = self._password.decode("utf-8").encode("latin-1")
        except UnicodeError:
            raise LocalProtocolError("credentials cannot be encoded as latin-1") from None
        return bytearray(user + b":" + password)

    def _header(self, encoding: str) -> list[tuple[str, str]]:
        if self._cleared:
            return []
        if encoding == "utf-8":
            buf = bytearray(self.user.encode("utf-8"))
            buf += b":"
            buf += self._password
        else:
            buf = self._to_latin1()
        token = base64.b64encode(buf).decode("ascii")
        buf[:] = bytes(len(buf))
        return [(_header_names(self.proxy)[0], f"Basic {token}")]

    def authorize(
        self, method: str, url: URL, body_hash: bytes | None = None
    ) -> list[tuple[str, str]]:
        """The ``Authorization`` header, pre-emptively (Basic needs no challenge)."""
        return self._header(self.encoding)

    def on_challenge(
        self, method: str, url: URL, status: int, headers: Headers
    ) -> list[tuple[str, str]] | None:
        """Credentials already went out, so a challenge means they were refused.

        The one exception is a server asking for ``charset="UTF-8"`` after
        latin-1 credentials: that is answered once in UTF-8.
        """
        challenges = challenges_from_headers(headers, proxy=self.proxy)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        if self._cleared:
            self.reason = "the credentials were cleared"
        elif status != _header_names(self.proxy)[1]:
            self.reason = f"status {status} is not an authentication challenge"
        elif basic is None:
            self.reason = f"no Basic challenge (offered: {_offered(challenges)})"
        elif self.encoding == "latin-1" and (basic.param("charset") or "").lower() == "utf-8":
            self.reason = None
            return self._header("utf-8")
        else:
            self.reason = f"the server refused the Basic credentials (realm {basic.realm!r})"
        return None


class BearerAuth:
    """``Authorization: Bearer <token>`` (RFC 6750), for OAuth 2 access tokens.

    A challenge after a bearer token means the token was refused; the
    server's ``error`` (``invalid_token``, ``insufficient_scope``, ...) is
    kept in :attr:`error` so an application can refresh the token.
    """

    def __init__(self, token: str, *, proxy: bool = False) -> None:
        if not isinstance(token, str) or _TOKEN68_RE.fullmatch(token) is None:
            raise LocalProtocolError("a bearer token must be a b64token (RFC 6750 §2.1)")
        self._token = bytearray(token.encode("ascii"))
        self.proxy = proxy
        #: Why the last :meth:`on_challenge` gave up, for error messages.
        self.reason: str | None = None
        #: The ``error`` parameter of the last Bearer challenge, if any.
        self.error: str | None = None

    def clear(self) -> None:
        """Overwrite the stored token with zeros; later requests carry no token."""
        self._token[:] = bytes(len(self._token))
        self._token = bytearray()

    def authorize(
        self, method: str, url: URL, body_hash: bytes | None = None
    ) -> list[tuple[str, str]]:
        """The ``Authorization`` header, on every request."""
        if not self._token:
            return []
        return [(_header_names(self.proxy)[0], "Bearer " + self._token.decode("ascii"))]

    def on_challenge(
        self, method: str, url: URL, status: int, headers: Headers
    ) -> list[tuple[str, str]] | None:
        """Always ``None``: a token cannot be retried into validity; note why."""
        challenges = challenges_from_headers(headers, proxy=self.proxy)
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is None:
            self.error = None
            self.reason = f"no Bearer challenge (offered: {_offered(challenges)})"
            return None
        self.error = bearer.param("error")
        detail = bearer.param("error_description")
        self.reason = "the server refused the bearer token" + (
            f": {self.error}" if self.error else ""
        ) + (f" ({detail})" if detail else "")
        return None

    def __repr__(self) -> str:
        return f"BearerAuth(token=<hidden>, proxy={self.proxy})"


def _offered(challenges: list[Challenge]) -> str:
    return ", ".join(offered_schemes(challenges)) or "none"


@dataclass
class _Space:
    """One remembered Digest protection space and its nonce count."""

    key: tuple[_Origin | None, str]
    challenge: DigestChallenge
    covers: tuple[tuple[_Origin, str], ...]  # (origin, path prefix) pairs
    received: float
    nc: int = 0


class DigestAuth(_Secret):
    """Digest access authentication (RFC 7616): MD5, SHA-256, SHA-512-256 and ``-sess``.

    Safe to share between threads: nonce counts are handed out under a lock,
    so concurrent requests with one nonce never repeat an ``nc``. A
    ``stale=true`` challenge is answered with the new nonce (the password
    was right); a plain challenge after our answer means it was refused and
    :meth:`on_challenge` gives up, leaving the cause in :attr:`reason`.

    ``cnonce()`` makes each client nonce; ``clock`` times remembered
    challenges when ``nonce_max_age`` is set (older ones are not reused
    pre-emptively). ``body_hash`` is accepted for the :class:`Auth` shape
    and unused: only ``qop=auth`` is answered (``auth-int`` needs the body).
    """

    def __init__(
        self,
        user: str,
        password: str | bytes,
        *,
        proxy: bool = False,
        clock: Callable[[], float] = time.time,
        cnonce: Callable[[], str] = secrets.token_hex,
        nonce_max_age: float | None = None,
    ) -> None:
        super().__init__(user, password, proxy=proxy)
        self._clock = clock
        self._cnonce = cnonce
        self._max_age = nonce_max_age
        self._lock = threading.Lock()
        self._spaces: dict[tuple[_Origin | None, str], _Space] = {}
        self._local = threading.local()

    @property
    def reason(self) -> str | None:
        """Why the last :meth:`on_challenge` on this thread gave up (``None`` if it did not)."""
        return getattr(self._local, "reason", None)

    def _sent(self) -> dict[tuple[_Origin | None, str], tuple[str, bool]]:
        """This thread's request so far: space -> (nonce answered, whether pre-emptively)."""
        sent: dict[tuple[_Origin | None, str], tuple[str, bool]] | None
        sent = getattr(self._local, "sent", None)
        if sent is None:
            sent = self._local.sent = {}
        return sent

    def clear(self) -> None:
        """Wipe the password and forget every remembered challenge."""
        with self._lock:
            self._spaces.clear()
            super().clear()

    # -- choosing a space --------------------------------------------------------

    def _find(self, url: URL) -> _Space | None:
        """The most recent remembered space covering ``url`` (any space, for a proxy)."""
        origin = _origin(url)
        path = url.path or "/"
        now = self._clock() if self._max_age is not None else 0.0
        for space in reversed(list(self._spaces.values())):
            if self._max_age is not None and now - space.received > self._max_age:
                continue
            if self.proxy or any(o == origin and path.startswith(p) for o, p in space.covers):
                return space
        return None

    def _covers(self, url: URL, challenge: DigestChallenge) -> tuple[tuple[_Origin, str], ...]:
        """Where the challenge applies: its ``domain`` URIs, else the whole origin."""
        out: list[tuple[_Origin, str]] = []
        for text in challenge.domain:
            try:
                target = url.join(text)
            except SockitError:
                continue  # an unusable domain entry narrows nothing
            out.append((_origin(target), target.path or "/"))
        return tuple(out) or ((_origin(url), "/"),)

    # -- answering ---------------------------------------------------------------

    def _uri(self, method: str, url: URL) -> str:
        """The request-target as the connection will send it (RFC 7616 §3.4.6)."""
        if self.proxy and method.upper() == "CONNECT":
            return f"{url.host}:{url.effective_port}" if ":" not in (url.host or "") else (
                f"[{url.host}]:{url.effective_port}"
            )
        if self.proxy and (url.scheme or "").lower() == "http":
            return str(url.replace(fragment=None))
        return url.request_target

    def _answer(
        self, method: str, url: URL, space: _Space, *, preemptive: bool
    ) -> list[tuple[str, str]]:
        with self._lock:
            if self._cleared:
                return []
            space.nc += 1
            nc = space.nc
            if nc >= MAX_NC:  # the nonce is used up: wait for a fresh challenge
                self._spaces.pop(space.key, None)
            password = bytearray(self._password)
        try:
            value = digest_authorization(
                space.challenge,
                username=self.user,
                password=password,
                method=method.upper(),
                uri=self._uri(method, url),
                nc=nc,
                cnonce=self._cnonce(),
            )
        finally:
            password[:] = bytes(len(password))
        self._sent()[space.key] = (space.challenge.nonce, preemptive)
        return [(_header_names(self.proxy)[0], value)]

    def authorize(
        self, method: str, url: URL, body_hash: bytes | None = None
    ) -> list[tuple[str, str]]:
        """The answer to a remembered challenge for ``url``'s space, or nothing yet.

        Called once at the start of every request, which also starts this
        thread's record of what the request has sent.
        """
        self._local.sent = {}
        with self._lock:
            space = None if self._cleared else self._find(url)
        if space is None:
            return []
        try:
            return self._answer(method, url, space, preemptive=True)
        except SockitError:
            return []  # a remembered challenge we cannot answer: let the server challenge

    def _give_up(self, reason: str) -> None:
        self._local.reason = reason

    def on_challenge(
        self, method: str, url: URL, status: int, headers: Headers
    ) -> list[tuple[str, str]] | None:
        """Answer the first Digest challenge we support (servers list their preference first)."""
        self._local.reason = None
        if self._cleared:
            self._give_up("the credentials were cleared")
            return None
        expected = _header_names(self.proxy)[1]
        if status != expected:
            self._give_up(f"status {status} is not an authentication challenge")
            return None
        challenges = challenges_from_headers(headers, proxy=self.proxy)
        problems: list[str] = []
        chosen: DigestChallenge | None = None
        for challenge in challenges:
            if challenge.scheme != "digest":
                continue
            try:
                candidate = DigestChallenge.from_challenge(challenge)
                choose_qop(candidate)
            except SockitError as exc:
                problems.append(str(exc))
                continue
            chosen = candidate
            break
        if chosen is None:
            if problems:
                self._give_up("no usable Digest challenge: " + "; ".join(problems))
            else:
                self._give_up(f"no Digest challenge (offered: {_offered(challenges)})")
            return None
        key = (None if self.proxy else _origin(url), chosen.realm)
        sent = self._sent().get(key)
        if sent is not None and not sent[1] and not chosen.stale:
            # refused in answer to this request's own challenge: the password is wrong
            with self._lock:
                self._spaces.pop(key, None)
            self._give_up(f"the server refused the Digest credentials (realm {chosen.realm!r})")
            return None
        if sent is not None and sent[0] == chosen.nonce:
            self._give_up("the server called its own current nonce stale")
            return None
        space = _Space(key, chosen, self._covers(url, chosen), self._clock())
        with self._lock:
            self._spaces.pop(key, None)
            self._spaces[key] = space
            while len(self._spaces) > _MAX_SPACES:
                del self._spaces[next(iter(self._spaces))]
        try:
            return self._answer(method, url, space, preemptive=False)
        except SockitError as exc:
            self._give_up(f"cannot answer the Digest challenge: {exc}")
            return None


def auth_from_userinfo(user: str, password: str, scheme: str = "basic") -> Auth:
    """An auth object for credentials given as ``-u user:pass`` or in a URL's userinfo."""
    name = scheme.lower()
    if name == "basic":
        return BasicAuth(user, password)
    if name == "digest":
        return DigestAuth(user, password)
    raise LocalProtocolError(f"unsupported authentication scheme {scheme!r} (basic or digest)")
