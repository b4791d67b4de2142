"""Validate a fragmented text stream and report the exact first bad byte.

Run: ``python examples/utf8_stream.py``. A WebSocket server must fail a text
message at the first impossible byte even when the message arrives in pieces;
this shows that, plus the limits object that would bound the message.
"""

from sockit.limits import WSLimits
from sockit.utf8 import InvalidUTF8, UTF8Decoder


def check(fragments: list[bytes], limits: WSLimits) -> None:
    decoder = UTF8Decoder()
    received = 0
    text = []
    try:
        for fragment in fragments:
            received += len(fragment)
            if received > limits.max_message_size:
                print(f"refused: message over {limits.max_message_size} bytes")
                return
            text.append(decoder.decode(fragment))
        text.append(decoder.decode(b"", final=True))
    except InvalidUTF8 as exc:
        print(f"refused at byte {exc.offset}: {exc}")
        return
    print(f"accepted: {''.join(text)!r}")


if __name__ == "__main__":
    limits = WSLimits(max_message_size=64)
    check([b"Hello, ", "wörld".encode()[:3], "wörld".encode()[3:]], limits)
    check([b"bad surrogate: \xed", b"\xa0\x80 never reached"], limits)
    check([b"x" * 40, b"y" * 40], limits)
