"""The lenient cookie-date algorithm of RFC 6265 §5.1.1.

``Expires`` values in the wild are not HTTP-dates: servers send two-digit
years, dashes instead of spaces, missing weekdays, time zones other than GMT
and stray words. RFC 6265 therefore defines its own parser, which this module
follows step by step: cut the text into tokens at delimiter octets, then take
the first token that looks like a time, the first that looks like a day of
the month, the first that starts with a month name and the first that looks
like a year, in that order of preference for each token. Anything left over is
ignored; a missing or out-of-range part makes the whole date invalid.

The RFC's ``( non-digit *OCTET )`` suffixes are read as optional, as every
browser does (RFC 6265 erratum 4148): ``"12:00:00"`` is a time and ``"1999"``
a year. Dates are UTC; the result is POSIX seconds (negative before 1970).
"""

from __future__ import annotations

import calendar
import re

__all__ = ["parse_cookie_date"]

# delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E; everything else
# (including octets above %x7E and, for str input, any non-Latin-1 character)
# is part of a token.
_TOKEN_RE = re.compile(r"[^\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_TIME_RE = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DAY_RE = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?", re.S)
_YEAR_RE = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?", re.S)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_cookie_date(text: str) -> float | None:
    """POSIX seconds for a cookie ``Expires`` value, or ``None`` if it fails.

    Failure is not an error in RFC 6265: the attribute is simply ignored, so
    this returns ``None`` instead of raising.
    """
    time_: tuple[int, int, int] | None = None
    day: int | None = None
    month: int | None = None
    year: int | None = None
    for match in _TOKEN_RE.finditer(text):
        token = match.group()
        if time_ is None and (m := _TIME_RE.fullmatch(token)) is not None:
            time_ = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        elif day is None and (m := _DAY_RE.fullmatch(token)) is not None:
            day = int(m.group(1))
        elif month is None and token[:3].isascii() and token[:3].lower() in _MONTHS:
            month = _MONTHS[token[:3].lower()]
        elif year is None and (m := _YEAR_RE.fullmatch(token)) is not None:
            year = int(m.group(1))
    if time_ is None or day is None or month is None or year is None:
        return None
    if 70 <= year <= 99:
        year += 1900
    elif 0 <= year <= 69:
        year += 2000
    hour, minute, second = time_
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    if day > _DAYS_IN_MONTH[month - 1] or (month == 2 and day == 29 and not calendar.isleap(year)):
        return None  # "the date does not exist": Feb 30, Apr 31, Feb 29 1999
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
