"""DTLS 1.2 record framing: splitting OpenSSL's output into datagrams.

OpenSSL writes DTLS records into a memory BIO, which is a byte stream: the
datagram boundaries it meant are lost. Each record carries its length in its
13-byte header (type, version, epoch, sequence number, length; RFC 6347
section 4.1), so the stream is cut back into records here and the records are
packed into datagrams no larger than the MTU. A record never spans two
datagrams and records are independent, so any packing that respects the MTU
is valid DTLS.

:func:`peek_record_types` looks at the headers of an incoming datagram
without trusting them (it is only a hint for the engine's bookkeeping).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HEADER_SIZE", "pack_datagrams", "peek_record_types", "split_records"]

HEADER_SIZE: Final = 13
_DTLS_MAJOR: Final = 0xFE


def split_records(stream: bytes) -> list[bytes]:
    """Cut a stream of whole DTLS records into records (a torn tail is kept whole)."""
    records: list[bytes] = []
    pos, end = 0, len(stream)
    while pos < end:
        if end - pos < HEADER_SIZE:
            records.append(stream[pos:])
            break
        length = (stream[pos + 11] << 8) | stream[pos + 12]
        stop = min(end, pos + HEADER_SIZE + length)
        records.append(stream[pos:stop])
        pos = stop
    return records


def pack_datagrams(records: list[bytes], mtu: int) -> list[bytes]:
    """Pack records, in order, into as few datagrams of at most ``mtu`` bytes as fit.

    A record larger than the MTU on its own gets a datagram of its own (the
    engine refuses payloads that would make one; this is a last resort).
    """
    datagrams: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for record in records:
        if current and size + len(record) > mtu:
            datagrams.append(b"".join(current))
            current, size = [], 0
        current.append(record)
        size += len(record)
    if current:
        datagrams.append(b"".join(current))
    return datagrams


def peek_record_types(datagram: bytes) -> list[int]:
    """The content types of the plausible DTLS records in ``datagram`` (best effort).

    Stops at the first header that is not DTLS (version major byte 0xFE) or
    whose length runs past the datagram.
    """
    types: list[int] = []
    pos, end = 0, len(datagram)
    while end - pos >= HEADER_SIZE:
        if datagram[pos + 1] != _DTLS_MAJOR:
            break
        length = (datagram[pos + 11] << 8) | datagram[pos + 12]
        if pos + HEADER_SIZE + length > end:
            break
        types.append(datagram[pos])
        pos += HEADER_SIZE + length
    return types
