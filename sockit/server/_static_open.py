"""Turning a request path into an open file under a root, refusing every way out.

Two steps, both needed:

- :func:`path_segments` checks the *text* of the raw path (percent-escapes
  intact): no control bytes, backslashes or encoded slashes, strict UTF-8, no
  empty, ``.``, ``..`` or dot-leading segments.
- :func:`open_under` opens the file and checks the *descriptor*: its real
  path, read back from ``/proc/self/fd/N``, must lie under the root. A check
  on the path before opening would race with a symlink swapped in between
  (TOCTOU); a check on what was actually opened cannot. Where ``/proc`` is
  missing, the fallback compares the opened file's ``(st_dev, st_ino)`` with
  that of ``realpath`` taken *after* the open, which a swap cannot fake
  either (a swap back and forth can only make it refuse).

With ``follow_symlinks=False`` the path is walked one component at a time
with ``openat(..., O_NOFOLLOW)``: any symlink below the root is refused,
wherever it points.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Final

__all__ = ["Root", "path_segments"]

#: Control bytes, backslash, and percent-escapes of them or of ``/``.
_BAD_RAW: Final = re.compile(rb"[\x00-\x1f\x7f\\]|%(?:[01][0-9a-fA-F]|7[fF]|2[fF]|5[cC])")
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_PROC_FD: Final = "/proc/self/fd"

#: The ``open`` used here; a seam for tests that swap files in mid-request.
_open = os.open


def path_segments(raw_path: bytes) -> list[str] | None:
    """The path's segments (``[]`` for ``/``), or ``None`` if the text is refused.

    A trailing slash is dropped (it names the directory itself); the caller
    decides what a directory means.
    """
    if raw_path[:1] != b"/" or _BAD_RAW.search(raw_path):
        return None
    decoded = _decode_strict(raw_path) if b"%" in raw_path else raw_path
    if decoded is None:
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    parts = text[1:].split("/")
    if parts[-1] == "":
        parts.pop()
    for part in parts:
        if not part or part[0] == "." or "\x00" in part or "\\" in part:
            return None
    return parts


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


class Root:
    """A directory files are served from, and the only place they may come from."""

    def __init__(self, root: str | os.PathLike[str], *, follow_symlinks: bool = True) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise ValueError(f"static root {root!r} is not a directory")
        self.path = real
        self.follow_symlinks = follow_symlinks
        self._prefix = real.rstrip(os.sep) + os.sep

    def open(self, segments: Sequence[str]) -> int | None:
        """A blocking descriptor for ``segments`` under the root, or ``None`` if refused.

        Refused: anything that does not exist or cannot be opened, and any
        descriptor that turns out to point outside the root.
        """
        try:
            if self.follow_symlinks or not _NOFOLLOW:
                fd = _open(os.path.join(self.path, *segments), _FILE_FLAGS)
            else:
                fd = self._open_nofollow(segments)
        except OSError:
            return None
        try:
            if not self._inside(fd, segments):
                os.close(fd)
                return None
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_nofollow(self, segments: Sequence[str]) -> int:
        """``openat`` walk with ``O_NOFOLLOW``: ELOOP/ENOTDIR on any symlink."""
        dir_fd = _open(self.path, _DIR_FLAGS)
        try:
            for segment in segments[:-1]:
                next_fd = _open(segment, _DIR_FLAGS | _NOFOLLOW, dir_fd=dir_fd)
                os.close(dir_fd)
                dir_fd = next_fd
            if not segments:
                return os.dup(dir_fd)
            return _open(segments[-1], _FILE_FLAGS | _NOFOLLOW, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def _inside(self, fd: int, segments: Sequence[str]) -> bool:
        """Whether the *opened* file lies under the root."""
        try:
            real = os.readlink(f"{_PROC_FD}/{fd}")
        except OSError:
            return self._inside_without_proc(fd, segments)
        return real == self.path or real.startswith(self._prefix)

    def _inside_without_proc(self, fd: int, segments: Sequence[str]) -> bool:
        real = os.path.realpath(os.path.join(self.path, *segments))
        if real != self.path and not real.startswith(self._prefix):
            return False
        try:
            named, opened = os.stat(real), os.fstat(fd)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
