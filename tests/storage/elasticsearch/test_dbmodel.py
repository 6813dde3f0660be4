"""Span ⇄ Elasticsearch document, checked against Jaeger's own fixture documents.

Expected values come from Jaeger (fixtures/jaeger/README.md says where): the domain span of
`domain_01.json` is written as Jaeger's v1 writer writes it, and every generation of stored
document (typed, string-valued, v2 writer, tags as fields) reads back to the same span.
"""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from pyjaeger.codecs.errors import DecodeError
from pyjaeger.errors import ConfigError
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType
from pyjaeger.storage.elasticsearch.config import TagsAsFields
from pyjaeger.storage.elasticsearch.dbmodel import (
    doc_to_span,
    process_to_doc,
    service_doc,
    service_doc_id,
    span_to_doc,
    trace_id_text,
)

DOCS = Path(__file__).parent / "fixtures" / "jaeger" / "docs"
T = 1485467191639875  # "2017-01-26T16:46:31.639875-05:00" in domain_01.json
CHILD_OF, FOLLOWS_FROM = SpanRefType.CHILD_OF, SpanRefType.FOLLOWS_FROM
S, B, INT, F, BIN = ValueType.STRING, ValueType.BOOL, ValueType.INT64, ValueType.FLOAT64, ValueType.BINARY


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DOCS / name).read_text())
    return doc


def domain_01() -> Span:
    """Jaeger's spanstore/fixtures/domain_01.json."""
    return Span(
        trace_id=1,
        span_id=2,
        operation_name="test-general-conversion",
        references=[SpanRef(CHILD_OF, 1, 3), SpanRef(FOLLOWS_FROM, 1, 4), SpanRef(CHILD_OF, 0xFF, 0xFF)],
        flags=1,
        start_time=T,
        duration=5,  # "5000ns"
        tags=[
            KeyValue("peer.service", S, "service-y"),
            KeyValue("peer.ipv4", INT, 23456),
            KeyValue("error", B, True),
            KeyValue("temperature", F, 72.5),
            KeyValue("blob", BIN, b"\x00\x00\x30\x39"),  # "AAAwOQ=="
        ],
        logs=[Log(T, [KeyValue("event", INT, 123415)]), Log(T, [KeyValue("x", S, "y")])],
        process=Process("service-x", [KeyValue("peer.ipv4", INT, 23456), KeyValue("error", B, True)]),
    )


def v2_es_01() -> Span:
    """The span behind Jaeger v2's tracestore/fixtures/es_01.json (a 128-bit trace id)."""
    tid = 1 << 64
    return Span(
        trace_id=tid,
        span_id=2,
        operation_name="test-general-conversion",
        references=[
            SpanRef(CHILD_OF, tid, 3),
            SpanRef(FOLLOWS_FROM, tid, 4),
            SpanRef(CHILD_OF, 0xFF << 64, 0xFF),
        ],
        flags=1,
        start_time=T,
        duration=5,
        tags=[
            KeyValue("otel.scope.name", S, "testing-library"),
            KeyValue("otel.scope.version", S, "1.1.1"),
            KeyValue("peer.service", S, "service-y"),
            KeyValue("peer.ipv4", INT, 23456),
            KeyValue("blob", BIN, b"\x00\x00\x30\x39"),
            KeyValue("temperature", F, 72.5),
            KeyValue("error", B, True),
        ],
        logs=[
            Log(T, [KeyValue("event", S, "testing-event"), KeyValue("event-x", S, "event-y")]),
            Log(T, [KeyValue("x", S, "y")]),
        ],
        process=Process("service-x", [KeyValue("sdk.version", S, "1.2.1")]),
    )


# ---------------------------------------------------------------------- Jaeger's documents


def test_span_to_doc_is_jaegers_v1_document_byte_for_byte() -> None:
    doc = span_to_doc(domain_01())
    expected = load("v1.76-es_01.json")
    assert doc == expected
    # Same keys in the same (Go struct) order: the compact JSON is the same bytes.
    assert orjson.dumps(doc) == orjson.dumps(expected)


def test_span_to_doc_with_a_128_bit_trace_id_is_jaegers_v2_document() -> None:
    assert orjson.dumps(span_to_doc(v2_es_01())) == orjson.dumps(load("v2-es_01.json"))


@pytest.mark.parametrize(
    ("name", "span"),
    [
        ("v1.76-es_01.json", domain_01),  # typed values (Jaeger >= 1.69)
        ("v1.62-es_01.json", domain_01),  # every value a string (older Jaeger)
        ("v2-es_01.json", v2_es_01),
        ("v2-es_01_string_tags.json", v2_es_01),
    ],
)
def test_every_generation_of_jaeger_document_reads_back(name: str, span: Any) -> None:
    assert doc_to_span(load(name)) == span()


def test_round_trip() -> None:
    for span in (domain_01(), v2_es_01()):
        assert doc_to_span(span_to_doc(span)) == span
        assert doc_to_span(span_to_doc(span, pad_trace_ids=True)) == span


def test_parent_span_id_of_old_documents() -> None:
    # Jaeger's testToDomain sets ParentSpanID "3": already a same-trace reference, nothing added.
    doc = load("v1.76-es_01.json")
    doc["parentSpanID"] = "3"
    assert doc_to_span(doc).references == domain_01().references
    # An id with no reference becomes a leading CHILD_OF (MaybeAddParentSpanID).
    doc["parentSpanID"] = "0000000000000009"
    assert doc_to_span(doc).references == [SpanRef(CHILD_OF, 1, 9), *domain_01().references]
    # A reference of any type to it counts (jaeger-idl v0.6.0, which v1.76 uses).
    doc["parentSpanID"] = "4"
    assert doc_to_span(doc).references == domain_01().references
    doc["parentSpanID"] = "0"
    assert doc_to_span(doc).references == domain_01().references


# ---------------------------------------------------------------------------- trace ids


def test_trace_id_text_follows_jaeger_v1_unless_padded() -> None:
    assert trace_id_text(1) == "0000000000000001"
    assert trace_id_text(1 << 64) == "00000000000000010000000000000000"
    assert trace_id_text(1, pad=True) == "00000000000000000000000000000001"
    doc = span_to_doc(domain_01(), pad_trace_ids=True)
    assert doc["traceID"] == "00000000000000000000000000000001"
    assert doc["references"][2]["traceID"] == "000000000000000000000000000000ff"


def test_short_and_unpadded_ids_read() -> None:
    # Jaeger before 1.16 trimmed leading zeros; TraceIDFromString accepts 1..32 digits.
    doc = load("v1.76-es_01.json")
    doc["traceID"] = "1"
    doc["spanID"] = "2"
    span = doc_to_span(doc)
    assert (span.trace_id, span.span_id) == (1, 2)


# ------------------------------------------------------------------------ tags as fields


def test_tags_as_fields_include_list() -> None:
    # Jaeger's writer_test TestTagMap: exact keys (no globs), dots replaced, rest nested.
    tags = [KeyValue("foo", S, "foo"), KeyValue("a", B, True), KeyValue("b.b", INT, 1)]
    span = domain_01()
    span.tags = list(tags)
    span.process = Process("svc", list(tags))
    taf = TagsAsFields(include=frozenset({"a", "b.b", "b*"}), dot_replacement=":")
    doc = span_to_doc(span, taf)
    assert doc["tags"] == [{"key": "foo", "type": "string", "value": "foo"}]
    assert doc["tag"] == {"a": True, "b:b": 1}
    assert doc["process"] == {
        "serviceName": "svc",
        "tags": [{"key": "foo", "type": "string", "value": "foo"}],
        "tag": {"a": True, "b:b": 1},
    }
    back = doc_to_span(doc, dot_replacement=":")
    assert back.tags == [KeyValue("foo", S, "foo"), KeyValue("a", B, True), KeyValue("b.b", INT, 1)]
    assert back.process.tags == back.tags


def test_tags_as_fields_all_leaves_empty_nested_arrays() -> None:
    # Jaeger's writer_test TestNewSpanTags "allTagsAsFields".
    span = domain_01()
    span.tags = [KeyValue("foo", S, "bar")]
    span.process = Process("svc", [KeyValue("bar", S, "baz")])
    doc = span_to_doc(span, TagsAsFields(all=True))
    assert (doc["tags"], doc["tag"]) == ([], {"foo": "bar"})
    assert doc["process"] == {"serviceName": "svc", "tags": [], "tag": {"bar": "baz"}}
    # Field order: Go's struct puts `tag` after `tags` and before `logs`.
    assert list(doc) == [
        "traceID", "spanID", "flags", "operationName", "references", "startTime",
        "startTimeMillis", "duration", "tags", "tag", "logs", "process",
    ]  # fmt: skip


def test_tags_as_fields_off_or_unmatched_writes_no_tag_object() -> None:
    assert "tag" not in span_to_doc(domain_01())
    doc = span_to_doc(domain_01(), TagsAsFields(include=frozenset({"nope"})))
    assert "tag" not in doc and "tag" not in doc["process"]
    assert doc == load("v1.76-es_01.json")


def test_binary_non_finite_and_empty_key_tags_stay_nested() -> None:
    span = domain_01()
    span.tags += [KeyValue("nan", F, math.nan), KeyValue("", S, "x")]
    doc = span_to_doc(span, TagsAsFields(all=True))
    assert doc["tags"] == [
        {"key": "blob", "type": "binary", "value": "00003039"},
        {"key": "nan", "type": "float64", "value": "NaN"},
        {"key": "", "type": "string", "value": "x"},
    ]
    assert doc["tag"] == {"peer@service": "service-y", "peer@ipv4": 23456, "error": True, "temperature": 72.5}
    assert doc["process"]["tag"] == {"peer@ipv4": 23456, "error": True}


def test_reads_a_document_jaeger_wrote_with_all_tags_as_fields() -> None:
    # What Jaeger's writer makes of domain_01 with --es.tags-as-fields.all (dot replacement @).
    doc = load("v1.76-es_01.json")
    doc["tags"] = [{"key": "blob", "type": "binary", "value": "00003039"}]
    doc["tag"] = {"peer@service": "service-y", "peer@ipv4": 23456, "error": True, "temperature": 72.5}
    doc["process"] = {"serviceName": "service-x", "tags": [], "tag": {"peer@ipv4": 23456, "error": True}}
    span = doc_to_span(doc)
    # Nested tags first, then the object's fields in document order.
    expected = domain_01()
    expected.tags = [expected.tags[4], *expected.tags[:4]]
    assert span == expected
    assert span_to_doc(expected, TagsAsFields(all=True)) == doc


def test_object_field_types_come_from_the_json_value() -> None:
    doc = load("v1.76-es_01.json")
    doc["tags"] = []
    # Go marshals float64(2) as 2, so Jaeger too reads it back as int64; a@b was never a dot.
    doc["tag"] = {"f": 2, "g": 2.5, "big": 2**64, "a@b": "x", "n": None, "l": [1, "x"], "m": {"k": True}}
    assert doc_to_span(doc).tags == [
        KeyValue("f", INT, 2),
        KeyValue("g", F, 2.5),
        KeyValue("big", F, float(2**64)),
        KeyValue("a.b", S, "x"),
        KeyValue("n", S, "invalid tag type in <nil>"),
        KeyValue("l", S, "invalid tag type in [1 x]"),
        KeyValue("m", S, "invalid tag type in map[k:true]"),
    ]


def test_tags_as_fields_config() -> None:
    TagsAsFields().validate()
    with pytest.raises(ConfigError, match="dot-replacement"):
        TagsAsFields(dot_replacement="").validate()
    with pytest.raises(ConfigError, match="dot-replacement"):
        TagsAsFields(dot_replacement="a.b").validate()
    # Jaeger: config-file lines trimmed and blanks skipped; the include list is split, not trimmed.
    keys = TagsAsFields.keys_from("a, b", ["foo\n", "bar", "      space     ", ""])
    assert keys == {"a", " b", "foo", "bar", "space"}
    assert TagsAsFields.keys_from() == frozenset()
    assert not TagsAsFields().enabled and TagsAsFields(include=keys).enabled


# ------------------------------------------------------------------------- value shapes


def test_empty_parts_as_go_writes_them() -> None:
    span = Span(1, 2, "op", [], 0, 1_000_999, 0, [], [Log(5, [])], Process("svc"))
    assert span_to_doc(span) == {
        "traceID": "0000000000000001",
        "spanID": "0000000000000002",
        "operationName": "op",
        "references": [],
        "startTime": 1_000_999,
        "startTimeMillis": 1000,
        "duration": 0,
        "tags": [],
        "logs": [{"timestamp": 5, "fields": None}],
        "process": {"serviceName": "svc", "tags": []},
    }
    assert doc_to_span(span_to_doc(span)) == span


def test_missing_and_null_arrays_read_as_empty() -> None:
    doc: dict[str, Any] = {
        "traceID": "1",
        "spanID": "2",
        "references": None,
        "tags": None,
        "logs": None,
        "process": {},
    }
    assert doc_to_span(doc) == Span(1, 2, "", [], 0, 0, 0, [], [], Process(""))


def test_non_finite_floats_are_written_as_strings_jaeger_parses() -> None:
    span = domain_01()
    span.tags = [KeyValue("a", F, math.nan), KeyValue("b", F, math.inf), KeyValue("c", F, -math.inf)]
    doc = span_to_doc(span)
    assert [t["value"] for t in doc["tags"]] == ["NaN", "+Inf", "-Inf"]
    orjson.dumps(doc)  # JSON-safe
    back = doc_to_span(doc).tags
    assert math.isnan(back[0].value) and back[1:] == span.tags[1:]  # type: ignore[arg-type]


def test_typed_values_accepted_as_jaeger_accepts_them() -> None:
    def kv(t: str, v: Any) -> KeyValue:
        doc = {"traceID": "1", "spanID": "1", "tags": [{"key": "k", "type": t, "value": v}]}
        return doc_to_span(doc).tags[0]

    assert kv("int64", 123) == KeyValue("k", INT, 123)
    assert kv("int64", 123.0) == KeyValue("k", INT, 123)
    assert kv("float64", 123) == KeyValue("k", F, 123.0)  # Go writes 123.0 as 123
    assert isinstance(kv("float64", 123).value, float)
    assert kv("float64", 123.4) == KeyValue("k", F, 123.4)
    assert kv("bool", False) == KeyValue("k", B, False)
    # String forms, as Jaeger < 1.69 wrote them, parsed like Go's strconv.
    assert kv("bool", "T") == KeyValue("k", B, True)
    assert kv("int64", "-9223372036854775808") == KeyValue("k", INT, -(2**63))
    assert kv("float64", "1e3") == KeyValue("k", F, 1000.0)
    assert kv("float64", "-Inf") == KeyValue("k", F, -math.inf)
    assert kv("float64", "0x1p-2") == KeyValue("k", F, 0.25)
    assert kv("binary", "00FF") == KeyValue("k", BIN, b"\x00\xff")


def cant(t: str, why: str) -> str:
    return f"Can't convert the type {t} for the key k: {why}"


def syntax(fn: str, s: str) -> str:
    return f'strconv.{fn}: parsing "{s}": invalid syntax'


@pytest.mark.parametrize(
    ("t", "v", "text"),
    [
        # Jaeger's to_domain_test TestRevertKeyValueOfType; v2's reader keeps such tags as text.
        ("int64", True, "invalid int64 type in true"),
        ("float64", True, "invalid float64 type in true"),
        ("bool", 1.23, "invalid bool type in 1.23"),
        ("string", 123, "invalid string type in 123"),
        ("int64", None, "invalid int64 type in <nil>"),
        ("int64", 1.5, "invalid int64 type in 1.5"),
        ("int64", 2**63, "invalid int64 type in 9223372036854775808"),
        ("binary", 7, "invalid binary type in 7"),
        ("badType", "someString", '<Unknown Jaeger TagType "badType">'),
        ("", "x", '<Unknown Jaeger TagType "">'),
        # TestFailureBad{Bool,Int,Float,Binary}Tags
        ("bool", "meh", cant("bool", syntax("ParseBool", "meh"))),
        ("int64", "meh", cant("int64", syntax("ParseInt", "meh"))),
        ("int64", " 1", cant("int64", syntax("ParseInt", " 1"))),
        ("int64", "1_0", cant("int64", syntax("ParseInt", "1_0"))),
        ("int64", "9223372036854775808",
         cant("int64", 'strconv.ParseInt: parsing "9223372036854775808": value out of range')),
        ("float64", "meh", cant("float64", syntax("ParseFloat", "meh"))),
        ("float64", "+nan", cant("float64", syntax("ParseFloat", "+nan"))),
        ("float64", "1e400", cant("float64", 'strconv.ParseFloat: parsing "1e400": value out of range')),
        ("binary", "zzzz", cant("binary", "encoding/hex: invalid byte in hex string")),
        ("binary", "abc", cant("binary", "encoding/hex: odd length hex string")),
    ],
)  # fmt: skip
def test_unusable_values_become_string_tags_naming_the_problem(t: str, v: Any, text: str) -> None:
    doc = {
        "traceID": "1",
        "spanID": "1",
        "logs": [{"timestamp": 1, "fields": [{"key": "k", "type": t, "value": v}]}],
    }
    assert doc_to_span(doc).logs[0].fields == [KeyValue("k", S, text)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # Jaeger's to_domain_test TestFailureBad{TraceID,SpanID,ParentSpanID,Refs,...}
        ({"traceID": "zz"}, "traceID"),
        ({"traceID": "1" * 33}, "traceID"),
        ({"traceID": None}, "traceID"),
        ({"spanID": "zz"}, "spanID"),
        ({"parentSpanID": "zz"}, "parentSpanID"),
        ({"references": [{"refType": "makeOurOwnCasino", "traceID": "1"}]}, "makeOurOwnCasino"),
        ({"references": [{"refType": "CHILD_OF", "traceID": "ZZBADZZ", "spanID": "1"}]},
         r"references\[0\].traceID"),
        ({"references": [{"refType": "CHILD_OF", "traceID": "1", "spanID": "ZZBADZZ"}]},
         r"references\[0\].spanID"),
        ({"references": {}}, "references"),
        ({"startTime": "1"}, "startTime"),
        ({"duration": 1.5}, "duration"),
        ({"flags": True}, "flags"),
        ({"flags": 2**32}, "flags"),  # Go's uint32
        ({"startTime": -1}, "startTime"),  # Go's uint64
        ({"startTime": 2**64}, "startTime"),
        ({"operationName": 5}, "operationName"),
        ({"tags": [5]}, r"tags\[0\]"),
        ({"tags": [{"key": 1, "type": "string", "value": "x"}]}, r"tags\[0\]"),
        ({"tag": []}, "tag"),
        ({"logs": [{"timestamp": 1, "fields": "x"}]}, r"logs\[0\].fields"),
        ({"process": []}, "process"),
        ({"process": {"serviceName": 1}}, "process.serviceName"),
        ({"process": {"serviceName": "s", "tags": [1]}}, r"process.tags\[0\]"),
    ],
)  # fmt: skip
def test_documents_that_are_not_spans_raise_decode_error(change: dict[str, Any], message: str) -> None:
    doc = load("v1.76-es_01.json")
    doc.update(change)
    with pytest.raises(DecodeError, match=message):
        doc_to_span(doc)


def test_fuzz_reading_returns_a_span_or_raises_decode_error() -> None:
    rng = random.Random(0xE5_D0C)
    values: list[Any] = [None, "", "x", "zz", "0", "00ff", -1, 0, 2**64, 1.5, True, [], {}, [1], {"k": 1}]
    seeds = [load(n) for n in ("v1.76-es_01.json", "v1.62-es_01.json", "v2-es_01.json")]

    def mutate(node: Any) -> Any:
        if isinstance(node, dict) and node and rng.random() < 0.7:
            key = rng.choice(list(node))
            node[key] = mutate(node[key]) if rng.random() < 0.6 else rng.choice(values)
        elif isinstance(node, list) and node and rng.random() < 0.7:
            i = rng.randrange(len(node))
            node[i] = mutate(node[i]) if rng.random() < 0.6 else rng.choice(values)
        else:
            return rng.choice(values)
        return node

    for _ in range(3000):
        doc = mutate(copy.deepcopy(rng.choice(seeds)))
        try:
            span = doc_to_span(doc)
        except DecodeError:
            continue
        # Whatever reads must write back without error and read again the same.
        again = doc_to_span(orjson.loads(orjson.dumps(span_to_doc(span))))
        assert again.trace_id == span.trace_id and len(again.tags) == len(span.tags)


# ---------------------------------------------------------------------- service documents


def test_service_doc_ids_match_jaeger() -> None:
    # writer_test.go ("service", "operation") and HEAD testdata/write_service.json.
    assert service_doc_id("service", "operation") == "de3b5a8f1a79989d"
    assert service_doc_id("test-service", "test-operation") == "cb42af354c445afb"
    doc_id, body = service_doc(domain_01())
    assert body == {"serviceName": "service-x", "operationName": "test-general-conversion"}
    assert doc_id == service_doc_id("service-x", "test-general-conversion")
    # No separator between the two: Jaeger hashes the concatenation.
    assert service_doc_id("ab", "c") == service_doc_id("a", "bc")


def test_service_doc_id_is_unpadded_hex() -> None:
    ids = {service_doc_id(f"s{i}", "op") for i in range(2000)}
    assert all(i == i.lstrip("0") and int(i, 16) < 2**64 for i in ids)
    assert min(len(i) for i in ids) < 16  # some hashes start with a zero nibble


def test_process_doc_can_be_shared() -> None:
    span = domain_01()
    pdoc = process_to_doc(span.process)
    assert span_to_doc(span, process_doc=pdoc)["process"] is pdoc
    assert span_to_doc(span, process_doc=pdoc) == span_to_doc(span)
