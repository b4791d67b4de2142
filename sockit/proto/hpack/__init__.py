"""HPACK (RFC 7541): header compression for HTTP/2, sans-I/O.

::

    from sockit.proto.hpack import Decoder, Encoder

    encoder = Encoder()                      # one per connection direction
    block = encoder.encode([(b":method", b"GET"), (b":path", b"/")])
    decoder = Decoder()                      # HPACKLimits() by default
    fields = decoder.decode(block)           # [(b":method", b"GET"), (b":path", b"/")]

``encoder`` holds the strategy (what to index, what never to index, when to
Huffman-code), ``decoder`` the limits and the bomb guard, ``table`` the
static and dynamic tables, ``coding`` integers and string literals,
``huffman`` the Huffman code. Errors are in ``errors``: :class:`HPACKError`
ends the connection (COMPRESSION_ERROR), :class:`HeaderListTooLarge`
refuses one header list and leaves the connection usable.
"""

from sockit.proto.hpack.decoder import Decoder
from sockit.proto.hpack.encoder import DEFAULT_NEVER_INDEX, Encoder
from sockit.proto.hpack.errors import (
    COMPRESSION_ERROR,
    HeaderListTooLarge,
    HPACKError,
    HPACKLimitExceeded,
)
from sockit.proto.hpack.table import STATIC_TABLE

__all__ = [
    "COMPRESSION_ERROR",
    "DEFAULT_NEVER_INDEX",
    "STATIC_TABLE",
    "Decoder",
    "Encoder",
    "HPACKError",
    "HPACKLimitExceeded",
    "HeaderListTooLarge",
]
