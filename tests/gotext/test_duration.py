from __future__ import annotations

import pytest

from pyjaeger.gotext.duration import format_go_duration, parse_go_duration, parse_go_duration_ns


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("0s", 0),
        ("5s", 5_000_000_000),
        ("30s", 30_000_000_000),
        ("1478s", 1_478_000_000_000),
        ("-5s", -5_000_000_000),
        ("+5s", 5_000_000_000),
        ("-0s", 0),
        ("5.0s", 5_000_000_000),
        ("5.6s", 5_600_000_000),
        ("5.s", 5_000_000_000),
        (".5s", 500_000_000),
        ("1.0s", 1_000_000_000),
        ("1.00s", 1_000_000_000),
        ("1.004s", 1_004_000_000),
        ("1.0040s", 1_004_000_000),
        ("100.00100s", 100_001_000_000),
        ("10ns", 10),
        ("11us", 11_000),
        ("12\u00b5s", 12_000),  # micro sign
        ("12\u03bcs", 12_000),  # Greek mu
        ("13ms", 13_000_000),
        ("14s", 14_000_000_000),
        ("15m", 900_000_000_000),
        ("16h", 57_600_000_000_000),
        ("3h30m", 12_600_000_000_000),
        ("10.5s4m", 250_500_000_000),
        ("-2m3.4s", -123_400_000_000),
        ("1h2m3s4ms5us6ns", 3_723_004_005_006),
        ("39h9m14.425s", 140_954_425_000_000),
        ("52763797000ns", 52_763_797_000),
        ("0.3333333333333333333h", 1_200_000_000_000),
        ("9007199254740993ns", 9_007_199_254_740_993),
        ("9223372036854775807ns", 9_223_372_036_854_775_807),
        ("9223372036854775.807us", 9_223_372_036_854_775_807),
        ("9223372036s854ms775us807ns", 9_223_372_036_854_775_807),
        ("-9223372036854775808ns", -9_223_372_036_854_775_808),
        ("-9223372036854775.808us", -9_223_372_036_854_775_808),
        ("0.100000000000000000000h", 360_000_000_000),
        ("0.830103483285477580700h", 2_988_372_539_827),
    ],
)
def test_parse_ns(text: str, ns: int) -> None:
    # Cases from Go's time_test.go parseDurationTests.
    assert parse_go_duration_ns(text) == ns


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("1h2m3.5s", 3_723_500_000),
        ("100ms", 100_000),
        ("1.5us", 1),
        ("1.5\u00b5s", 1),
        ("250ns", 0),
        ("1999ns", 1),
        ("-1s", -1_000_000),
        ("-1999ns", -1),  # toward zero, not floor
        ("0", 0),
    ],
)
def test_parse_microseconds_truncates_toward_zero(text: str, us: int) -> None:
    assert parse_go_duration(text) == us


@pytest.mark.parametrize(
    ("text", "msg"),
    [
        ("", 'time: invalid duration ""'),
        ("3", 'time: missing unit in duration "3"'),
        ("00", 'time: missing unit in duration "00"'),
        ("1s5", 'time: missing unit in duration "1s5"'),
        ("-", 'time: invalid duration "-"'),
        ("s", 'time: invalid duration "s"'),
        (".", 'time: invalid duration "."'),
        ("-.", 'time: invalid duration "-."'),
        (".s", 'time: invalid duration ".s"'),
        ("+.s", 'time: invalid duration "+.s"'),
        (" 1s", 'time: invalid duration " 1s"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("5x", 'time: unknown unit "x" in duration "5x"'),
        ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
        ("1 s", 'time: unknown unit " s" in duration "1 s"'),
        ("1S", 'time: unknown unit "S" in duration "1S"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        ("9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'),
        ("9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'),
        ("-9223372036854775809ns", 'time: invalid duration "-9223372036854775809ns"'),
        ("3000000h", 'time: invalid duration "3000000h"'),
        # Go's time.quote writes every byte of a non-ASCII character as \xNN.
        ("\u00b5s", 'time: invalid duration "\\xc2\\xb5s"'),
        ("1\u00e9", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
        ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
    ],
)
def test_parse_errors(text: str, msg: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_go_duration(text)
    assert str(exc.value) == msg


@pytest.mark.parametrize(
    ("us", "text"),
    [
        (0, "0s"),
        (1, "1\u00b5s"),
        (999, "999\u00b5s"),
        (1_000, "1ms"),
        (1_100, "1.1ms"),
        (999_999, "999.999ms"),
        (1_000_000, "1s"),
        (2_200_000, "2.2s"),
        (60_000_000, "1m0s"),
        (61_000_001, "1m1.000001s"),
        (3_600_000_000, "1h0m0s"),
        (3_723_500_000, "1h2m3.5s"),
        (90_061_000_000, "25h1m1s"),
        (-1_500, "-1.5ms"),
        (-3_723_500_000, "-1h2m3.5s"),
        (9_223_372_036_854_775, "2562047h47m16.854775s"),
    ],
)
def test_format(us: int, text: str) -> None:
    assert format_go_duration(us) == text


@pytest.mark.parametrize("us", [0, 1, 999, 1_500, 59_999_999, 3_723_500_000, -7_000_001])
def test_format_round_trips(us: int) -> None:
    assert parse_go_duration(format_go_duration(us)) == us
