"""HTTP-date (RFC 9110 §5.6.7): parse the three formats, emit IMF-fixdate.

Parsing uses one anchored regex per format and integer calendar arithmetic
(no ``strptime``, so no locale or ``time`` module dependence). The grammar is
case-sensitive and followed exactly; fields are range-checked (day of month
against the month and leap years, seconds up to 60 for a leap second). The
day name is checked for spelling but not against the date: RFC 9110 asks
recipients to be robust and many generators got weekdays wrong.

The two-digit year of rfc850-date needs the current time to apply the
"not more than 50 years in the future" rule; ``proto`` never reads clocks, so
pass ``now``. Without it, years 69-99 mean 19xx and 00-68 mean 20xx (the
POSIX ``%y`` pivot).
"""

from __future__ import annotations

import math
import re

from sockit.errors import LocalProtocolError
from sockit.proto.http.exceptions import InvalidDate

__all__ = ["format_http_date", "parse_http_date", "try_parse_http_date"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {name: i + 1 for i, name in enumerate(_MONTHS)}
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_DAY = "|".join(_DAYS)
_MONTH = "|".join(_MONTHS)
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
_IMF_RE = re.compile(rf"(?:{_DAY}), ([0-9]{{2}}) ({_MONTH}) ([0-9]{{4}}) {_TIME} GMT")
_RFC850_RE = re.compile(
    rf"(?:{'|'.join(_LONG_DAYS)}), ([0-9]{{2}})-({_MONTH})-([0-9]{{2}}) {_TIME} GMT"
)
_ASCTIME_RE = re.compile(rf"(?:{_DAY}) ({_MONTH}) ([0-9]{{2}}| [0-9]) {_TIME} ([0-9]{{4}})")

_SECONDS_PER_DAY = 86400


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Inverse of :func:`_days_from_civil`: (year, month, day)."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    mp = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def _two_digit_year(yy: int, now: float | None) -> int:
    if now is None:
        return 1900 + yy if yy >= 69 else 2000 + yy
    if not math.isfinite(now):
        raise LocalProtocolError(f"now must be a finite timestamp, not {now!r}")
    current = _civil_from_days(math.floor(now) // _SECONDS_PER_DAY)[0]
    year = current - current % 100 + yy
    if year > current + 50:
        year -= 100
    elif year <= current - 50:
        year += 100
    return year


def _timestamp(text: str, year: int, month: int, day: int, clock: list[str]) -> int:
    hour, minute, second = int(clock[0]), int(clock[1]), int(clock[2])
    limit = _DAYS_IN_MONTH[month - 1] + (month == 2 and _is_leap(year))
    if not 1 <= day <= limit or hour > 23 or minute > 59 or second > 60:
        raise InvalidDate(f"HTTP-date out of range: {text!r}")
    days = _days_from_civil(year, month, day)
    return days * _SECONDS_PER_DAY + hour * 3600 + minute * 60 + second


def parse_http_date(value: str | bytes, *, now: float | None = None) -> int:
    """The POSIX timestamp of an HTTP-date in any of its three formats.

    Raises :class:`InvalidDate` (a :class:`RemoteProtocolError`) if ``value``
    is not one. ``now`` (a POSIX timestamp) resolves rfc850 two-digit years.
    """
    text = value if isinstance(value, str) else bytes(value).decode("latin-1")
    sep = text[3:4]
    if sep == ",":
        match = _IMF_RE.fullmatch(text)
        layout = (1, 2, 3, 4)  # groups of day, month, year, first clock field
    elif sep == " ":
        match = _ASCTIME_RE.fullmatch(text)
        layout = (2, 1, 6, 3)
    else:
        match = _RFC850_RE.fullmatch(text)
        layout = (1, 2, 3, 4)
    if match is None:
        raise InvalidDate(f"not an HTTP-date: {text[:64]!r}")
    day_g, month_g, year_g, clock_g = layout
    year = int(match.group(year_g))
    if sep not in (",", " "):
        year = _two_digit_year(year, now)
    clock = [match.group(clock_g), match.group(clock_g + 1), match.group(clock_g + 2)]
    month = _MONTH_NUMBER[match.group(month_g)]
    return _timestamp(text, year, month, int(match.group(day_g)), clock)


def try_parse_http_date(value: str | bytes | None, *, now: float | None = None) -> int | None:
    """Like :func:`parse_http_date` but ``None`` for a missing or invalid date.

    Fits fields where RFC 9110/9111 say an invalid date is ignored
    (``If-Modified-Since``) or treated as "in the past" (``Expires``).
    """
    if value is None:
        return None
    try:
        return parse_http_date(value, now=now)
    except InvalidDate:
        return None


def format_http_date(timestamp: float) -> str:
    """IMF-fixdate for a POSIX timestamp (fractions are truncated toward -inf).

    Raises :class:`LocalProtocolError` for a non-finite timestamp or one
    outside years 0000-9999, which the format cannot express.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise LocalProtocolError(f"timestamp must be a number, not {timestamp!r}")
    if not math.isfinite(timestamp):
        raise LocalProtocolError(f"cannot format timestamp {timestamp!r}")
    seconds = math.floor(timestamp)
    days, rest = divmod(seconds, _SECONDS_PER_DAY)
    year, month, day = _civil_from_days(days)
    if not 0 <= year <= 9999:
        raise LocalProtocolError(f"timestamp {timestamp!r} is outside years 0000-9999")
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    weekday = _DAYS[(days + 3) % 7]  # 1970-01-01 was a Thursday
    return (
        f"{weekday}, {day:02d} {_MONTHS[month - 1]} {year:04d} "
        f"{hour:02d}:{minute:02d}:{second:02d} GMT"
    )
