"""Serving files from directories: :class:`StaticFiles` and :class:`Mounts`.

What a request goes through, in order (every refusal of a path is ``404`` —
the same answer as for a missing file, so a probe learns nothing about what
lies outside the root):

1. Only ``GET`` and ``HEAD``; anything else is ``405`` with ``Allow: GET, HEAD``.
2. The raw path's text is checked (:func:`~sockit.server._static_open.path_segments`:
   no control bytes, backslash or encoded slash; strict UTF-8; no empty, ``.``,
   ``..`` or dot-leading segment, so ``.git`` and ``.env`` are never served).
3. The file is opened and the *opened descriptor* is checked to lie under the
   root (``/proc/self/fd``), so a symlink swapped in after any check cannot
   lead out. Symlinks that stay inside the root are followed unless
   ``follow_symlinks=False``, which refuses every symlink below the root.
4. Only regular files; a directory serves its ``index.html`` — without its
   trailing slash it is first redirected (``301``) so relative links work.
5. A precompressed sibling (``name.br``, ``name.gz``, not older than the
   file) is chosen when Accept-Encoding allows it (``q`` values honoured; the server prefers br),
   with ``Content-Encoding`` and ``Vary: Accept-Encoding``. Range requests
   always get the identity file, so byte offsets always mean the same bytes.
6. Preconditions, in the order of RFC 9110 §13.2.2 (``412``/``304``), then
   ``Range`` for ``GET`` (``206``, ``multipart/byteranges`` or ``416``),
   guarded by ``If-Range``.

Validators: ``ETag`` hashes the file's inode, size and mtime in nanoseconds
(plus the content coding); it is strong unless ``etag="weak"`` or the file
changed less than a second ago (then a second write could keep the same
size and timestamp). ``Last-Modified`` is the mtime in whole seconds.
"""

from __future__ import annotations

import contextlib
import functools
import math
import mimetypes
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Final, Literal, Protocol

from sockit.errors import LocalProtocolError
from sockit.proto.http import InvalidHeader, best_encoding, format_http_date
from sockit.proto.http.range import DEFAULT_MAX_RANGES
from sockit.server._static_open import Root, path_segments
from sockit.server._static_ranges import FileRange, MultipartRanges, plan_ranges
from sockit.server._static_validators import (
    EntityTag,
    evaluate_preconditions,
    if_range_matches,
    make_etag,
)
from sockit.server.request import Response, ServerRequest, body_kind

__all__ = ["Mountable", "Mounts", "StaticFiles"]

_ALLOWED: Final = (b"GET", b"HEAD")
_TEXT: Final = ("text/", "application/javascript", "application/json", "image/svg+xml")
#: Content codings that may be precompressed, and the file suffix of each.
SUFFIXES: Final = {"br": ".br", "gzip": ".gz", "zstd": ".zst"}

_Header = tuple[str, str]


def _text(status: int, message: str, extra: Sequence[_Header] = ()) -> Response:
    return Response(
        status, [("Content-Type", "text/plain; charset=utf-8"), *extra], message.encode()
    )


def _not_found() -> Response:
    return _text(404, "404 Not Found\n")


def content_type(name: str) -> str:
    """The Content-Type for a file name: ``mimetypes``, ``charset=utf-8`` for text.

    Files that ``mimetypes`` sees as compressed (``.tar.gz``) are
    ``application/octet-stream``: bytes as they are, never decoded by a browser.
    """
    return _types(name)[0]


@functools.lru_cache(maxsize=1024)
def _types(name: str) -> tuple[str, bool]:
    """``(Content-Type, already compressed)``; cached, as only names of served files get here."""
    ctype, encoding = mimetypes.guess_type(name, strict=False)
    if ctype is None or encoding is not None:
        return "application/octet-stream", encoding is not None
    if ctype.startswith(_TEXT):
        return ctype + "; charset=utf-8", False
    return ctype, False


class _Selected:
    """The representation chosen to answer with: its descriptor, stat and coding."""

    __slots__ = ("coding", "fd", "st", "vary")

    def __init__(self, fd: int, st: os.stat_result, coding: str, vary: bool) -> None:
        self.fd, self.st, self.coding, self.vary = fd, st, coding, vary


class StaticFiles:
    """An app that serves the files under ``root``; see the module docstring for the rules.

    ``index`` is the file served for a directory (``None``: directories are
    404). ``etag`` is ``"strong"``, ``"weak"`` or ``None`` (no ETag).
    ``max_age`` adds ``Cache-Control: max-age=N`` (``cache_control`` sets the
    whole value instead). ``precompressed`` lists the codings looked for
    beside each file (``()``: none). More than ``max_ranges`` ranges in one
    Range field and the field is ignored (a ``200`` with the whole file).
    ``clock`` is the wall clock (POSIX seconds), compared with mtimes.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        index: str | None = "index.html",
        follow_symlinks: bool = True,
        etag: Literal["strong", "weak"] | None = "strong",
        max_age: int | None = None,
        cache_control: str | None = None,
        precompressed: Sequence[str] = ("br", "gzip"),
        max_ranges: int = DEFAULT_MAX_RANGES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._root = Root(root, follow_symlinks=follow_symlinks)
        #: The real path of the root directory.
        self.root = self._root.path
        if index is not None and path_segments(b"/" + index.encode()) != [index]:
            raise ValueError(f"index must be a plain file name, not {index!r}")
        self.index = index
        if etag not in ("strong", "weak", None):
            raise ValueError(f"etag must be 'strong', 'weak' or None, not {etag!r}")
        self.etag = etag
        if max_age is not None and cache_control is not None:
            raise ValueError("give max_age or cache_control, not both")
        if max_age is not None and (isinstance(max_age, bool) or max_age < 0):
            raise ValueError(f"max_age must be an int >= 0, not {max_age!r}")
        self.cache_control = f"max-age={max_age}" if max_age is not None else cache_control
        unknown = [c for c in precompressed if c not in SUFFIXES]
        if unknown:
            raise ValueError(f"unknown precompressed codings {unknown!r}; known: {list(SUFFIXES)}")
        self.precompressed = tuple(precompressed)
        if isinstance(max_ranges, bool) or not 1 <= max_ranges <= DEFAULT_MAX_RANGES * 100:
            raise ValueError(
                f"max_ranges must be 1..{DEFAULT_MAX_RANGES * 100}, not {max_ranges!r}"
            )
        self.max_ranges = max_ranges
        self._clock = clock

    def __call__(self, request: ServerRequest) -> Response:
        """Answer ``request`` from the files under :attr:`root`."""
        return self.serve(request, request.raw_path)

    def resolve(self, raw_path: bytes) -> list[str] | None:
        """The path's segments under the root, or ``None`` if its text is refused."""
        return path_segments(raw_path)

    def serve(self, request: ServerRequest, raw_path: bytes) -> Response:
        """Answer ``request`` for ``raw_path`` (the part of the path below a mount point)."""
        if request.event.method not in _ALLOWED:
            return _text(405, "405 Method Not Allowed\n", [("Allow", "GET, HEAD")])
        segments = path_segments(raw_path)
        if segments is None:
            return _not_found()
        fd = self._root.open(segments)
        if fd is None:
            return _not_found()
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            os.close(fd)
            full = request.raw_path
            if not full.endswith(b"/"):
                query = request.query
                location = full.decode("latin-1") + "/" + (f"?{query}" if query else "")
                return _text(301, "301 Moved Permanently\n", [("Location", location)])
            if self.index is None:
                return _not_found()
            segments = [*segments, self.index]
            fd = self._root.open(segments)
            if fd is None:
                return _not_found()
            st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not segments:
            os.close(fd)
            return _not_found()
        try:
            sel = self._select(request, segments, fd, st)
        except BaseException:
            os.close(fd)
            raise
        file = os.fdopen(sel.fd, "rb")
        try:
            return self._answer(request, segments, sel, file)
        except BaseException:
            file.close()
            raise

    # -- choosing the representation ---------------------------------------------------

    def _select(
        self, request: ServerRequest, segments: list[str], fd: int, st: os.stat_result
    ) -> _Selected:
        """The identity file or a precompressed sibling; the others are closed.

        A sibling older than the file is stale (the file was edited and the
        variant not rebuilt): it is ignored, never served.
        """
        name = segments[-1]
        if not self.precompressed or _types(name)[1]:
            return _Selected(fd, st, "identity", False)
        found: dict[str, tuple[int, os.stat_result]] = {}
        try:
            for coding in self.precompressed:
                vfd = self._root.open([*segments[:-1], name + SUFFIXES[coding]])
                if vfd is None:
                    continue
                found[coding] = (vfd, os.fstat(vfd))
        except BaseException:
            for vfd, _ in found.values():
                os.close(vfd)
            raise
        for coding, (vfd, vst) in list(found.items()):
            if not stat.S_ISREG(vst.st_mode) or vst.st_mtime_ns < st.st_mtime_ns:
                os.close(vfd)
                del found[coding]
        if not found:
            return _Selected(fd, st, "identity", False)
        chosen = "identity"
        headers = request.headers
        if not (request.event.method == b"GET" and b"range" in headers):
            try:
                picked = best_encoding([*found, "identity"], headers.get_raw(b"accept-encoding"))
            except InvalidHeader:
                picked = None
            chosen = picked or "identity"
        for coding, (vfd, _) in found.items():
            if coding != chosen:
                os.close(vfd)
        if chosen == "identity":
            return _Selected(fd, st, "identity", True)
        os.close(fd)
        vfd, vst = found[chosen]
        return _Selected(vfd, vst, chosen, True)

    # -- answering -------------------------------------------------------------------

    def _answer(
        self, request: ServerRequest, segments: list[str], sel: _Selected, file: IO[bytes]
    ) -> Response:
        """The answer for the selected representation; ``file`` is closed unless it is the body."""
        st = sel.st
        now = self._clock()
        last_modified = math.floor(st.st_mtime)
        lm_strong = now - st.st_mtime >= 1.0
        etag: EntityTag | None = None
        if self.etag is not None:
            etag = make_etag(st, weak=self.etag == "weak" or not lm_strong, coding=sel.coding)
        common: list[_Header] = []
        if etag is not None:
            common.append(("ETag", str(etag)))
        with contextlib.suppress(LocalProtocolError):  # an mtime past year 9999: no field
            common.append(("Last-Modified", format_http_date(st.st_mtime)))
        if self.cache_control is not None:
            common.append(("Cache-Control", self.cache_control))
        if sel.vary:
            common.append(("Vary", "Accept-Encoding"))
        headers = request.headers
        method = request.event.method
        status = evaluate_preconditions(
            headers, method=method, etag=etag, last_modified=last_modified
        )
        if status == 304:
            file.close()
            return Response(304, common)
        if status == 412:
            file.close()
            return _text(412, "412 Precondition Failed\n")
        ctype = content_type(segments[-1])
        size = st.st_size
        range_value = headers.get_raw(b"range") if method == b"GET" else None
        if range_value is not None:
            if_range = headers.get_raw(b"if-range")
            if if_range is None or if_range_matches(
                if_range, etag=etag, last_modified=last_modified, last_modified_strong=lm_strong
            ):
                status, ranges = plan_ranges(range_value, size, self.max_ranges)
                if status == 416:
                    file.close()
                    extra = [("Content-Range", f"bytes */{size}"), *common]
                    return _text(416, "416 Range Not Satisfiable\n", extra)
                if status == 206:
                    return self._partial(file, ranges, size, ctype, common)
        fields = [("Content-Type", ctype), *common]
        if sel.coding == "identity":
            fields.append(("Accept-Ranges", "bytes"))
        else:
            fields.append(("Content-Encoding", sel.coding))
        return Response(200, fields, file)

    def _partial(
        self,
        file: IO[bytes],
        ranges: list[tuple[int, int]],
        size: int,
        ctype: str,
        common: list[_Header],
    ) -> Response:
        """A ``206``: one range as a file slice, several as ``multipart/byteranges``."""
        fields = [*common, ("Accept-Ranges", "bytes")]
        if len(ranges) > 1:
            multipart = MultipartRanges(file, ranges, size, ctype)
            fields += [
                ("Content-Type", multipart.content_type),
                ("Content-Length", str(multipart.length)),
            ]
            return Response(206, fields, multipart)
        first, last = ranges[0]
        fields += [("Content-Type", ctype), ("Content-Range", f"bytes {first}-{last}/{size}")]
        if last == size - 1:  # to the end: the plain file, sent with sendfile from first
            file.seek(first)
            return Response(206, fields, file)
        piece = FileRange(file, first, last - first + 1)
        if body_kind(piece)[0] != "file":  # pulled as an iterable: say its length
            fields.append(("Content-Length", str(piece.count)))
        return Response(206, fields, piece)


class Mountable(Protocol):
    """What :class:`Mounts` dispatches to: answers a request for a path below its mount point."""

    def serve(self, request: ServerRequest, raw_path: bytes) -> Response:
        """Answer ``request`` for ``raw_path`` (starting with ``/``)."""
        ...


class Mounts:
    """Several :class:`StaticFiles` under URL prefixes; the longest matching prefix wins.

    ``Mounts({"/static": StaticFiles("assets"), "/": StaticFiles("site")})``:
    ``/static/app.js`` is ``assets/app.js``, everything else comes from
    ``site``. A prefix matches whole segments of the *raw* path (so write it
    as it appears on the wire); ``/static`` alone is redirected to ``/static/``.
    Paths no prefix matches go to ``fallback`` or get ``404``.
    """

    def __init__(
        self,
        mounts: Mapping[str, Mountable],
        *,
        fallback: Callable[[ServerRequest], Response | None] | None = None,
    ) -> None:
        table: dict[bytes, Mountable] = {}
        for prefix, app in mounts.items():
            if not prefix.startswith("/") or "?" in prefix or "#" in prefix:
                raise ValueError(f"a mount prefix is a path starting with '/', not {prefix!r}")
            key = prefix.rstrip("/").encode("utf-8")
            if key in table:
                raise ValueError(f"mount prefix {prefix!r} is given twice")
            table[key] = app
        self._table = sorted(table.items(), key=lambda item: len(item[0]), reverse=True)
        self.fallback = fallback

    def __call__(self, request: ServerRequest) -> Response | None:
        """Dispatch ``request`` to the mount with the longest matching prefix."""
        raw = request.raw_path
        for prefix, app in self._table:
            if raw == prefix or raw.startswith(prefix + b"/"):
                return app.serve(request, raw[len(prefix) :] or b"/")
        if self.fallback is not None:
            return self.fallback(request)
        return _not_found()
