"""atheris harness: WWW-Authenticate / Authorization parsing and the Digest challenge.

Property: arbitrary bytes (as a header value, decoded as latin-1 like a
header) either parse into challenges or raise a ``SockitError``; a parsed
Digest challenge either becomes a ``DigestChallenge`` (whose answer can be
computed) or raises a ``SockitError`` — never anything else.
"""

import contextlib
import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.proto.http.auth_challenge import (
        DigestChallenge,
        digest_authorization,
        parse_challenges,
        parse_credentials,
    )


def one_input(data: bytes) -> None:
    text = data.decode("latin-1")
    try:
        challenges = parse_challenges(text)
    except SockitError:
        challenges = []
    for challenge in challenges:
        if challenge.scheme != "digest":
            continue
        try:
            dc = DigestChallenge.from_challenge(challenge)
            digest_authorization(dc, username="u", password=b"p", method="GET", uri="/",
                                 nc=1, cnonce="0a4f113b")
        except SockitError:
            pass
    with contextlib.suppress(SockitError):
        parse_credentials(text)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
