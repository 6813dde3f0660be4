"""Go `time.Duration` text: parse `time.ParseDuration` syntax and format like `Duration.String()`.

Jaeger's query API takes `minDuration`/`maxDuration` as Go duration strings ("1.5ms", "2h45m")
and answers bad input with Go's own error text, so the parser follows Go's algorithm step by
step, overflow checks and error messages included. The model keeps microseconds, so the public
parser truncates toward zero; `parse_go_duration_ns` keeps Go's nanoseconds for callers that must
round differently (the search parameters round a lower bound up).
"""

from __future__ import annotations

__all__ = ["parse_go_duration", "parse_go_duration_ns", "format_go_duration"]

_NS_PER_US = 1_000
_UINT63 = 1 << 63  # Go accumulates |d| in a uint64 and allows up to 1<<63 for -1<<63

# Both micro signs are accepted: U+00B5 (micro sign) and U+03BC (Greek mu), as in Go's unitMap.
_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_DIGITS = frozenset("0123456789")
_HEX = "0123456789abcdef"


def _quote(s: str) -> str:
    """Go's `time.quote`: like strconv.Quote for ASCII, but every byte of a non-ASCII or
    control character is written as `\\xNN` (the time package avoids depending on strconv)."""
    out = ['"']
    for c in s:
        if c >= "\x80" or c < " ":
            for b in c.encode("utf-8", "surrogatepass"):
                out.append("\\x" + _HEX[b >> 4] + _HEX[b & 0xF])
        else:
            if c in '"\\':
                out.append("\\")
            out.append(c)
    out.append('"')
    return "".join(out)


def _invalid(orig: str) -> ValueError:
    return ValueError("time: invalid duration " + _quote(orig))


def parse_go_duration_ns(s: str) -> int:
    """Go's `time.ParseDuration`, returning integer nanoseconds; ValueError with Go's message."""
    orig = s
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    # Go's special case: a bare "0" (optionally signed) needs no unit.
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    n = len(s)
    i = 0
    while i < n:
        c = s[i]
        if not (c == "." or c in _DIGITS):
            raise _invalid(orig)
        # Integer part: [0-9]*, overflow past 1<<63 is an error as in Go's leadingInt.
        start = i
        v = 0
        while i < n and s[i] in _DIGITS:
            if v > _UINT63 // 10:
                raise _invalid(orig)
            v = v * 10 + (ord(s[i]) - 48)
            if v > _UINT63:
                raise _invalid(orig)
            i += 1
        pre = i != start
        # Fraction part: (\.[0-9]*)?, precision silently stops when it would overflow (leadingFraction).
        f = 0
        scale = 1.0
        post = False
        if i < n and s[i] == ".":
            i += 1
            fstart = i
            overflow = False
            while i < n and s[i] in _DIGITS:
                if not overflow:
                    if f > (_UINT63 - 1) // 10:
                        overflow = True
                    else:
                        y = f * 10 + (ord(s[i]) - 48)
                        if y > _UINT63:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i != fstart
        if not pre and not post:
            raise _invalid(orig)
        # Unit: everything up to the next digit or period.
        ustart = i
        while i < n and not (s[i] == "." or s[i] in _DIGITS):
            i += 1
        if i == ustart:
            raise ValueError("time: missing unit in duration " + _quote(orig))
        u = s[ustart:i]
        unit = _UNITS.get(u)
        if unit is None:
            raise ValueError("time: unknown unit " + _quote(u) + " in duration " + _quote(orig))
        if v > _UINT63 // unit:
            raise _invalid(orig)
        v *= unit
        if f > 0:
            # Go uses float64 here too; copying it keeps fractions bit-for-bit identical.
            v += int(float(f) * (float(unit) / scale))
            if v > _UINT63:
                raise _invalid(orig)
        total += v
        if total > _UINT63:
            raise _invalid(orig)
    if neg:
        return -total
    if total > _UINT63 - 1:
        raise _invalid(orig)
    return total


def parse_go_duration(s: str) -> int:
    """Go duration syntax ("1h2m3.5s", "100ms", "1.5us", "-1s", "0") to integer µs, truncated
    toward zero. ValueError carries Go's message, e.g. `time: invalid duration "5x"`."""
    ns = parse_go_duration_ns(s)
    return ns // _NS_PER_US if ns >= 0 else -(-ns // _NS_PER_US)


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of v/10**prec without trailing zeros, and v/10**prec."""
    digits = []
    printed = False
    for _ in range(prec):
        d = v % 10
        printed = printed or d != 0
        if printed:
            digits.append(chr(48 + d))
        v //= 10
    if printed:
        return "." + "".join(reversed(digits)), v
    return "", v


def format_go_duration(us: int) -> str:
    """µs in Go's `Duration.String()` form: "1h2m3.5s", "1.5ms", "250µs", "0s"."""
    u = abs(us) * _NS_PER_US
    sign = "-" if us < 0 else ""
    if u == 0:
        return "0s"
    if u < 1_000_000_000:
        # Below a second Go switches to the largest sub-second unit, with a fraction.
        if u < 1_000:
            prec, unit = 0, "ns"
        elif u < 1_000_000:
            prec, unit = 3, "\u00b5s"
        else:
            prec, unit = 6, "ms"
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins:
        out = f"{mins % 60}m{out}"
        hours = mins // 60
        if hours:
            out = f"{hours}h{out}"
    return sign + out
