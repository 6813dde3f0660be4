from __future__ import annotations

import pytest

from pyjaeger.query.params import (
    ParamError,
    parse_bool,
    parse_dependencies,
    parse_get_trace,
    parse_operations,
    parse_search,
    parse_trace_id,
    pretty_print,
)
from pyjaeger.storage.base import TraceQuery

NOW_US = 1_700_000_000_000_000
H48_US = 48 * 3600 * 1_000_000
LIMIT = "unable to parse param 'limit': "


def q(query: str) -> list[tuple[str, str]]:
    """A query string as Starlette's multi_items() gives it (values already unescaped)."""
    out = []
    for part in query.split("&"):
        if part:
            k, _, v = part.partition("=")
            out.append((k, v))
    return out


def search_error(query: str) -> str:
    with pytest.raises(ParamError) as exc:
        parse_search(q(query), NOW_US)
    return str(exc.value)


# --- search: defaults and values --------------------------------------------------------------


def test_search_defaults() -> None:
    s = parse_search(q("service=svc"), NOW_US)
    assert s.query == TraceQuery(
        service_name="svc",
        operation_name="",
        tags={},
        start_time_min=NOW_US - H48_US,
        start_time_max=NOW_US,
        duration_min=None,
        duration_max=None,
        num_traces=100,
    )
    assert s.trace_ids == []
    assert s.raw is False


def test_search_typical_ui_request() -> None:
    # From UI 1.x: lookback is ignored and bare minDuration/maxDuration mean unset.
    s = parse_search(
        q(
            "end=1723000000000000&limit=20&lookback=1h&maxDuration&minDuration&service=frontend"
            "&start=1722996400000000&operation=HTTP GET"
        ),
        NOW_US,
    )
    assert s.query == TraceQuery(
        service_name="frontend",
        operation_name="HTTP GET",
        start_time_min=1722996400000000,
        start_time_max=1723000000000000,
        num_traces=20,
    )


def test_search_all_values() -> None:
    s = parse_search(
        q("service=s&operation=o&start=0&end=0&limit=200&minDuration=10s&maxDuration=20s&raw=true"), NOW_US
    )
    assert s.query.start_time_min == 0
    assert s.query.start_time_max == 0
    assert s.query.num_traces == 200
    assert s.query.duration_min == 10_000_000
    assert s.query.duration_max == 20_000_000
    assert s.raw is True


def test_first_value_wins_for_single_valued_params() -> None:
    s = parse_search(q("service=a&service=b&limit=5&limit=x"), NOW_US)
    assert s.query.service_name == "a"
    assert s.query.num_traces == 5


def test_accepts_mapping_of_lists() -> None:
    s = parse_search({"service": ["svc"], "tag": ["a:1", "b:2"]}, NOW_US)
    assert s.query.tags == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("limit", "expected"),
    [("0", 0), ("-5", -5), ("+7", 7), ("007", 7), ("2147483647", 2147483647), ("-2147483648", -2147483648)],
)
def test_limit_values_pass_through(limit: str, expected: int) -> None:
    assert parse_search(q(f"service=s&limit={limit}"), NOW_US).query.num_traces == expected


def test_durations_round_to_whole_microseconds_inward() -> None:
    # Stored durations are whole µs: duration >= 1.5µs means >= 2µs, duration <= 2.5µs means <= 2µs.
    s = parse_search(q("service=s&minDuration=1500ns&maxDuration=2.5us"), NOW_US)
    assert (s.query.duration_min, s.query.duration_max) == (2, 2)
    # A non-zero bound below 1µs still filters (Go only treats exactly 0 as unset).
    s = parse_search(q("service=s&maxDuration=500ns"), NOW_US)
    assert s.query.duration_max == 0
    s = parse_search(q("service=s&minDuration=0s&maxDuration=0"), NOW_US)
    assert (s.query.duration_min, s.query.duration_max) == (None, None)


def test_max_duration_check_skipped_when_either_is_zero() -> None:
    s = parse_search(q("service=s&minDuration=5s&maxDuration=0s"), NOW_US)
    assert (s.query.duration_min, s.query.duration_max) == (5_000_000, None)
    # Equal bounds are fine.
    parse_search(q("service=s&minDuration=1s&maxDuration=1000ms"), NOW_US)


# --- search: tags -----------------------------------------------------------------------------


def test_tag_params_split_on_first_colon() -> None:
    s = parse_search(q("service=s&tag=http.url:http://x:80/a&tag=k:&tag=:v"), NOW_US)
    assert s.query.tags == {"http.url": "http://x:80/a", "k": "", "": "v"}


def test_tags_json_merged_over_tag_params() -> None:
    s = parse_search(
        [
            ("service", "s"),
            ("tags", '{"error":"true","a":"1"}'),
            ("tag", "a:from-tag"),
            ("tag", "b:2"),
            ("tags", '{"http.status_code":"500"}'),
            ("tags", "null"),
        ],
        NOW_US,
    )
    assert s.query.tags == {"a": "1", "b": "2", "error": "true", "http.status_code": "500"}


def test_tags_json_null_value_is_empty_string() -> None:
    # Go leaves the zero value for a JSON null.
    assert parse_search([("service", "s"), ("tags", '{"a":null}')], NOW_US).query.tags == {"a": ""}


def test_tags_json_unicode() -> None:
    s = parse_search([("service", "s"), ("tags", '{"k\\u00e9":"\\ud83d\\ude00","x":"\\ud800"}')], NOW_US)
    assert s.query.tags == {"k\u00e9": "\U0001f600", "x": "\ufffd"}


@pytest.mark.parametrize(
    ("tags", "go_error"),
    [
        # Jaeger's own test case (query_parser_test.go).
        ('{"x":123}', "json: cannot unmarshal number into Go value of type string"),
        ('{"x":true}', "json: cannot unmarshal bool into Go value of type string"),
        ('{"x":["a"]}', "json: cannot unmarshal array into Go value of type string"),
        ('{"x":{}}', "json: cannot unmarshal object into Go value of type string"),
        ('["a"]', "json: cannot unmarshal array into Go value of type map[string]string"),
        ('"a"', "json: cannot unmarshal string into Go value of type map[string]string"),
        ("", "unexpected end of JSON input"),
        ('{"a":"b"', "unexpected end of JSON input"),
        ('{"a":"b', "unexpected end of JSON input"),
        ("error=true", "invalid character 'e' looking for beginning of value"),
        ("{a:1}", "invalid character 'a' looking for beginning of object key string"),
        ('{"a":"b",}', "invalid character '}' looking for beginning of object key string"),
        ('{"a" "b"}', "invalid character '\"' after object key"),
        ('{"a":"b" "c":"d"}', "invalid character '\"' after object key:value pair"),
        ('{"a":"b"}x', "invalid character 'x' after top-level value"),
        ("{'a':'b'}", "invalid character '\\'' looking for beginning of object key string"),
        ('{"a":"\\q"}', "invalid character 'q' in string escape code"),
        ('{"a":"x\ny"}', "invalid character '\\n' in string literal"),
        ('{"a":NaN}', "invalid character 'N' looking for beginning of value"),
        ('{"a":-Infinity}', "invalid character 'I' in numeric literal"),
    ],
)
def test_tags_json_errors_use_go_wording(tags: str, go_error: str) -> None:
    with pytest.raises(ParamError) as exc:
        parse_search([("service", "s"), ("tags", tags)], NOW_US)
    assert str(exc.value) == f"malformed 'tags' parameter, cannot unmarshal JSON: {go_error}"


def test_tags_json_syntax_errors_beat_type_errors() -> None:
    # Go validates the whole text before decoding.
    with pytest.raises(ParamError, match="after object key:value pair"):
        parse_search([("service", "s"), ("tags", '{"a":1 "b":"c"}')], NOW_US)


# --- search: trace ids ------------------------------------------------------------------------


def test_trace_ids_skip_service_requirement() -> None:
    s = parse_search(q("traceID=1f00&traceID=1E00&traceID=00000000000000010000000000000002"), NOW_US)
    assert s.trace_ids == [0x1F00, 0x1E00, (1 << 64) | 2]
    assert s.query.service_name == ""
    # The default window still goes along as the lookup hint.
    assert (s.query.start_time_min, s.query.start_time_max) == (NOW_US - H48_US, NOW_US)


def test_trace_id_lengths() -> None:
    assert parse_trace_id("1") == 1
    assert parse_trace_id("f" * 16) == (1 << 64) - 1
    assert parse_trace_id("1" + "0" * 16) == 1 << 64
    assert parse_trace_id("F" * 32) == (1 << 128) - 1


@pytest.mark.parametrize(
    ("trace_id", "msg"),
    [
        ("x200", 'strconv.ParseUint: parsing "x200": invalid syntax'),
        ("", 'strconv.ParseUint: parsing "": invalid syntax'),
        ("0x12", 'strconv.ParseUint: parsing "0x12": invalid syntax'),
        ("-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
        # Longer than 16: the high part (the first len-16 characters) is parsed first.
        ("zz0000000000000000", 'strconv.ParseUint: parsing "zz": invalid syntax'),
        ("10" + "0" * 15 + "z", 'strconv.ParseUint: parsing "000000000000000z": invalid syntax'),
        # Go slices bytes: the split falls inside "é" (0xc3 0xa9).
        ("0é" + "0" * 15, 'strconv.ParseUint: parsing "0\\xc3": invalid syntax'),
        ("a" * 33, "TraceID cannot be longer than 32 hex characters: " + "a" * 33),
        ("é", 'strconv.ParseUint: parsing "é": invalid syntax'),
        ("a\tb", 'strconv.ParseUint: parsing "a\\tb": invalid syntax'),
    ],
)
def test_trace_id_errors(trace_id: str, msg: str) -> None:
    with pytest.raises(ParamError) as exc:
        parse_trace_id(trace_id)
    assert str(exc.value) == msg
    assert search_error(f"traceID={trace_id}") == f"cannot parse traceID param: {msg}"


# --- search: errors, each worded as Jaeger's --------------------------------------------------


@pytest.mark.parametrize(
    ("query", "msg"),
    [
        ("", "parameter 'service' is required"),
        ("service=", "parameter 'service' is required"),
        ("operation=x", "parameter 'service' is required"),
        (
            "service=s&start=string",
            "unable to parse param 'start': strconv.ParseInt: parsing \"string\": invalid syntax",
        ),
        (
            "service=s&end=string",
            "unable to parse param 'end': strconv.ParseInt: parsing \"string\": invalid syntax",
        ),
        (
            "service=s&start= 1",
            "unable to parse param 'start': strconv.ParseInt: parsing \" 1\": invalid syntax",
        ),
        (
            "service=s&start=1_000",
            "unable to parse param 'start': strconv.ParseInt: parsing \"1_000\": invalid syntax",
        ),
        (
            "service=s&start=1.5",
            "unable to parse param 'start': strconv.ParseInt: parsing \"1.5\": invalid syntax",
        ),
        (
            "service=s&end=9223372036854775808",
            "unable to parse param 'end': strconv.ParseInt: parsing \"9223372036854775808\": "
            "value out of range",
        ),
        # Jaeger gives the bare strconv error for limit; we name the parameter like the others.
        ("service=s&limit=string", LIMIT + 'strconv.ParseInt: parsing "string": invalid syntax'),
        ("service=s&limit=2147483648", LIMIT + 'strconv.ParseInt: parsing "2147483648": value out of range'),
        (
            "service=s&limit=-2147483649",
            LIMIT + 'strconv.ParseInt: parsing "-2147483649": value out of range',
        ),
        # Go reports the overflow before it reaches the bad character.
        (
            "service=s&limit=99999999999x",
            LIMIT + 'strconv.ParseInt: parsing "99999999999x": value out of range',
        ),
        (
            "service=s&minDuration=20",
            "unable to parse param 'minDuration': time: missing unit in duration \"20\"",
        ),
        (
            "service=s&minDuration=20s&maxDuration=30",
            "unable to parse param 'maxDuration': time: missing unit in duration \"30\"",
        ),
        (
            "service=s&minDuration=5x",
            'unable to parse param \'minDuration\': time: unknown unit "x" in duration "5x"',
        ),
        ("service=s&maxDuration=abc", "unable to parse param 'maxDuration': time: invalid duration \"abc\""),
        ("service=s&tag=k:v&tag=x:y&tag=k", "malformed 'tag' parameter, expecting key:value, received: k"),
        ("service=s&minDuration=25s&maxDuration=1s", "'maxDuration' should be greater than 'minDuration'"),
        (
            "service=s&raw=foobar",
            "unable to parse param 'raw': strconv.ParseBool: parsing \"foobar\": invalid syntax",
        ),
    ],
)
def test_search_errors(query: str, msg: str) -> None:
    assert search_error(query) == msg


def test_search_error_order_follows_jaeger() -> None:
    # start, end, tags, limit, minDuration, maxDuration, traceID, raw, then service and max<min.
    assert search_error("start=x&end=y&limit=z").startswith("unable to parse param 'start'")
    assert search_error("end=y&tag=bad&limit=z").startswith("unable to parse param 'end'")
    assert search_error("tag=bad&limit=z").startswith("malformed 'tag'")
    assert search_error("limit=z&minDuration=1").startswith(LIMIT)
    assert search_error("minDuration=1&traceID=x").startswith("unable to parse param 'minDuration'")
    assert search_error("traceID=x&raw=x").startswith("cannot parse traceID param")
    assert search_error("raw=x").startswith("unable to parse param 'raw'")
    assert search_error("minDuration=2s&maxDuration=1s") == "parameter 'service' is required"


# --- other endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true(value: str) -> None:
    assert parse_bool(q(f"raw={value}"), "raw") is True


@pytest.mark.parametrize("value", ["", "0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false(value: str) -> None:
    assert parse_bool(q(f"raw={value}"), "raw") is False
    assert parse_bool([], "raw") is False


@pytest.mark.parametrize("value", ["yes", "tRue", " true", "2"])
def test_parse_bool_errors(value: str) -> None:
    with pytest.raises(ParamError) as exc:
        parse_bool([("raw", value)], "raw")
    assert (
        str(exc.value)
        == f"unable to parse param 'raw': strconv.ParseBool: parsing \"{value}\": invalid syntax"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", False),
        ("prettyPrint=", False),
        ("prettyPrint=false", False),
        ("prettyPrint=true", True),
        ("prettyPrint=0", True),
        ("prettyPrint=False", True),
        ("prettyPrint=false&prettyPrint=true", False),
    ],
)
def test_pretty_print(query: str, expected: bool) -> None:
    # Jaeger: any value except "" and "false" (exactly) turns it on.
    assert pretty_print(q(query)) is expected


def test_get_trace_params() -> None:
    assert parse_get_trace([]) == (None, None, False)
    assert parse_get_trace(q("start=10&end=20&raw=1")) == (10, 20, True)
    with pytest.raises(ParamError, match=r"^unable to parse param 'end': strconv.ParseInt"):
        parse_get_trace(q("end=x"))


def test_dependencies_defaults() -> None:
    now_ms = NOW_US // 1000
    assert parse_dependencies([], now_ms) == (NOW_US, 24 * 3600 * 1_000_000)


def test_dependencies_values() -> None:
    assert parse_dependencies(q("endTs=1723000000000&lookback=604800000"), 0) == (
        1723000000000 * 1000,
        604800000 * 1000,
    )
    # A negative lookback goes through, as in Jaeger.
    assert parse_dependencies(q("lookback=-1"), 5) == (5000, -1000)


@pytest.mark.parametrize(
    ("query", "msg"),
    [
        ("endTs=now", "unable to parse param 'endTs': strconv.ParseInt: parsing \"now\": invalid syntax"),
        ("lookback=1h", "unable to parse param 'lookback': strconv.ParseInt: parsing \"1h\": invalid syntax"),
    ],
)
def test_dependencies_errors(query: str, msg: str) -> None:
    with pytest.raises(ParamError) as exc:
        parse_dependencies(q(query), 0)
    assert str(exc.value) == msg


def test_operations() -> None:
    assert parse_operations(q("service=svc")) == ("svc", "")
    assert parse_operations(q("service=svc&spanKind=server")) == ("svc", "server")
    # Jaeger passes any span kind to storage unchecked.
    assert parse_operations(q("service=svc&spanKind=bogus")) == ("svc", "bogus")
    for query in ("", "service=", "spanKind=server"):
        with pytest.raises(ParamError) as exc:
            parse_operations(q(query))
        assert str(exc.value) == "parameter 'service' is required"
