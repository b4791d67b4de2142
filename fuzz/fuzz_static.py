"""atheris harness: the request-facing parsers of ``StaticFiles``.

The first byte picks one: the path grammar (``path_segments``), entity-tag
lists (``parse_etag_list``), ``If-Range`` values, or a Range plan for a
representation whose size comes from the next two bytes. Properties: no
exception at all (these never raise on input); segments never hold ``/``,
``\\``, NUL or a leading dot; planned ranges are sorted, disjoint, inside
the representation, and only ``206`` carries ranges.
"""

import sys

import atheris

with atheris.instrument_imports():
    from sockit.server._static_open import path_segments
    from sockit.server._static_ranges import plan_ranges
    from sockit.server._static_validators import EntityTag, if_range_matches, parse_etag_list

_TAG = EntityTag(b"0123456789abcdef")


def _check_segments(data: bytes) -> None:
    segments = path_segments(b"/" + data)
    for segment in segments or []:
        if not segment or segment[0] == "." or any(c in segment for c in "/\\\x00"):
            raise AssertionError(f"segment {segment!r} from {data!r}")


def _check_ranges(data: bytes) -> None:
    size = int.from_bytes(data[:2], "big")
    status, ranges = plan_ranges(data[2:], size, 16)
    if status not in (200, 206, 416) or (status == 206) != bool(ranges):
        raise AssertionError(f"{status} {ranges!r} for {data!r}")
    end = -2
    for first, last in ranges:
        if not end + 1 < first <= last < size:
            raise AssertionError(f"bad range {(first, last)} of {size} for {data!r}")
        end = last


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    choice, data = raw[0] % 4, raw[1:]
    if choice == 0:
        _check_segments(data)
    elif choice == 1:
        parse_etag_list(data)
    elif choice == 2:
        if_range_matches(data, etag=_TAG, last_modified=1_700_000_000, last_modified_strong=True)
    else:
        _check_ranges(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
