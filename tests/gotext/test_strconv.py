"""Go's strconv: the forms Go accepts and the text of its errors."""

from __future__ import annotations

import math

import pytest

from pyjaeger.gotext import strconv


@pytest.mark.parametrize(("text", "value"), [(t, True) for t in ("1", "t", "T", "TRUE", "true", "True")]
                         + [(f, False) for f in ("0", "f", "F", "FALSE", "false", "False")])  # fmt: skip
def test_parse_bool(text: str, value: bool) -> None:
    assert strconv.parse_bool(text) is value


@pytest.mark.parametrize("text", ["", "yes", "on", "tRue", " true", "2"])
def test_parse_bool_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r'^strconv\.ParseBool: parsing ".*": invalid syntax$'):
        strconv.parse_bool(text)


def test_parse_int_is_strict_and_reports_overflow_early() -> None:
    assert strconv.parse_int("-9223372036854775808") == -(1 << 63)
    for text in (" 1", "1_0", "٣", "0x1", ""):
        with pytest.raises(ValueError, match="invalid syntax"):
            strconv.parse_int(text)
    with pytest.raises(ValueError, match="value out of range"):
        strconv.parse_int("9223372036854775808")
    # Go stops at the overflow, before the letter that follows.
    with pytest.raises(ValueError, match="value out of range"):
        strconv.parse_int("99999999999999999999x")
    with pytest.raises(ValueError, match="out of range"):
        strconv.parse_int("2147483648", 32)


def test_parse_float() -> None:
    assert strconv.parse_float("1e3") == 1000.0
    assert strconv.parse_float("0x1p-2") == 0.25
    assert math.isinf(strconv.parse_float("-Infinity"))
    for text in ("1_0", " 1", "1e", "0x1"):
        with pytest.raises(ValueError, match="invalid syntax"):
            strconv.parse_float(text)
    with pytest.raises(ValueError, match="value out of range"):
        strconv.parse_float("1e400")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (123456789012.0, "1.23456789e+11"),
        (1e-7, "1e-07"),
        (1e100, "1e+100"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (float("nan"), "NaN"),
    ],
)
def test_format_g(value: float, text: str) -> None:
    assert strconv.format_g(value, 10) == text


def test_quote() -> None:
    assert strconv.quote('a"b\\c\n\x01é\u200b') == '"a\\"b\\\\c\\n\\x01é\\u200b"'
    assert strconv.quote("\udcff") == '"\\xff"'  # a surrogate-escaped byte


def test_decode_hex_and_format_value() -> None:
    assert strconv.decode_hex("0aFF") == b"\n\xff"
    with pytest.raises(ValueError, match="odd length"):
        strconv.decode_hex("abc")
    with pytest.raises(ValueError, match="invalid byte"):
        strconv.decode_hex("zz")
    assert strconv.format_value({"b": [1.0, None, True], "a": "x"}) == "map[a:x b:[1 <nil> true]]"
