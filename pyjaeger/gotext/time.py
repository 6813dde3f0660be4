"""Go's `time.Parse(time.RFC3339Nano, s)`: RFC 3339 at any precision, with Go's error texts
(the api_v3 gateway reports them verbatim)."""

from __future__ import annotations

__all__ = ["parse_rfc3339_nano"]

_RFC3339_NANO = b"2006-01-02T15:04:05.999999999Z07:00"
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_quote(b: bytes) -> str:
    """The time package's quote: ASCII as is (quotes and backslashes escaped), every other byte
    and every control byte as \\xNN."""
    out = ['"']
    for c in b:
        if c >= 0x80 or c < 0x20:
            out.append(f"\\x{c:02x}")
        else:
            if c in (0x22, 0x5C):
                out.append("\\")
            out.append(chr(c))
    out.append('"')
    return "".join(out)


class _Bad(Exception):
    """An element did not parse: (layout element, value from where it started)."""


def _parse_error(value: bytes, layout_elem: bytes, value_elem: bytes, message: str = "") -> ValueError:
    if message:
        return ValueError(f"parsing time {_go_quote(value)}{message}")
    return ValueError(
        f"parsing time {_go_quote(value)} as {_go_quote(_RFC3339_NANO)}: cannot parse "
        f"{_go_quote(value_elem)} as {_go_quote(layout_elem)}"
    )


def _is_digit(b: bytes, i: int) -> bool:
    return i < len(b) and 0x30 <= b[i] <= 0x39


def _getnum(b: bytes, fixed: bool) -> tuple[int, bytes] | None:
    if not _is_digit(b, 0):
        return None
    if not _is_digit(b, 1):
        if fixed:
            return None
        return b[0] - 0x30, b[1:]
    return (b[0] - 0x30) * 10 + (b[1] - 0x30), b[2:]


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (year 0 included)."""
    y -= m <= 2
    era = y // 400  # Python's floor division: right for negative years too
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_rfc3339_nano(text: str) -> int:
    """Nanoseconds since the epoch of `text` as Go's `time.Parse(time.RFC3339Nano, text)` reads
    it (years 0000-9999, the fraction any length and truncated to ns); ValueError with Go's
    message otherwise. Go walks the layout element by element over bytes; so does this."""
    value = text.encode("utf-8", "surrogateescape")
    rest = value

    def skip(prefix: bytes) -> None:
        nonlocal rest
        if not rest.startswith(prefix):
            raise _parse_error(value, prefix, rest)
        rest = rest[len(prefix) :]

    def bad(layout_elem: bytes, hold: bytes) -> ValueError:
        return _parse_error(value, layout_elem, hold)

    def out_of_range(what: str) -> ValueError:
        return _parse_error(value, b"", b"", f": {what} out of range")

    # 2006: four characters, the first a digit, all of them an integer.
    hold = rest
    if len(rest) < 4 or not _is_digit(rest, 0) or not rest[:4].isdigit():
        raise bad(b"2006", hold)
    year, rest = int(rest[:4]), rest[4:]
    skip(b"-")
    hold = rest
    got = _getnum(rest, True)
    if got is None:
        raise bad(b"01", hold)
    month, rest = got
    if not 1 <= month <= 12:
        raise out_of_range("month")
    skip(b"-")
    hold = rest
    got = _getnum(rest, True)
    if got is None:
        raise bad(b"02", hold)
    day, rest = got
    skip(b"T")
    hold = rest
    got = _getnum(rest, False)  # the hour alone may have one digit
    if got is None:
        raise bad(b"15", hold)
    hour, rest = got
    if hour >= 24:
        raise out_of_range("hour")
    skip(b":")
    hold = rest
    got = _getnum(rest, True)
    if got is None:
        raise bad(b"04", hold)
    minute, rest = got
    if minute >= 60:
        raise out_of_range("minute")
    skip(b":")
    hold = rest
    got = _getnum(rest, True)
    if got is None:
        raise bad(b"05", hold)
    second, rest = got
    if second >= 60:
        raise out_of_range("second")
    nsec = 0
    if len(rest) >= 2 and rest[0] in b".," and _is_digit(rest, 1):
        n = 1
        while _is_digit(rest, n):
            n += 1
        digits = rest[1:n][:9]
        nsec = int(digits) * 10 ** (9 - len(digits))
        rest = rest[n:]
    hold = rest
    offset = 0
    if rest[:1] == b"Z":
        rest = rest[1:]
    else:
        if len(rest) < 6 or rest[3:4] != b":":
            raise bad(b"Z07:00", hold)
        sign, hh, mm, rest = rest[:1], rest[1:3], rest[4:6], rest[6:]
        hours = _getnum(hh, True)
        minutes = _getnum(mm, True) if hours is not None else None
        hr = hours[0] if hours is not None else 0
        mn = minutes[0] if minutes is not None else 0
        # Go checks the ranges (with >, as some write +24:00) before reporting a bad digit.
        if mn > 60:
            raise out_of_range("time zone offset minute")
        if hr > 24:
            raise out_of_range("time zone offset hour")
        if hours is None or minutes is None or sign not in (b"+", b"-"):
            raise bad(b"Z07:00", hold)
        offset = (hr * 60 + mn) * 60 * (1 if sign == b"+" else -1)
    if rest:
        raise _parse_error(value, b"", rest, f": extra text: {_go_quote(rest)}")
    days_in_month = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    if not 1 <= day <= days_in_month:
        raise out_of_range("day")
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds * 1_000_000_000 + nsec
