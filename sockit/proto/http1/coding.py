"""Content codings (RFC 9110 §8.4): gzip, deflate and, when available, br.

The HTTP/1.1 machine hands body bytes out exactly as they were sent; these
helpers are for whoever wants the representation decoded (the client,
usually) or encoded (a server compressing responses). They work
incrementally, one :class:`~sockit.proto.http1.Data` at a time.

Decoding is where decompression bombs go off, so every decoder has a cap on
its total output (``HTTP1Limits.max_decompressed_size`` by default) and
never *produces* more than one byte past it: zlib is asked for at most
``remaining + 1`` bytes per call, brotli is given an output buffer limit.
Going over raises :class:`LimitExceeded` (``http_status`` 413). Corrupt
input raises :class:`RemoteProtocolError`, never ``zlib.error``; a coding we
cannot decode raises one with ``http_status`` 415.

``deflate`` is supposed to be a zlib stream (RFC 1950) but some servers send
raw deflate (RFC 1951); the decoder looks at the first two bytes to tell
them apart. ``gzip`` bodies may hold several members back to back.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from sockit.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from sockit.limits import HTTP1Limits

try:  # optional extra
    import brotli as _brotli_module  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _brotli: Any = None
else:
    _brotli = _brotli_module

__all__ = [
    "Decoder",
    "Encoder",
    "MultiDecoder",
    "decoder_for",
    "parse_content_encoding",
    "supported_codings",
]

_DEFAULT_CAP = HTTP1Limits().max_decompressed_size
_ALIASES = {"x-gzip": "gzip"}


def supported_codings() -> tuple[str, ...]:
    """The codings this installation can decode and encode (for Accept-Encoding)."""
    base = ("gzip", "deflate")
    return (*base, "br") if _brotli is not None else base


def _normalize(coding: str | bytes) -> str:
    text = coding.decode("latin-1") if isinstance(coding, bytes) else coding
    text = text.strip(" \t").lower()
    return _ALIASES.get(text, text)


def parse_content_encoding(values: Iterable[str | bytes]) -> list[str]:
    """The codings of Content-Encoding field values, in the order applied."""
    out: list[str] = []
    for value in values:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        for element in text.split(","):
            name = _normalize(element)
            if name:
                out.append(name)
    return out


def _corrupt(coding: str, exc: Exception) -> RemoteProtocolError:
    return RemoteProtocolError(f"corrupt {coding} content: {exc}", http_status=400)


class Decoder:
    """Decodes one content coding incrementally, with a cap on the output.

    ``identity`` passes bytes through (still counted against the cap).
    """

    __slots__ = ("_br", "_coding", "_fed", "_left", "_max", "_pending", "_z")

    def __init__(self, coding: str | bytes, *, max_size: int | None = None) -> None:
        name = _normalize(coding)
        if name not in ("gzip", "deflate", "identity") and not (
            name == "br" and _brotli is not None
        ):
            raise RemoteProtocolError(f"content coding {name!r} is not supported", http_status=415)
        self._coding = name
        self._max = _DEFAULT_CAP if max_size is None else max_size
        self._left = self._max
        self._fed = False
        self._pending = b""  # deflate: the first byte, until the second tells the format
        self._z: Any = zlib.decompressobj(31) if name == "gzip" else None
        self._br: Any = _brotli.Decompressor() if name == "br" else None

    @property
    def coding(self) -> str:
        """The normalized coding name (``x-gzip`` becomes ``gzip``)."""
        return self._coding

    def _emit(self, out: list[bytes], chunk: bytes) -> None:
        if not chunk:
            return
        self._left -= len(chunk)
        if self._left < 0:
            raise LimitExceeded(
                f"decoded content is larger than max_decompressed_size={self._max}",
                limit="max_decompressed_size",
                value=self._max,
                http_status=413,
            )
        out.append(chunk)

    def decompress(self, data: bytes) -> bytes:
        """The decoded bytes ``data`` completes (maybe ``b""``)."""
        data = bytes(data)
        if not data:
            return b""
        self._fed = True
        out: list[bytes] = []
        coding = self._coding
        if coding == "identity":
            self._emit(out, data)
        elif coding == "br":
            self._brotli(out, data)
        else:
            if coding == "deflate" and self._z is None:
                data = self._pending + data
                if len(data) < 2:
                    self._pending = data
                    return b""
                self._pending = b""
                cmf, flg = data[0], data[1]
                is_zlib = cmf & 0x0F == 8 and (cmf << 8 | flg) % 31 == 0
                self._z = zlib.decompressobj(15 if is_zlib else -15)
            self._zlib(out, data)
        return b"".join(out)

    def _zlib(self, out: list[bytes], data: bytes) -> None:
        try:
            while data:
                z = self._z
                if z.eof:
                    if self._coding != "gzip":
                        raise RemoteProtocolError(
                            f"data after the end of the {self._coding} stream", http_status=400
                        )
                    z = self._z = zlib.decompressobj(31)  # the next gzip member
                self._emit(out, z.decompress(data, self._left + 1))
                data = z.unused_data if z.eof else z.unconsumed_tail
        except zlib.error as exc:
            raise _corrupt(self._coding, exc) from None

    def _brotli(self, out: list[bytes], data: bytes) -> None:
        d = self._br
        try:
            self._emit(out, d.process(data, output_buffer_limit=self._left + 1))
            while not d.can_accept_more_data():
                self._emit(out, d.process(b"", output_buffer_limit=self._left + 1))
        except _brotli.error as exc:
            raise _corrupt("br", exc) from None

    def flush(self) -> bytes:
        """The body ended: the last bytes, or RemoteProtocolError if truncated."""
        if not self._fed or self._coding == "identity":
            return b""
        if self._coding == "br":
            if not self._br.is_finished():
                raise RemoteProtocolError("truncated br content", http_status=400)
            return b""
        if self._z is None:  # one byte of deflate: cannot be a whole stream
            raise RemoteProtocolError("truncated deflate content", http_status=400)
        out: list[bytes] = []
        try:
            self._emit(out, self._z.flush())
        except zlib.error as exc:
            raise _corrupt(self._coding, exc) from None
        if not self._z.eof:
            raise RemoteProtocolError(f"truncated {self._coding} content", http_status=400)
        return b"".join(out)


class MultiDecoder:
    """Several codings, as listed in Content-Encoding, undone in reverse order.

    The cap applies to every stage, so no stage can inflate past it.
    """

    __slots__ = ("_stages",)

    def __init__(self, codings: Iterable[str | bytes], *, max_size: int | None = None) -> None:
        names = [_normalize(c) for c in codings]
        self._stages = [Decoder(c, max_size=max_size) for c in reversed(names)]

    def decompress(self, data: bytes) -> bytes:
        """Run ``data`` through every stage."""
        for stage in self._stages:
            data = stage.decompress(data)
        return data

    def flush(self) -> bytes:
        """Finish every stage, feeding each one's tail to the next."""
        out = b""
        for stage in self._stages:
            out = stage.decompress(out) + stage.flush() if out else stage.flush()
        return out


def decoder_for(
    content_encoding: Iterable[str | bytes] | str | bytes, limits: HTTP1Limits | None = None
) -> MultiDecoder:
    """A decoder for a message's Content-Encoding value(s), capped by ``limits``."""
    values: Iterable[str | bytes] = (
        [content_encoding] if isinstance(content_encoding, (str, bytes)) else content_encoding
    )
    cap = (limits or HTTP1Limits()).max_decompressed_size
    return MultiDecoder(
        [c for c in parse_content_encoding(values) if c != "identity"], max_size=cap
    )


class Encoder:
    """Encodes a body incrementally with one coding (gzip, deflate or br)."""

    __slots__ = ("_coding", "_impl")

    def __init__(self, coding: str | bytes, *, level: int | None = None) -> None:
        name = _normalize(coding)
        self._coding = name
        if name in ("gzip", "deflate"):
            wbits = 31 if name == "gzip" else 15
            self._impl: Any = zlib.compressobj(6 if level is None else level, zlib.DEFLATED, wbits)
        elif name == "br" and _brotli is not None:
            self._impl = _brotli.Compressor(quality=5 if level is None else level)
        else:
            raise LocalProtocolError(f"cannot encode content coding {name!r}")

    @property
    def coding(self) -> str:
        """The coding name to put in Content-Encoding."""
        return self._coding

    def compress(self, data: bytes) -> bytes:
        """Encoded bytes for ``data`` (may be ``b""`` while the encoder buffers)."""
        if self._coding == "br":
            return bytes(self._impl.process(bytes(data)))
        return bytes(self._impl.compress(bytes(data)))

    def flush(self) -> bytes:
        """End the stream: the remaining encoded bytes."""
        if self._coding == "br":
            return bytes(self._impl.finish())
        return bytes(self._impl.flush())
