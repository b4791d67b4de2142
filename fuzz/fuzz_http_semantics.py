"""atheris harness: the HTTP semantics parsers in ``sockit.proto.http``.

The first byte picks a parser (URL, request target, dates, media types,
Accept*, Cache-Control, Range, Content-Range, list splitting, percent
decoding, query strings); the rest is its input, as bytes and as text.
Property: every input parses or raises a ``SockitError``; a parsed URL
serialises to a string that parses again to the same URL.
"""

import sys

import atheris

with atheris.instrument_imports():
    from sockit.errors import SockitError
    from sockit.proto import http

PARSERS = [
    http.URL.parse,
    lambda v: http.URL.parse(v, lenient=True),
    lambda v: http.URL.from_request_target(v, b"GET"),
    lambda v: http.URL.from_request_target(v, b"CONNECT"),
    http.parse_http_date,
    http.MediaType.parse,
    http.parse_accept,
    http.parse_accept_encoding,
    http.parse_accept_language,
    http.CacheControl.parse,
    http.parse_range,
    http.parse_content_range,
    http.split_list,
]
TEXT_ONLY = [http.unquote, http.parse_query]


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    choice, data = raw[0], raw[1:]
    funcs = PARSERS + TEXT_ONLY
    func = funcs[choice % len(funcs)]
    inputs: list[object] = [data.decode("latin-1")]
    if func not in TEXT_ONLY:
        inputs.append(data)
    for value in inputs:
        try:
            result = func(value)  # type: ignore[operator]
        except SockitError:
            continue
        if isinstance(result, http.URL) and choice % len(funcs) in (0, 1):
            again = http.URL.parse(str(result), lenient=True)
            if again != result:
                raise AssertionError(f"{result!r} does not survive a round trip: {again!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
