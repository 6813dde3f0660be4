"""Go's encoding/json, as written by every pyjaeger JSON path that must match Jaeger byte for byte."""

from __future__ import annotations

import json

import orjson
import pytest

from pyjaeger.gotext.json import escape_html, marshal, unmarshal_string_map


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (-0.5, "-0.5"),
        (5e-324, "5e-324"),
    ],
)
def test_floats(value: float, text: str) -> None:
    assert marshal(value) == text


def test_strings_escape_as_go() -> None:
    assert (
        marshal('<a href="x">&\u2028\b\x01\x7f\ud800')
        == '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u2028\\b\\u0001\x7f\\ufffd"'
    )


def test_maps_sort_keys_structs_keep_their_order() -> None:
    value = {"b": 1, "a": [True, None, b"\x00\xff"]}
    assert marshal(value) == '{"a":[true,null,"AP8="],"b":1}'
    assert marshal(value, sort_keys=False) == '{"b":1,"a":[true,null,"AP8="]}'


def test_non_finite() -> None:
    with pytest.raises(ValueError, match=r"json: unsupported value: \+Inf"):
        marshal([float("inf")])
    assert marshal([float("nan"), float("-inf")], non_finite="proto") == '["NaN","-Infinity"]'


def test_escape_html_matches_marshal() -> None:
    doc = {"k": "<&>\u2028\u2029 plain"}
    assert escape_html(orjson.dumps(doc)).decode() == marshal(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "unexpected end of JSON input"),
        ('{"a" 1}', "invalid character '1' after object key"),
        ('{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        ("[1 2]", "invalid character '2' after array element"),
        ("NaN", "invalid character 'N' looking for beginning of value"),
        ("[]", "json: cannot unmarshal array into Go value of type map[string]string"),
        ('{"a":1}', "json: cannot unmarshal number into Go value of type string"),
    ],
)
def test_unmarshal_errors_read_as_go(text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        unmarshal_string_map(text)
    assert str(e.value) == message


def test_unmarshal_nulls_and_surrogates() -> None:
    assert unmarshal_string_map("null") == {}
    assert unmarshal_string_map(json.dumps({"a": None, "\ud800": "x"})) == {"a": "", "\ufffd": "x"}
