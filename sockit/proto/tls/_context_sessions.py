"""Client-side session resumption: the session handle and a bounded store.

A resumed handshake skips the certificate exchange and the expensive key
agreement signature, so a client that talks to the same origin again should
offer its last session. OpenSSL only accepts a session on a connection made
from the same ``SSL_CTX``, so sessions are kept per :class:`TLSContext`, keyed
by origin (``"host"`` or ``"host:port"``), least recently used first out.
Time is an argument (``now``, monotonic seconds) as everywhere in
:mod:`sockit.proto`; without it entries do not age (the server refuses stale
sessions anyway).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from OpenSSL.SSL import Session

__all__ = ["SessionStore", "TLSSession"]


class TLSSession:
    """A resumable session from an earlier connection of the same context.

    Opaque: pass it to ``TLSConnection(session=...)`` (or let the context's
    :class:`SessionStore` do so). ``owner`` is the :class:`TLSContext` it
    belongs to; offering it on another context is refused.
    """

    __slots__ = ("_session", "owner")

    def __init__(self, session: Session, owner: object) -> None:
        self._session = session
        self.owner = owner

    @property
    def openssl_session(self) -> Session:
        """The underlying ``OpenSSL.SSL.Session``."""
        return self._session

    def __repr__(self) -> str:
        return f"<TLSSession at {id(self):#x}>"


class SessionStore:
    """At most ``size`` sessions, one per origin, each kept ``timeout`` seconds.

    ``size`` 0 disables the store (``put`` keeps nothing).
    """

    __slots__ = ("_entries", "size", "timeout")

    def __init__(self, size: int, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        self._entries: OrderedDict[str, tuple[TLSSession, float | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, origin: object) -> bool:
        return origin in self._entries

    def get(self, origin: str, *, now: float | None = None) -> TLSSession | None:
        """The session stored for ``origin``, unless it is older than ``timeout``."""
        entry = self._entries.get(origin)
        if entry is None:
            return None
        session, stored = entry
        if now is not None and stored is not None and now - stored >= self.timeout:
            del self._entries[origin]
            return None
        self._entries.move_to_end(origin)
        return session

    def put(self, origin: str, session: TLSSession, *, now: float | None = None) -> None:
        """Remember ``session`` for ``origin``, evicting the least recently used."""
        if self.size <= 0:
            return
        self._entries[origin] = (session, now)
        self._entries.move_to_end(origin)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def discard(self, origin: str) -> None:
        """Forget ``origin``'s session (after a failed resumption, say)."""
        self._entries.pop(origin, None)

    def clear(self) -> None:
        """Forget every session."""
        self._entries.clear()
