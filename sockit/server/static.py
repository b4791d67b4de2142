"""Serving files from a directory: :class:`StaticFiles`.

The rules, in the order they are applied (every refusal is ``404 Not
Found`` — the same answer as for a file that does not exist, so a probe
learns nothing about what lies outside the root):

1. Only ``GET`` and ``HEAD``; anything else is ``405`` with ``Allow: GET, HEAD``.
2. The raw path (percent-escapes intact) must start with ``/`` and contain
   no backslash, NUL or other control byte, raw or percent-encoded, and no
   encoded slash (``%2f``): a path separator must be a real ``/``.
3. Percent-decoded, it must be UTF-8, and no segment may be empty (``//``),
   ``.``, ``..`` or start with a dot (hidden files such as ``.git`` or
   ``.env`` are never served).
4. The file is opened (non-blocking, so a FIFO cannot stall the loop) and
   the *opened* descriptor's real path, read
   back from ``/proc/self/fd`` (``os.path.realpath`` elsewhere), must lie
   under the root's real path: a symlink inside the root that points
   outside is refused, one that stays inside is followed.
5. Only regular files are served; a directory serves its ``index.html``
   (a directory path without its trailing slash is redirected, ``301``, so
   relative links in the index work). There are no directory listings.

Answers carry ``Content-Type`` (``mimetypes``; ``charset=utf-8`` for text),
``Last-Modified`` and a ``Content-Length`` the server sets from the file;
``If-Modified-Since`` gives ``304``. The body is the open file, which the
server sends with ``sendfile``.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from typing import Final

from sockit.proto.http import format_http_date, try_parse_http_date
from sockit.server.request import Response, ServerRequest

__all__ = ["StaticFiles"]

_ALLOWED: Final = (b"GET", b"HEAD")
#: Control bytes, backslash, and percent-escapes of them or of ``/``.
_BAD_RAW: Final = re.compile(rb"[\x00-\x1f\x7f\\]|%(?:[01][0-9a-fA-F]|7[fF]|2[fF]|5[cC])")
_TEXT: Final = ("text/", "application/javascript", "application/json", "image/svg+xml")
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_PROC_FD: Final = "/proc/self/fd"


def _text(status: int, message: str, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = [("Content-Type", "text/plain; charset=utf-8"), *(extra or [])]
    return Response(status, headers, message.encode())


def _not_found() -> Response:
    return _text(404, "404 Not Found\n")


class StaticFiles:
    """An app that serves files under ``root``; see the module docstring for the rules.

    ``index`` is the file served for a directory (``None``: directories are
    404). Use it with :func:`~sockit.server.serve` or call it from your own
    loop: ``request.respond_response(static(request))``.
    """

    def __init__(self, root: str | os.PathLike[str], *, index: str | None = "index.html") -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise ValueError(f"static root {root!r} is not a directory")
        self.root = real
        self.index = index
        self._prefix = real.rstrip(os.sep) + os.sep

    def __call__(self, request: ServerRequest) -> Response:
        """Answer ``request`` from the files under :attr:`root`."""
        method = request.event.method
        if method not in _ALLOWED:
            return _text(405, "405 Method Not Allowed\n", [("Allow", "GET, HEAD")])
        segments = self.resolve(request.raw_path)
        if segments is None:
            return _not_found()
        path = os.path.join(self.root, *segments)
        fd = self._open_inside(path)
        if fd is None:
            return _not_found()
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            os.close(fd)
            raw = request.raw_path
            if not raw.endswith(b"/"):
                query = request.query
                location = raw.decode("latin-1") + "/" + (f"?{query}" if query else "")
                return _text(301, "301 Moved Permanently\n", [("Location", location)])
            if self.index is None:
                return _not_found()
            fd = self._open_inside(os.path.join(path, self.index))
            if fd is None:
                return _not_found()
            st = os.fstat(fd)
            path = os.path.join(path, self.index)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return _not_found()
        return self._file_response(request, fd, st, path)

    def resolve(self, raw_path: bytes) -> list[str] | None:
        """The path's segments under the root, or ``None`` if the path is refused (rules 2-3)."""
        if raw_path[:1] != b"/" or _BAD_RAW.search(raw_path):
            return None
        if b"%" in raw_path:
            decoded = _decode_strict(raw_path)
            if decoded is None:
                return None
        else:
            decoded = raw_path
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            return None
        parts = text[1:].split("/")
        if parts and parts[-1] == "":
            parts.pop()  # a trailing slash: the directory itself
        for part in parts:
            if not part or part[0] == "." or "\x00" in part or "\\" in part:
                return None
        return parts

    def _open_inside(self, path: str) -> int | None:
        """Open ``path`` and check where the descriptor really points; ``None`` if refused."""
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            return None
        try:
            try:
                real = os.readlink(f"{_PROC_FD}/{fd}")
            except OSError:
                real = os.path.realpath(path)
            if real != self.root and not real.startswith(self._prefix):
                os.close(fd)
                return None
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _file_response(
        self, request: ServerRequest, fd: int, st: os.stat_result, path: str
    ) -> Response:
        last_modified = format_http_date(st.st_mtime)
        since = try_parse_http_date(request.headers.get_raw(b"if-modified-since"))
        if since is not None and int(st.st_mtime) <= since:
            os.close(fd)
            return Response(304, [("Last-Modified", last_modified)])
        ctype, encoding = mimetypes.guess_type(path, strict=False)
        if ctype is None or encoding is not None:
            ctype = "application/octet-stream"  # .gz and friends: bytes as they are
        elif ctype.startswith(_TEXT):
            ctype += "; charset=utf-8"
        headers = [("Content-Type", ctype), ("Last-Modified", last_modified)]
        return Response(200, headers, os.fdopen(fd, "rb"))


def _decode_strict(raw: bytes) -> bytes | None:
    """Percent-decode; ``None`` if a ``%`` is not followed by two hex digits."""
    parts = raw.split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) < 2 or part[0] not in _HEX or part[1] not in _HEX:
            return None
        out.append(int(part[:2], 16))
        out += part[2:]
    return bytes(out)
