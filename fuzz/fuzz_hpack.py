"""atheris harness: the HPACK decoder, Huffman decoder and encoder.

Input layout (keeps seed files readable): a 4-byte control block, then the
data. Control byte 0: bit 0 small limits, bit 1 start the decoder with a
primed dynamic table, bits 2-7 the number of blocks to cut the data into
(1..4); bytes 1-2: a SETTINGS_HEADER_TABLE_SIZE to apply before the second
block; byte 3: where to cut.

Properties, any other outcome being a crash:

* each block decodes or raises a ``SockitError``; after
  ``HeaderListTooLarge`` the decoder keeps going, after ``HPACKError`` it is
  dropped, as the HTTP/2 layer does;
* whatever decodes re-encodes with our encoder and decodes back to the same
  fields in a fresh decoder;
* the data as a Huffman string gives the same octets, or the same error, by
  the state machine and by the zlib path.
"""

import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.limits import HPACKLimits
    from sockit.proto.hpack import Decoder, Encoder, HeaderListTooLarge, HPACKError, huffman

SMALL = HPACKLimits(
    header_table_size=256,
    max_header_list_size=512,
    max_headers=8,
    max_header_size=128,
    max_table_size_updates=1,
    max_decoded_size_cap=1024,
)
ROOMY = HPACKLimits(max_header_table_size=1 << 16)
PRIMER = Encoder().encode(
    [(b":method", b"GET"), (b":authority", b"example.org"), (b"cookie", b"a=b"),
     (b"x-a", b"0123456789" * 3)]
)


def check_round_trip(fields: list[tuple[bytes, bytes]]) -> None:
    block = Encoder().encode(fields)
    again = Decoder(HPACKLimits(max_header_list_size=1 << 22, max_headers=10_000,
                                max_header_size=1 << 22, max_decoded_size_cap=1 << 24))
    if again.decode(block) != fields:
        raise AssertionError("re-encoded fields decode differently")


def check_huffman(data: bytes) -> None:
    try:
        reference = huffman.decode_fsm(data)
    except HPACKError as exc:
        try:
            huffman.decode(data)
        except HPACKError as again:
            if str(again) != str(exc):
                raise AssertionError("Huffman paths refuse differently") from None
            return
        raise AssertionError("zlib path accepted what the state machine refused") from None
    if huffman.decode(data) != reference:
        raise AssertionError("Huffman paths disagree")
    if huffman.encode(reference) != data:
        raise AssertionError("a valid Huffman string re-encodes differently")


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    ctrl = fdp.ConsumeBytes(4).ljust(4, b"\0")
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    limits = SMALL if ctrl[0] & 1 else ROOMY
    decoder = Decoder(limits, max_table_size=4096)
    if ctrl[0] & 2:
        decoder.decode(PRIMER)
    nblocks = 1 + (ctrl[0] >> 2) % 4
    new_size = int.from_bytes(ctrl[1:3], "big") % (limits.max_header_table_size + 1)
    cut = ctrl[3] % (len(data) + 1)
    blocks = [data[:cut], data[cut:]] if nblocks > 1 else [data]
    if nblocks > 2 and len(blocks[1]) > 1:
        half = len(blocks[1]) // 2
        blocks[1:] = [blocks[1][:half], blocks[1][half:]]
    for i, block in enumerate(blocks):
        if i == 1:
            decoder.max_table_size = new_size
        try:
            fields = decoder.decode(block)
        except HeaderListTooLarge:
            continue
        except HPACKError:
            break
        except SockitError as exc:
            raise AssertionError(f"unexpected SockitError {exc!r}") from exc
        check_round_trip(fields)
    check_huffman(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
