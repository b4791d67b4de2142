"""HTTP authentication syntax and Digest arithmetic (RFC 9110 §11, RFC 7616).

A server says how to authenticate in ``WWW-Authenticate`` (or
``Proxy-Authenticate``): one or more *challenges*, each an auth-scheme with
either a token68 or a comma-separated list of ``name=value`` parameters.
Because commas separate both challenges and parameters, a field value cannot
be split with :func:`~sockit.proto.http.split_list`; :func:`parse_challenges`
walks it instead, deciding at each comma whether a parameter or a new
challenge follows. ``Authorization`` credentials share the grammar of a single
challenge (:func:`parse_credentials`), so the server side reuses the parser.

The Digest part is pure computation: callers pass in the nonce count and the
client nonce, so results are reproducible and the module never reads a clock
or a random source. Passwords are accepted as ``bytes`` or ``bytearray`` and
fed to the hash without an intermediate immutable copy.

Errors: text that breaks the grammar raises :class:`InvalidHeader`; a
well-formed Digest challenge asking for something this module cannot do
(an unknown algorithm, only ``auth-int`` without a body) raises
:class:`UnsupportedChallenge`. Both are :class:`~sockit.errors.RemoteProtocolError`.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from collections.abc import Iterable

from sockit.errors import LocalProtocolError, RemoteProtocolError
from sockit.proto.http.exceptions import InvalidHeader
from sockit.proto.http.headers import Headers
from sockit.proto.http.percent import quote
from sockit.proto.http.syntax import QUOTED_STRING, TCHAR, to_text, unquote_string

__all__ = [
    "MAX_NC",
    "Challenge",
    "DigestAlgorithm",
    "DigestChallenge",
    "UnsupportedChallenge",
    "challenges_from_headers",
    "choose_qop",
    "digest_authorization",
    "digest_ha1",
    "digest_hash",
    "digest_response",
    "digest_userhash",
    "format_nc",
    "offered_schemes",
    "parse_challenges",
    "parse_credentials",
]

#: The largest nonce count a request may carry (``nc`` is 8 hex digits).
MAX_NC = 0xFFFFFFFF

_OWS = " \t"
_TOKEN_RE = re.compile(rf"[{TCHAR}]+")
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_PARAM_RE = re.compile(rf"([{TCHAR}]+)[ \t]*=[ \t]*(?:([{TCHAR}]+)|({QUOTED_STRING}))")
_SEP_RE = re.compile(r"[ \t]*(?:,[ \t]*)*")
_NC_RE = re.compile(r"[0-9a-fA-F]{8}")


class UnsupportedChallenge(RemoteProtocolError):
    """A well-formed challenge that this implementation cannot answer.

    The message names what was asked for, so a client can report why it gave up.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge (or one set of credentials): a scheme and its parameters.

    ``scheme`` is lowercased (schemes are case-insensitive); so are parameter
    names. Values keep their case, with quoted-string escapes resolved.
    Exactly one of ``token68`` and ``params`` is meaningful; both may be empty
    (``Basic`` alone is a valid challenge).
    """

    scheme: str
    params: tuple[tuple[str, str], ...] = ()
    token68: str | None = None

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def realm(self) -> str | None:
        """The protection space's name, when the challenge has one."""
        return self.param("realm")


def _show(text: str) -> str:
    """``text`` for an error message, cut short: header values can be long."""
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def _skip_sep(text: str, pos: int) -> int:
    """The position after any run of OWS and commas."""
    match = _SEP_RE.match(text, pos)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _scan_params(text: str, pos: int, scheme: str) -> tuple[tuple[tuple[str, str], ...], int]:
    """``#auth-param`` from ``pos``; stops where something else (a new challenge) starts.

    The first parameter may follow the scheme's space directly; every later
    one needs a comma before it. A parameter can never start a challenge (a
    scheme is followed by a space, not ``=``), which is what makes the list
    unambiguous.
    """
    params: list[tuple[str, str]] = []
    seen: set[str] = set()
    end = len(text)
    while True:
        start = _skip_sep(text, pos)
        if start >= end:
            return tuple(params), pos
        if params and "," not in text[pos:start]:
            return tuple(params), pos
        match = _PARAM_RE.match(text, start)
        if match is None:
            return tuple(params), pos
        name = match.group(1).lower()
        if name in seen:
            raise InvalidHeader(f"{scheme} challenge repeats parameter {name!r}")
        seen.add(name)
        token = match.group(2)
        params.append((name, token if token is not None else unquote_string(match.group(3))))
        pos = match.end()


def _parse(text: str) -> list[Challenge]:
    out: list[Challenge] = []
    end = len(text)
    pos = _skip_sep(text, 0)
    while pos < end:
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise InvalidHeader(f"expected an auth-scheme at offset {pos} of {_show(text)}")
        scheme = match.group().lower()
        pos = match.end()
        gap = pos
        while pos < end and text[pos] in _OWS:
            pos += 1
        if pos < end and text[pos] != "," and pos == gap:
            raise InvalidHeader(f"expected a space after auth-scheme {scheme!r} in {_show(text)}")
        token68 = None
        if pos < end and text[pos] != "," and _PARAM_RE.match(text, pos) is None:
            tok = _TOKEN68_RE.match(text, pos)
            if tok is None:
                raise InvalidHeader(f"malformed {scheme} challenge in {_show(text)}")
            token68 = tok.group()
            params: tuple[tuple[str, str], ...] = ()
            pos = tok.end()
        else:
            params, pos = _scan_params(text, gap, scheme)
        out.append(Challenge(scheme, params, token68))
        after = _skip_sep(text, pos)
        if after < end and "," not in text[pos:after]:
            raise InvalidHeader(f"expected ',' at offset {pos} of {_show(text)}")
        pos = after
    return out


def parse_challenges(value: str | bytes) -> list[Challenge]:
    """The challenges in one ``WWW-Authenticate``/``Proxy-Authenticate`` field value.

    Raises :class:`InvalidHeader` when the value breaks the grammar, or when a
    challenge repeats a parameter (RFC 9110 §11.2 forbids it, and a repeated
    ``realm`` would make the protection space ambiguous).
    """
    return _parse(to_text(value))


def parse_credentials(value: str | bytes) -> Challenge:
    """The one scheme-plus-parameters item in an ``Authorization`` field value."""
    items = _parse(to_text(value))
    if len(items) != 1:
        raise InvalidHeader(f"expected exactly one set of credentials, got {len(items)}")
    return items[0]


def challenges_from_headers(headers: Headers, *, proxy: bool = False) -> list[Challenge]:
    """Every challenge of every ``WWW-Authenticate`` (``Proxy-Authenticate``) line.

    Lines are parsed one by one and a malformed line is skipped, so one broken
    challenge (from a misbehaving middlebox, say) does not hide a usable one
    on another line. Use :func:`parse_challenges` to see the error.
    """
    name = "proxy-authenticate" if proxy else "www-authenticate"
    out: list[Challenge] = []
    for raw in headers.get_all_raw(name):
        try:
            out.extend(parse_challenges(raw))
        except InvalidHeader:
            continue
    return out


# -- Digest (RFC 7616) -----------------------------------------------------------


class DigestAlgorithm(enum.Enum):
    """The Digest algorithms understood here, valued by their canonical names."""

    MD5 = "MD5"
    MD5_SESS = "MD5-sess"
    SHA_256 = "SHA-256"
    SHA_256_SESS = "SHA-256-sess"
    SHA_512_256 = "SHA-512-256"
    SHA_512_256_SESS = "SHA-512-256-sess"

    @classmethod
    def parse(cls, name: str | None) -> DigestAlgorithm:
        """The algorithm named ``name`` (case-insensitive; absent means MD5)."""
        if name is None:
            return cls.MD5
        for alg in cls:
            if alg.value.lower() == name.lower():
                return alg
        raise UnsupportedChallenge(f"unsupported Digest algorithm {name!r}")

    @property
    def session(self) -> bool:
        """Whether A1 also binds the nonce and cnonce (the ``-sess`` variants)."""
        return self.value.endswith("-sess")

    @property
    def hash_name(self) -> str:
        """The :mod:`hashlib` name of the underlying hash."""
        base = self.value.removesuffix("-sess")
        return {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}[base]


def digest_hash(algorithm: DigestAlgorithm, *parts: bytes | bytearray) -> str:
    """H(p1 ":" p2 ":" ...) as lowercase hex, fed part by part (no joined copy)."""
    try:
        h = hashlib.new(algorithm.hash_name)
    except ValueError:  # a hash the local OpenSSL lacks (FIPS builds, SHA-512/256)
        raise UnsupportedChallenge(f"{algorithm.value} is not available here") from None
    for i, part in enumerate(parts):
        if i:
            h.update(b":")
        h.update(part)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DigestChallenge:
    """A Digest challenge with its parameters checked and typed.

    ``qop`` lists the offered quality-of-protection values, lowercased; it is
    empty for an RFC 2069 style challenge without ``qop``.
    """

    realm: str
    nonce: str
    algorithm: DigestAlgorithm = DigestAlgorithm.MD5
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    domain: tuple[str, ...] = ()
    userhash: bool = False
    utf8: bool = False

    @classmethod
    def from_challenge(cls, challenge: Challenge) -> DigestChallenge:
        """Check a parsed challenge; :class:`InvalidHeader` if realm or nonce is missing."""
        if challenge.scheme != "digest":
            raise LocalProtocolError(f"not a Digest challenge: {challenge.scheme!r}")
        realm = challenge.param("realm")
        nonce = challenge.param("nonce")
        if realm is None or nonce is None:
            raise InvalidHeader("a Digest challenge needs realm and nonce")
        qop_text = challenge.param("qop")
        qop = () if qop_text is None else tuple(
            part.strip(_OWS).lower() for part in qop_text.split(",") if part.strip(_OWS)
        )
        charset = challenge.param("charset")
        return cls(
            realm=realm,
            nonce=nonce,
            algorithm=DigestAlgorithm.parse(challenge.param("algorithm")),
            qop=qop,
            opaque=challenge.param("opaque"),
            stale=(challenge.param("stale") or "").lower() == "true",
            domain=tuple((challenge.param("domain") or "").split()),
            userhash=(challenge.param("userhash") or "").lower() == "true",
            utf8=charset is not None and charset.lower() == "utf-8",
        )


def choose_qop(challenge: DigestChallenge, *, have_body: bool = False) -> str | None:
    """The qop to answer with: ``auth`` when offered, else ``auth-int`` if the body is known.

    ``None`` answers an RFC 2069 challenge (no ``qop`` offered). Offering only
    unknown values, or only ``auth-int`` without a body, raises
    :class:`UnsupportedChallenge`.
    """
    if not challenge.qop:
        return None
    if "auth" in challenge.qop:
        return "auth"
    if "auth-int" in challenge.qop:
        if have_body:
            return "auth-int"
        raise UnsupportedChallenge("the server only offers qop=auth-int, which needs the body")
    raise UnsupportedChallenge(f"unsupported Digest qop {','.join(challenge.qop)!r}")


def format_nc(nc: int) -> str:
    """A nonce count as the 8 hex digits ``nc=`` carries."""
    if not 1 <= nc <= MAX_NC:
        raise LocalProtocolError(f"nonce count {nc} is outside 1..{MAX_NC}")
    return f"{nc:08x}"


def digest_userhash(algorithm: DigestAlgorithm, username: bytes, realm: bytes) -> str:
    """H(username ":" realm): the username sent when the server asks for ``userhash``."""
    return digest_hash(algorithm, username, realm)


def digest_ha1(  # noqa: PLR0917 - the RFC's inputs, in its order
    algorithm: DigestAlgorithm,
    username: bytes,
    realm: bytes,
    password: bytes | bytearray,
    nonce: str = "",
    cnonce: str = "",
) -> str:
    """H(A1) (RFC 7616 §3.4.2); the ``-sess`` variants also bind nonce and cnonce."""
    ha1 = digest_hash(algorithm, username, realm, password)
    if algorithm.session:
        return digest_hash(
            algorithm, ha1.encode(), _latin1(nonce, "nonce"), _latin1(cnonce, "cnonce")
        )
    return ha1


def digest_response(
    algorithm: DigestAlgorithm,
    ha1: str,
    *,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str = "",
    cnonce: str = "",
    body: bytes | None = None,
) -> str:
    """The ``response`` value (RFC 7616 §3.4.1), given H(A1).

    With ``qop=None`` this is the RFC 2069 form ``KD(H(A1), nonce ":" H(A2))``.
    The server computes the same value to check an answer, and with
    ``method=""`` the ``rspauth`` of ``Authentication-Info``.
    """
    a2: list[bytes] = [_latin1(method, "method"), _latin1(uri, "uri")]
    if qop == "auth-int":
        if body is None:
            raise LocalProtocolError("qop=auth-int needs the body")
        a2.append(digest_hash(algorithm, body).encode())
    ha2 = digest_hash(algorithm, *a2)
    if qop is None:
        return digest_hash(algorithm, ha1.encode(), _latin1(nonce, "nonce"), ha2.encode())
    if _NC_RE.fullmatch(nc) is None:
        raise LocalProtocolError(f"nc must be 8 hex digits, not {nc!r}")
    parts = (ha1, nonce, nc, cnonce, qop, ha2)
    return digest_hash(algorithm, *(_latin1(p, "parameter") for p in parts))


def _latin1(text: str, what: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"the Digest {what} {text!r} is not ISO-8859-1 text") from None


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _username_param(challenge: DigestChallenge, username: str) -> tuple[str, bytes]:
    """The ``username`` parameter text and the octets that go into H(A1)."""
    raw = username.encode("utf-8")
    if challenge.userhash:
        realm = _latin1(challenge.realm, "realm")
        return f"username={_quoted(digest_userhash(challenge.algorithm, raw, realm))}", raw
    if username.isascii() and username.isprintable():
        return f"username={_quoted(username)}", raw
    if challenge.utf8:  # RFC 7616 §3.4.4: an ext-value, as RFC 8187 encodes it
        return f"username*=UTF-8''{quote(username, safe='')}", raw
    # No charset agreed: send the UTF-8 octets as obs-text, as common clients do.
    text = raw.decode("latin-1")
    if any(ch < " " or ch == "\x7f" for ch in text):
        raise LocalProtocolError("the user name contains control characters")
    return f"username={_quoted(text)}", raw


def digest_authorization(
    challenge: DigestChallenge,
    *,
    username: str,
    password: bytes | bytearray,
    method: str,
    uri: str,
    nc: int,
    cnonce: str,
    body: bytes | None = None,
) -> str:
    """The ``Authorization`` (or ``Proxy-Authorization``) value answering ``challenge``.

    ``password`` must already be encoded (UTF-8 when ``challenge.utf8``).
    ``uri`` is the request-target exactly as sent. ``nc`` and ``cnonce`` come
    from the caller, which owns counting and randomness.
    """
    qop = choose_qop(challenge, have_body=body is not None)
    user_param, user_raw = _username_param(challenge, username)
    alg = challenge.algorithm
    realm = _latin1(challenge.realm, "realm")
    ha1 = digest_ha1(alg, user_raw, realm, password, challenge.nonce, cnonce)
    nc_text = format_nc(nc)
    response = digest_response(
        alg, ha1, nonce=challenge.nonce, method=method, uri=uri,
        qop=qop, nc=nc_text, cnonce=cnonce, body=body,
    )
    parts = [
        user_param,
        f"realm={_quoted(challenge.realm)}",
        f"uri={_quoted(uri)}",
        f"algorithm={alg.value}",
        f"nonce={_quoted(challenge.nonce)}",
    ]
    if qop is not None:
        parts += [f"nc={nc_text}", f"cnonce={_quoted(cnonce)}", f"qop={qop}"]
    parts.append(f"response={_quoted(response)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_quoted(challenge.opaque)}")
    if challenge.userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def offered_schemes(challenges: Iterable[Challenge]) -> list[str]:
    """The distinct schemes offered, in order (for error messages)."""
    seen: list[str] = []
    for challenge in challenges:
        if challenge.scheme not in seen:
            seen.append(challenge.scheme)
    return seen
