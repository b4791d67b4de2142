"""URI references (RFC 3986) and HTTP request-targets (RFC 9112 §3.2).

:class:`URL` holds the five RFC 3986 components with the authority split in
three, all as percent-encoded ASCII text exactly as they appear in the URI
(scheme and host lowercased). Absent and empty differ: ``query is None`` means
no ``?``, ``query == ""`` means a bare ``?``; ``host is None`` means there is
no authority at all (``mailto:x``), ``host == ""`` an empty one (``file:///``).

Parsing is strict RFC 3986. Two deliberate extensions:

* ``str`` input may carry a non-ASCII host, converted with IDNA (see
  :mod:`sockit.proto.http.host`); non-ASCII anywhere else is refused.
* ``lenient=True`` also accepts ``[ ] { } | ^`` and backquote in path,
  query and fragment, plus backslash in query and fragment: characters
  browsers send unescaped (``?a[]=1``) that delimit nothing in HTTP.
  :meth:`URL.from_request_target` is lenient by default, :meth:`URL.parse` is
  not; :meth:`URL.normalize` percent-encodes them.

``==`` compares components exactly; compare ``a.normalize() == b.normalize()``
for RFC 3986 §6 equivalence.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import NamedTuple

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidURL
from sockit.proto.http.host import canonical_ipv6, idna_decode, parse_host
from sockit.proto.http.percent import check_escapes, normalize_percent_encoding, unquote

__all__ = ["DEFAULT_PORTS", "URL", "InvalidURL", "Origin", "remove_dot_segments"]

#: Ports implied by a scheme when the URI names none.
DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HTTP_SCHEMES = frozenset(DEFAULT_PORTS)

# RFC 3986 Appendix B, anchored; it matches every string.
_SPLIT_RE = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.S)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_USERINFO_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:%]*")
_PORT_RE = re.compile(r"[0-9]{0,5}")
_PCHAR = r"A-Za-z0-9\-._~!$&'()*+,;=:@%"
_LENIENT = r"\[\]{}|^`"
_PATH_RE = re.compile(rf"[{_PCHAR}/]*")
_QUERY_RE = re.compile(rf"[{_PCHAR}/?]*")
_PATH_LENIENT_RE = re.compile(rf"[{_PCHAR}/{_LENIENT}]*")
_QUERY_LENIENT_RE = re.compile(rf"[{_PCHAR}/?{_LENIENT}\\]*")
_LENIENT_CHAR_RE = re.compile(rf"[{_LENIENT}\\]")


class _Keep(enum.Enum):
    """Sentinel type for "leave this component as it is" in :meth:`URL.replace`."""

    KEEP = 0


_KEEP = _Keep.KEEP


class Origin(NamedTuple):
    """The (scheme, host, port) triple of RFC 6454, port always explicit."""

    scheme: str
    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is None or self.port == DEFAULT_PORTS.get(self.scheme):
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, step for step, in linear time.

    The output buffer is a list of moved segments (each with its leading
    ``/``), so "remove the last segment and its preceding /" is a pop.
    """
    if "." not in path:
        return path
    out: list[str] = []
    i, n = 0, len(path)
    while i < n:
        if path.startswith("../", i):  # A
            i += 3
        elif path.startswith(("./", "/./"), i):  # A, and B (keeps the "/")
            i += 2
        elif n - i == 2 and path.startswith("/.", i):
            out.append("/")
            break
        elif path.startswith("/../", i):  # C
            i += 3
            if out:
                out.pop()
        elif n - i == 3 and path.startswith("/..", i):
            if out:
                out.pop()
            out.append("/")
            break
        elif (n - i == 1 and path[i] == ".") or (n - i == 2 and path.startswith("..", i)):  # D
            break
        else:  # E
            j = path.find("/", i + 1 if path[i] == "/" else i)
            if j < 0:
                j = n
            out.append(path[i:j])
            i = j
    return "".join(out)


def _show(text: str | bytes) -> str:
    """``text`` for an error message: repr, cut to a readable length."""
    return repr(text) if len(text) <= 200 else repr(text[:200]) + "..."


def _check(value: str, pattern: re.Pattern[str], what: str, source: str) -> None:
    if pattern.fullmatch(value) is None:
        bad = next((c for c in value if pattern.fullmatch(c) is None), value[:1])
        raise InvalidURL(f"invalid character {bad!r} in {what} of {_show(source)}")
    if "%" in value:
        check_escapes(value)


def _split_authority(authority: str, source: str) -> tuple[str | None, str, int | None]:
    userinfo: str | None = None
    hostport = authority
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        _check(userinfo, _USERINFO_RE, "userinfo", source)
    port_text: str | None = None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise InvalidURL(f"unterminated IP-literal in {_show(source)}")
        host_text, rest = hostport[: close + 1], hostport[close + 1 :]
        if rest:
            if rest[0] != ":":
                raise InvalidURL(f"junk after IP-literal in {_show(source)}")
            port_text = rest[1:]
    else:
        host_text, sep, port_text_ = hostport.partition(":")
        port_text = port_text_ if sep else None
    host = parse_host(host_text)
    port: int | None = None
    if port_text:
        if _PORT_RE.fullmatch(port_text) is None or int(port_text) > 65535:
            raise InvalidURL(f"invalid port {port_text!r} in {_show(source)}")
        port = int(port_text)
    return userinfo, host, port


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class URL:
    """A URI reference: absolute (``scheme`` set) or relative.

    Construct with :meth:`parse` for text, or directly with already encoded
    components (checked; bad ones raise :class:`LocalProtocolError`).
    """

    scheme: str | None = None
    userinfo: str | None = None
    host: str | None = None
    port: int | None = None
    path: str = ""
    query: str | None = None
    fragment: str | None = None

    def __post_init__(self) -> None:
        try:
            self._validate()
        except InvalidURL as exc:
            raise LocalProtocolError(exc.message) from None

    def _validate(self) -> None:
        src = "URL component"
        for name in ("scheme", "userinfo", "host", "path", "query", "fragment"):
            value = getattr(self, name)
            if not isinstance(value, str) and (value is not None or name == "path"):
                raise InvalidURL(f"URL.{name} must be a str, not {type(value).__name__}")
        if self.scheme is not None and _SCHEME_RE.fullmatch(self.scheme) is None:
            raise InvalidURL(f"invalid scheme {self.scheme!r}")
        if self.host is None:
            if self.userinfo is not None or self.port is not None:
                raise InvalidURL("userinfo and port need a host")
            if self.scheme is None and ":" in self.path.partition("/")[0]:
                raise InvalidURL(f"relative path {self.path!r} would parse as a scheme")
        else:
            host = self.host
            if ":" in host:
                host = parse_host(f"[{host}]")
            elif host:
                host = parse_host(host)
            object.__setattr__(self, "host", host)
            if self.path and not self.path.startswith("/"):
                raise InvalidURL(f"path {self.path!r} must start with / after an authority")
        if self.userinfo is not None:
            _check(self.userinfo, _USERINFO_RE, "userinfo", src)
        if self.port is not None and (type(self.port) is not int or not 0 <= self.port <= 65535):
            raise InvalidURL(f"invalid port {self.port!r}")
        _check(self.path, _PATH_LENIENT_RE, "path", src)
        if self.query is not None:
            _check(self.query, _QUERY_LENIENT_RE, "query", src)
        if self.fragment is not None:
            _check(self.fragment, _QUERY_LENIENT_RE, "fragment", src)

    @classmethod
    def _new(  # noqa: PLR0917  # one argument per component, private
        cls,
        scheme: str | None,
        userinfo: str | None,
        host: str | None,
        port: int | None,
        path: str,
        query: str | None,
        fragment: str | None,
    ) -> URL:
        # Components known valid: skip __post_init__.
        self = object.__new__(cls)
        set_ = object.__setattr__
        set_(self, "scheme", scheme)
        set_(self, "userinfo", userinfo)
        set_(self, "host", host)
        set_(self, "port", port)
        set_(self, "path", path)
        set_(self, "query", query)
        set_(self, "fragment", fragment)
        return self

    # -- parsing -------------------------------------------------------------

    @classmethod
    def parse(cls, text: str | bytes, *, lenient: bool = False) -> URL:
        """Parse a URI reference (absolute or relative); :class:`InvalidURL` if bad."""
        if not isinstance(text, str):
            try:
                text = bytes(text).decode("ascii")
            except UnicodeDecodeError:
                raise InvalidURL(f"non-ASCII octet in URL {_show(text)}") from None
        match = _SPLIT_RE.fullmatch(text)
        assert match is not None
        scheme, authority, path, query, fragment = match.groups()
        if scheme is not None:
            if _SCHEME_RE.fullmatch(scheme) is None:
                raise InvalidURL(f"invalid scheme in {_show(text)}")
            scheme = scheme.lower()
        userinfo: str | None = None
        host: str | None = None
        port: int | None = None
        if authority is not None:
            userinfo, host, port = _split_authority(authority, text)
        elif scheme is None and ":" in path.partition("/")[0]:
            raise InvalidURL(f"first segment of relative path contains ':' in {_show(text)}")
        query_re = _QUERY_LENIENT_RE if lenient else _QUERY_RE
        _check(path, _PATH_LENIENT_RE if lenient else _PATH_RE, "path", text)
        if query is not None:
            _check(query, query_re, "query", text)
        if fragment is not None:
            _check(fragment, query_re, "fragment", text)
        return cls._new(scheme, userinfo, host, port, path, query, fragment)

    @classmethod
    def from_request_target(
        cls, target: str | bytes, method: str | bytes, *, lenient: bool = True
    ) -> URL:
        """Parse an HTTP/1.1 request-target (RFC 9112 §3.2) for ``method``.

        * origin-form ``/path?query`` gives a URL with only path and query;
        * absolute-form ``http://host/path`` a full URL (no fragment, and for
          http(s) a non-empty host and no userinfo, RFC 9110 §4.2.4);
        * authority-form ``host:port``, for CONNECT and only CONNECT, a URL
          with only host and port (the port is required);
        * asterisk-form ``*``, for OPTIONS only, a URL whose path is ``*``.

        Anything else raises :class:`InvalidURL` (``http_status`` 400).
        ``target`` and ``method`` may be ``bytes`` straight from the parser.
        """
        if isinstance(method, bytes):
            method = method.decode("latin-1")
        if not isinstance(target, str):
            try:
                target = bytes(target).decode("ascii")
            except UnicodeDecodeError:
                raise InvalidURL(f"non-ASCII octet in request-target {_show(target)}") from None
        elif not target.isascii():
            raise InvalidURL(f"non-ASCII character in request-target {_show(target)}")
        if not target:
            raise InvalidURL("empty request-target")
        if method == "CONNECT":
            if "/" in target or "?" in target or "#" in target or "@" in target:
                raise InvalidURL(f"CONNECT needs an authority-form target, not {_show(target)}")
            _, host, port = _split_authority(target, target)
            if not host or port is None:
                raise InvalidURL(f"CONNECT target needs a host and a port: {_show(target)}")
            return cls._new(None, None, host, port, "", None, None)
        if target[0] == "/":
            path, sep, query_ = target.partition("?")
            _check(path, _PATH_LENIENT_RE if lenient else _PATH_RE, "path", target)
            query = query_ if sep else None
            if query is not None:
                _check(query, _QUERY_LENIENT_RE if lenient else _QUERY_RE, "query", target)
            return cls._new(None, None, None, None, path, query, None)
        if target == "*":
            if method != "OPTIONS":
                raise InvalidURL(f"asterisk-form request-target is only for OPTIONS, not {method}")
            return cls._new(None, None, None, None, "*", None, None)
        url = cls.parse(target, lenient=lenient)
        if url.scheme is None:
            raise InvalidURL(f"request-target {_show(target)} is neither origin- nor absolute-form")
        if url.fragment is not None:
            raise InvalidURL(f"fragment in request-target {_show(target)}")
        if url.scheme in _HTTP_SCHEMES:
            if not url.host:
                raise InvalidURL(f"{url.scheme} URI without a host: {_show(target)}")
            if url.userinfo is not None:
                raise InvalidURL(f"userinfo in {url.scheme} request-target {_show(target)}")
        return url

    # -- derived values ------------------------------------------------------

    @property
    def is_absolute(self) -> bool:
        """Whether the reference has a scheme (it may still have a fragment)."""
        return self.scheme is not None

    @property
    def authority(self) -> str | None:
        """``[userinfo@]host[:port]``, or ``None`` without an authority."""
        if self.host is None:
            return None
        hostport = self.host_header
        assert hostport is not None
        return hostport if self.userinfo is None else f"{self.userinfo}@{hostport}"

    @property
    def host_header(self) -> str | None:
        """``host[:port]`` as sent in ``Host`` / ``:authority``: never userinfo.

        The port appears only if the URL names one explicitly.
        """
        if self.host is None:
            return None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def host_unicode(self) -> str | None:
        """The host with punycode labels decoded, for display only."""
        return None if self.host is None else idna_decode(self.host)

    @property
    def effective_port(self) -> int | None:
        """The explicit port, else the scheme's default, else ``None``."""
        if self.port is not None:
            return self.port
        return None if self.scheme is None else DEFAULT_PORTS.get(self.scheme.lower())

    @property
    def origin(self) -> Origin | None:
        """``(scheme, host, port)`` with the default port filled in; ``None`` if opaque."""
        if self.scheme is None or not self.host:
            return None
        return Origin(self.scheme.lower(), self.host, self.effective_port)

    @property
    def request_target(self) -> str:
        """The origin-form target (path, ``/`` if empty, plus query); ``*`` stays ``*``."""
        if self.path == "*" and self.host is None:
            return "*"
        path = self.path or "/"
        return path if self.query is None else f"{path}?{self.query}"

    @property
    def username(self) -> str | None:
        """The percent-decoded user name from userinfo, if any."""
        if self.userinfo is None:
            return None
        return unquote(self.userinfo.partition(":")[0])

    @property
    def password(self) -> str | None:
        """The percent-decoded password from userinfo (``None`` without a ``:``)."""
        if self.userinfo is None or ":" not in self.userinfo:
            return None
        return unquote(self.userinfo.partition(":")[2])

    # -- operations ----------------------------------------------------------

    def replace(
        self,
        *,
        scheme: str | _Keep | None = _KEEP,
        userinfo: str | _Keep | None = _KEEP,
        host: str | _Keep | None = _KEEP,
        port: int | _Keep | None = _KEEP,
        path: str | _Keep = _KEEP,
        query: str | _Keep | None = _KEEP,
        fragment: str | _Keep | None = _KEEP,
    ) -> URL:
        """A copy with the given components changed (validated like the constructor)."""
        return URL(
            self.scheme if isinstance(scheme, _Keep) else scheme,
            self.userinfo if isinstance(userinfo, _Keep) else userinfo,
            self.host if isinstance(host, _Keep) else host,
            self.port if isinstance(port, _Keep) else port,
            self.path if isinstance(path, _Keep) else path,
            self.query if isinstance(query, _Keep) else query,
            self.fragment if isinstance(fragment, _Keep) else fragment,
        )

    def join(self, reference: str | URL, *, lenient: bool = False) -> URL:
        """Resolve ``reference`` against this URL (RFC 3986 §5.2.2, strict mode).

        This URL must be absolute; a string reference is parsed first.
        """
        if self.scheme is None:
            raise LocalProtocolError(f"cannot resolve against relative URL {str(self)!r}")
        ref = reference if isinstance(reference, URL) else URL.parse(reference, lenient=lenient)
        if ref.scheme is not None:
            return self._new(
                ref.scheme, ref.userinfo, ref.host, ref.port,
                remove_dot_segments(ref.path), ref.query, ref.fragment,
            )  # fmt: skip
        if ref.host is not None:
            return self._new(
                self.scheme, ref.userinfo, ref.host, ref.port,
                remove_dot_segments(ref.path), ref.query, ref.fragment,
            )  # fmt: skip
        query = ref.query
        if not ref.path:
            path = self.path
            if query is None:
                query = self.query
        elif ref.path.startswith("/"):
            path = remove_dot_segments(ref.path)
        else:
            if self.host is not None and not self.path:
                merged = "/" + ref.path
            else:
                merged = self.path[: self.path.rfind("/") + 1] + ref.path
            path = remove_dot_segments(merged)
        return self._new(
            self.scheme, self.userinfo, self.host, self.port, path, query, ref.fragment
        )

    def normalize(self) -> URL:
        """The RFC 3986 §6.2.2-6.2.3 normal form.

        Lowercase scheme and host, canonical IPv6 text, uppercase escapes with
        unreserved characters decoded, lenient characters encoded, dot-segments
        removed (for absolute URLs and absolute paths), default port dropped,
        and for http(s)/ws(s) an empty path with an authority becomes ``/``.
        """
        scheme = None if self.scheme is None else self.scheme.lower()
        host = self.host
        if host:
            host = (
                canonical_ipv6(host)
                if ":" in host
                else parse_host(normalize_percent_encoding(host))
            )
        port = self.port
        if port is not None and scheme is not None and DEFAULT_PORTS.get(scheme) == port:
            port = None
        path = _normalize_part(self.path)
        if scheme is not None or path.startswith("/"):
            path = remove_dot_segments(path)
        if not path and host is not None and scheme in _HTTP_SCHEMES:
            path = "/"
        return self._new(
            scheme,
            None if self.userinfo is None else _normalize_part(self.userinfo),
            host,
            port,
            path,
            None if self.query is None else _normalize_part(self.query),
            None if self.fragment is None else _normalize_part(self.fragment),
        )

    def __str__(self) -> str:
        parts: list[str] = []
        if self.scheme is not None:
            parts.append(self.scheme + ":")
        if self.host is not None:
            parts.append("//")
            parts.append(self.authority or "")
        elif self.path.startswith("//"):
            parts.append("/.")  # keeps the path from reading as an authority
        parts.append(self.path)
        if self.query is not None:
            parts.append("?" + self.query)
        if self.fragment is not None:
            parts.append("#" + self.fragment)
        return "".join(parts)

    def __repr__(self) -> str:
        shown = self
        if self.userinfo is not None and ":" in self.userinfo:
            user = self.userinfo.partition(":")[0]
            shown = self._new(
                self.scheme, f"{user}:***", self.host, self.port,
                self.path, self.query, self.fragment,
            )  # fmt: skip
        return f"URL({str(shown)!r})"


def _encode_lenient(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"


def _normalize_part(text: str) -> str:
    text = normalize_percent_encoding(text)
    return _LENIENT_CHAR_RE.sub(_encode_lenient, text)
