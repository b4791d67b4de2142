"""atheris harness: the incremental UTF-8 decoder.

Property: arbitrary bytes, cut anywhere, either decode to exactly what the
standard library decodes or fail with ``InvalidUTF8`` at the same offset as
a one-shot decode. Anything else is a crash.
"""

import sys

import atheris

with atheris.instrument_imports():
    from sockit.utf8 import InvalidUTF8, UTF8Decoder, utf8_fail_offset


def decode(chunks: list[bytes]) -> tuple[str, int | None]:
    dec = UTF8Decoder()
    parts = []
    try:
        for chunk in chunks:
            parts.append(dec.decode(chunk))
        parts.append(dec.decode(b"", final=True))
    except InvalidUTF8 as exc:
        return "".join(parts), exc.offset
    return "".join(parts), None


def test_one_input(raw: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(raw)
    cut = fdp.ConsumeIntInRange(0, 64)
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    whole = utf8_fail_offset(data)
    text, offset = decode([data[:cut], data[cut:]])
    if offset != whole:
        raise AssertionError(f"split at {cut} gave {offset}, whole gave {whole}")
    try:
        expected = data.decode("utf-8")
    except UnicodeDecodeError:
        if whole is None:
            raise AssertionError("stdlib refused what we accepted") from None
    else:
        if whole is not None or text != expected:
            raise AssertionError("we refused or mangled valid UTF-8")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
