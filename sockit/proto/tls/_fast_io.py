"""Record I/O between the engine and OpenSSL without pyOpenSSL's per-call costs.

pyOpenSSL's ``send``/``recv``/``bio_read``/``bio_write`` allocate a fresh C
buffer per call (``bio_read(262144)`` maps and faults in 256 KiB each time),
and its connections write one record per ``SSL_write`` (partial-write mode)
and retry reads past non-data records (auto-retry). On the bulk path those
costs were half of the engine's encryption time, so :class:`FastIO` makes the
same OpenSSL calls through the cffi bindings pyOpenSSL itself uses, into
buffers it keeps, and sets two modes that suit memory BIOs:

* partial writes off: one ``SSL_write`` encrypts the whole buffer (a memory
  BIO never refuses bytes, so nothing is left half-written);
* auto-retry off: one ``SSL_read`` consumes exactly one record (a ticket or
  key update reads as "want read"), which lets the engine hand OpenSSL many
  records at once and still get one :class:`TLSData` per record.

Errors go through pyOpenSSL's own error translation, so callers see the same
``SSL.Error`` subclasses as before. Should a pyOpenSSL release drop the
private names, :func:`record_io` returns :class:`PlainIO`, the same interface
over the public methods, and everything keeps working, only slower.
"""

from __future__ import annotations

from typing import Any, Final, NoReturn, Protocol

from OpenSSL import SSL

from sockit.proto.contract import Buffer

try:
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
except ImportError:  # pragma: no cover - depends on the pyOpenSSL release
    _ffi = _lib = None

__all__ = ["RECORD_PLAINTEXT", "FastIO", "PlainIO", "RecordIO", "record_io"]

RECORD_PLAINTEXT: Final = 16384  # the most plaintext one record carries
_OUT_START: Final = 4096  # grows to the largest output seen (bulk: ~256 KiB)
_new: Any = None if _ffi is None else _ffi.new_allocator(should_clear_after_alloc=False)


class RecordIO(Protocol):
    """What the engine needs from OpenSSL once a connection exists."""

    #: Whether many records may be fed at once: reads stop at every record
    #: and unconsumed input can be taken back (bytes after close_notify).
    batches: bool

    def write(self, data: Buffer) -> None:
        """Encrypt all of ``data`` into records queued for the wire."""

    def take_output(self) -> bytes:
        """Every queued ciphertext byte (``b""`` if none)."""

    def take_output_view(self) -> bytes | memoryview:
        """Like :meth:`take_output`, maybe a view valid only until the next output call."""

    def feed(self, data: Buffer) -> None:
        """Give OpenSSL bytes from the peer."""

    def read_record(self) -> bytes:
        """Decrypt one record's plaintext; raises ``SSL.WantReadError`` if none yields data."""

    def read_many(self, limit: int) -> tuple[list[bytes], int]:
        """Up to ``limit`` records' plaintext, one read each, without raising.

        The second item is 1 when every read gave data; otherwise the next
        read failed and :meth:`read_error` (called at once) raises why.
        """

    def read_error(self, result: int) -> NoReturn:
        """Raise the ``SSL.Error`` subclass for the read :meth:`read_many` stopped at."""

    def input_left(self) -> int:
        """Fed bytes OpenSSL has not consumed yet."""

    def take_input(self) -> bytes:
        """Remove and return the fed bytes OpenSSL has not consumed."""


class PlainIO:
    """:class:`RecordIO` over pyOpenSSL's public methods (the fallback)."""

    __slots__ = ("_error", "_ssl")

    batches = False

    def __init__(self, ssl: SSL.Connection) -> None:
        self._ssl = ssl
        self._error: SSL.Error | None = None

    def write(self, data: Buffer) -> None:
        """See :class:`RecordIO`."""
        view = memoryview(data).cast("B")
        sent, total = 0, len(view)
        while sent < total:
            sent += self._ssl.send(view[sent:])

    def take_output(self) -> bytes:
        """See :class:`RecordIO`."""
        parts = []
        while True:
            try:
                parts.append(self._ssl.bio_read(262144))
            except SSL.WantReadError:
                break
        return b"".join(parts)

    def take_output_view(self) -> bytes | memoryview:
        """See :class:`RecordIO`."""
        return self.take_output()

    def feed(self, data: Buffer) -> None:
        """See :class:`RecordIO`."""
        self._ssl.bio_write(bytes(data))

    def read_record(self) -> bytes:
        """See :class:`RecordIO`."""
        return self._ssl.recv(RECORD_PLAINTEXT)

    def read_many(self, limit: int) -> tuple[list[bytes], int]:
        """See :class:`RecordIO`."""
        out: list[bytes] = []
        for _ in range(limit):
            try:
                out.append(self._ssl.recv(RECORD_PLAINTEXT))
            except SSL.Error as exc:
                self._error = exc
                return out, 0
        return out, 1

    def read_error(self, result: int) -> NoReturn:
        """See :class:`RecordIO`."""
        exc, self._error = self._error, None
        raise exc if exc is not None else SSL.WantReadError()

    def input_left(self) -> int:
        """Unknown without the private API; the engine never batches over this class."""
        return 0

    def take_input(self) -> bytes:
        """See :meth:`input_left`."""
        return b""


class FastIO:
    """:class:`RecordIO` through cffi, into buffers kept per connection."""

    __slots__ = ("_conn", "_in_buf", "_out_buf", "_out_size", "_raise", "_rbio", "_ssl", "_wbio")

    batches = True

    def __init__(self, ssl: SSL.Connection) -> None:
        self._conn = ssl  # keeps the SSL object (and its BIOs) alive
        self._ssl = ssl._ssl
        self._rbio = ssl._into_ssl
        self._wbio = ssl._from_ssl
        self._raise = ssl._raise_ssl_error
        # made on first use, uninitialised: a handshake-only connection
        # should not pay for zeroing buffers it never needs
        self._in_buf = _ffi.NULL
        self._out_buf = _ffi.NULL
        self._out_size = 0
        modes = _lib.SSL_MODE_AUTO_RETRY | _lib.SSL_MODE_ENABLE_PARTIAL_WRITE
        _lib.SSL_clear_mode(self._ssl, modes)

    def write(self, data: Buffer) -> None:
        """See :class:`RecordIO`."""
        with _ffi.from_buffer(data) as raw:
            total = len(raw)
            done = 0
            while done < total:
                chunk = min(total - done, 0x7FFFFFFF)
                n = _lib.SSL_write(self._ssl, raw + done, chunk)
                if n <= 0:
                    self._raise(self._ssl, n)
                    raise SSL.Error([("sockit", "SSL_write", "wrote nothing")])
                done += n

    def take_output(self) -> bytes:
        """See :class:`RecordIO`."""
        return bytes(self.take_output_view())

    def take_output_view(self) -> bytes | memoryview:
        """See :class:`RecordIO` (the view is over a buffer this object reuses)."""
        wbio = self._wbio
        if self._out_size:  # one call when the output fits the buffer (it mostly does)
            n = _lib.BIO_read(wbio, self._out_buf, self._out_size)
            if n < self._out_size:
                return memoryview(_ffi.buffer(self._out_buf, n)) if n > 0 else b""
            first = bytes(_ffi.buffer(self._out_buf, n))
        else:
            first = b""
        size = _lib.BIO_get_mem_data(wbio, _ffi.NULL)
        if size <= 0:
            return first
        self._out_size = max(size + len(first), _OUT_START)
        buf = self._out_buf = _new("char[]", self._out_size)
        if first:  # keep the bytes in order: what was read first goes first
            _ffi.memmove(buf, first, len(first))
        n = _lib.BIO_read(wbio, buf + len(first), size)
        return memoryview(_ffi.buffer(buf, len(first) + max(n, 0)))

    def feed(self, data: Buffer) -> None:
        """See :class:`RecordIO`."""
        with _ffi.from_buffer(data) as raw:
            if len(raw) and _lib.BIO_write(self._rbio, raw, len(raw)) != len(raw):
                raise SSL.Error([("sockit", "BIO_write", "memory BIO refused bytes")])

    def read_record(self) -> bytes:
        """See :class:`RecordIO`."""
        buf = self._in_buf
        if buf == _ffi.NULL:
            buf = self._in_buf = _new("char[]", RECORD_PLAINTEXT)
        n = _lib.SSL_read(self._ssl, buf, RECORD_PLAINTEXT)
        if n > 0:
            data: bytes = _ffi.buffer(buf, n)[:]
            return data
        self.read_error(n)

    def read_many(self, limit: int) -> tuple[list[bytes], int]:
        """See :class:`RecordIO` (one tight loop: this is the bulk receive path)."""
        buf = self._in_buf
        if buf == _ffi.NULL:
            buf = self._in_buf = _new("char[]", RECORD_PLAINTEXT)
        ssl, read, buffer = self._ssl, _lib.SSL_read, _ffi.buffer
        out: list[bytes] = []
        for _ in range(limit):
            n = read(ssl, buf, RECORD_PLAINTEXT)
            if n <= 0:
                return out, n
            out.append(buffer(buf, n)[:])
        return out, 1

    def read_error(self, result: int) -> NoReturn:
        """See :class:`RecordIO`."""
        self._raise(self._ssl, result)
        raise SSL.WantReadError()  # pragma: no cover - _raise always raises on n <= 0

    def input_left(self) -> int:
        """See :class:`RecordIO`."""
        return int(_lib.BIO_get_mem_data(self._rbio, _ffi.NULL))

    def take_input(self) -> bytes:
        """See :class:`RecordIO`."""
        size = self.input_left()
        if size <= 0:
            return b""
        buf = _new("char[]", size)
        n = _lib.BIO_read(self._rbio, buf, size)
        left: bytes = _ffi.buffer(buf, max(n, 0))[:]
        return left


_NAMES: Final = ("SSL_write", "SSL_read", "BIO_read", "BIO_write", "BIO_get_mem_data",
                  "SSL_clear_mode", "SSL_MODE_AUTO_RETRY", "SSL_MODE_ENABLE_PARTIAL_WRITE")
_LIB_OK: Final = _lib is not None and all(hasattr(_lib, name) for name in _NAMES)


def _usable(ssl: SSL.Connection) -> bool:
    return (
        _LIB_OK
        and getattr(ssl, "_into_ssl", None) is not None
        and getattr(ssl, "_from_ssl", None) is not None
        and hasattr(ssl, "_ssl")
        and hasattr(ssl, "_raise_ssl_error")
    )


def record_io(ssl: SSL.Connection) -> RecordIO:
    """The fastest :class:`RecordIO` this pyOpenSSL allows for memory-BIO connection ``ssl``."""
    return FastIO(ssl) if _usable(ssl) else PlainIO(ssl)
