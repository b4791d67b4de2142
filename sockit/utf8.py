"""Strict, incremental, fail-fast UTF-8 validation and decoding.

WebSocket text messages (RFC 6455 §8.1) must be rejected at the first byte
that can no longer begin or continue valid UTF-8, even when the message
arrives in fragments and the bad byte sits in the middle of a sequence split
across them. Autobahn's 6.* cases test exactly this.

The standard library's incremental decoder does nearly all of the work in C:
it rejects invalid start bytes, overlong forms (``E0 80``, ``F0 80``), and code
points above U+10FFFF (``F4 90``) as soon as the offending byte arrives. Two
things are added here:

* Surrogates: CPython holds ``ED A0`` as an incomplete sequence and only
  fails on the third byte; a surrogate can never become valid, so the
  second byte is already the failure point. :class:`UTF8Decoder` checks the
  decoder's pending bytes after every call.
* Exact positions: the stdlib error gives the start of the bad sequence; we
  report the absolute stream offset of the first byte at which the input stops
  being a prefix of some valid UTF-8 text. For truncated input at the end of
  the stream, that offset is the stream's length.

Definition used throughout: for a byte stream ``s``, the *fail offset* is the
smallest ``i`` such that ``s[: i + 1]`` is not a prefix of any valid UTF-8
string (or ``len(s)`` when ``s`` is a valid prefix but ends mid-sequence and
the stream is finished).
"""

from __future__ import annotations

import codecs

from sockit.errors import RemoteProtocolError

__all__ = ["InvalidUTF8", "UTF8Decoder", "decode_utf8", "utf8_fail_offset"]

_Buffer = bytes | bytearray | memoryview


class InvalidUTF8(RemoteProtocolError):
    """Bytes that are not valid UTF-8; ``offset`` is the first bad byte."""

    def __init__(self, message: str, *, offset: int, error_code: int | None = None) -> None:
        super().__init__(message, error_code=error_code, http_status=400)
        self.offset = offset


_new_decoder = codecs.getincrementaldecoder("utf-8")


class UTF8Decoder:
    """An incremental UTF-8 decoder that fails at the first impossible byte.

    ``decode(data)`` returns the text completed so far and holds back an
    incomplete trailing sequence (at most three bytes) for the next call.
    ``decode(data, final=True)`` additionally requires that nothing is held
    back. Errors raise :class:`InvalidUTF8` with the absolute ``offset`` (from
    the first byte ever fed) of the first bad byte; after an error the decoder
    must be :meth:`reset` before reuse.
    """

    __slots__ = ("_decoder", "_failed", "_position")

    def __init__(self) -> None:
        self._decoder = _new_decoder("strict")
        self._position = 0
        self._failed = False

    @property
    def position(self) -> int:
        """Total number of bytes fed so far (including pending ones)."""
        return self._position

    @property
    def pending(self) -> bytes:
        """The incomplete sequence held back for the next call."""
        return bytes(self._decoder.getstate()[0])

    def reset(self) -> None:
        """Forget all state and start a new stream at offset 0."""
        self._decoder.reset()
        self._position = 0
        self._failed = False

    def decode(self, data: _Buffer, final: bool = False) -> str:
        """Decode the next chunk of the stream; see the class docstring."""
        if self._failed:
            raise InvalidUTF8("decoder used after an error without reset()", offset=self._position)
        held = len(self._decoder.getstate()[0])
        # absolute offset of the first byte of the decoder's working input
        base = self._position - held
        size = len(data)
        try:
            text: str = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            self._failed = True
            raise self._error(exc, base) from None
        self._position += size
        if held or size:
            pending = self._decoder.getstate()[0]
            # ED A0..BF starts a surrogate: impossible however it continues
            if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
                self._failed = True
                offset = self._position - len(pending) + 1
                raise InvalidUTF8(
                    f"invalid UTF-8 (surrogate) at offset {offset}", offset=offset
                )
        return text

    def _error(self, exc: UnicodeDecodeError, base: int) -> InvalidUTF8:
        if exc.reason == "unexpected end of data":
            # truncated sequence at the end of a finished stream
            offset = base + len(exc.object)
        elif exc.reason == "invalid continuation byte":
            # start..end is the valid prefix of the sequence; end is the bad byte
            offset = base + exc.end
        else:
            offset = base + exc.start
        return InvalidUTF8(f"invalid UTF-8 ({exc.reason}) at offset {offset}", offset=offset)


def decode_utf8(data: _Buffer) -> str:
    """Decode a complete byte string strictly; raise :class:`InvalidUTF8`."""
    try:
        return str(data, "utf-8")
    except UnicodeDecodeError:
        # rare path: rerun incrementally for the exact fail offset
        decoder = UTF8Decoder()
        decoder.decode(data, final=True)
        raise AssertionError("unreachable: stdlib and UTF8Decoder disagree") from None


def utf8_fail_offset(data: _Buffer, *, final: bool = True) -> int | None:
    """The fail offset of ``data`` (see the module docstring), or ``None``.

    With ``final=False`` a valid prefix that ends mid-sequence is not an
    error.
    """
    try:
        UTF8Decoder().decode(data, final)
    except InvalidUTF8 as exc:
        return exc.offset
    return None
