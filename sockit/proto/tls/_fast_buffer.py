"""Decrypted bytes waiting for a reader, kept as the chunks the engine made.

A blocking TLS socket receives one ``TLSData`` per record (16 KiB at most)
and its reader usually asks for at least that much, so keeping the chunks
as they came lets a read hand one over without copying it; a bytearray
would copy every byte in and again out. Reads smaller than a chunk take a
slice and remember how much of the first chunk is used, so reading a
chunk byte by byte stays linear.
"""

from __future__ import annotations

from collections import deque

__all__ = ["ChunkBuffer"]


class ChunkBuffer:
    """A FIFO of byte chunks with reads of any size (not thread-safe)."""

    __slots__ = ("_chunks", "_size", "_used")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._used = 0  # bytes of the first chunk already taken
        self._size = 0  # bytes not yet taken

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        """Queue ``data`` (empty chunks are ignored)."""
        if data:
            self._chunks.append(data)
            self._size += len(data)

    def head_size(self) -> int:
        """Untaken bytes of the first chunk (0 when empty)."""
        return len(self._chunks[0]) - self._used if self._chunks else 0

    def take_some(self, limit: int) -> bytes:
        """Up to ``limit`` bytes from the first chunk only (``b""`` if empty): a recv()."""
        chunks = self._chunks
        if not chunks or limit <= 0:
            return b""
        head = chunks[0]
        used = self._used
        if not used and len(head) <= limit:  # the common case: hand the chunk over
            chunks.popleft()
            self._size -= len(head)
            return head
        return self.take(min(limit, len(head) - used))

    def take(self, n: int) -> bytes:
        """Remove and return the first ``min(n, len(self))`` bytes."""
        n = min(n, self._size)
        if n <= 0:
            return b""
        chunks = self._chunks
        head = chunks[0]
        used = self._used
        self._size -= n
        left = len(head) - used
        if n < left:
            self._used = used + n
            return head[used : used + n]
        chunks.popleft()
        self._used = 0
        first = head[used:] if used else head
        if n == left:
            return first
        parts = [first]
        need = n - left
        while need:
            head = chunks[0]
            if len(head) <= need:
                parts.append(chunks.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                self._used = need
                need = 0
        return b"".join(parts)
