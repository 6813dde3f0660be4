"""The api_v3 HTTP gateway over a real socket: the request and response shapes Jaeger v2.20 and
the Jaeger UI v2.20 use (shared/reference/jaeger-ui.md, jaeger-contracts.md §2.5), errors in its
shape with Jaeger's texts, and the `http_route` labels of its routes."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest

from pyjaeger.cmd.app import App
from pyjaeger.gotext.time import parse_rfc3339_nano
from pyjaeger.model import KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType
from pyjaeger.storage.base import StorageError

T0 = 1_700_000_000_000_000  # µs: 2023-11-14T22:13:20Z
TID = 0x0AF7651916CD43DD_8448EB211C80319C
SHORT_TID = 0x42  # a 64-bit id
B64_TID = int.from_bytes(b"\xfb\xff\xbf" + bytes(13), "big")  # base64 "+/+/AAAA...": both "+" and "/"
STR, BOOL, INT, FLOAT, BIN = ValueType
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
DECIMAL = re.compile(r"^\d+$")
WINDOW = {"query.startTimeMin": "2023-11-14T22:00:00Z", "query.startTimeMax": "2023-11-14T23:00:00.000Z"}


def kv(key: str, value: Any) -> KeyValue:
    types = {str: STR, bool: BOOL, int: INT, float: FLOAT, bytes: BIN}
    return KeyValue(key, types[type(value)], value)


def seed_spans() -> list[Span]:
    frontend = Process("frontend", [kv("host.name", "h1"), kv("cpus", 4)])
    backend = Process("backend", [])
    spaced = Process("my svc", [])
    return [
        Span(
            TID,
            0xA,
            "GET /dispatch",
            [],
            1,
            T0,
            5_000,
            [
                kv("otel.scope.name", "lib"),
                kv("otel.scope.version", "1.0"),
                kv("http.method", "GET"),
                kv("http.status_code", 200),
                kv("ratio", 0.5),
                kv("cached", False),
                kv("blob", b"\x01\x02"),
                kv("span.kind", "server"),
            ],
            [Log(T0 + 7, [kv("event", "cache miss"), kv("n", 1)])],
            frontend,
        ),
        Span(
            TID,
            0xB,
            "query",
            [SpanRef(SpanRefType.CHILD_OF, TID, 0xA), SpanRef(SpanRefType.FOLLOWS_FROM, 0x99, 0x98)],
            1,
            T0 + 100,
            3_000,
            [kv("span.kind", "client"), kv("otel.status_code", "ERROR"), kv("error", True)],
            [],
            backend,
        ),
        Span(TID, 0xC, "lost", [SpanRef(SpanRefType.CHILD_OF, TID, 0x77)], 1, T0 + 200, 10, [], [], backend),
        Span(
            SHORT_TID,
            0xD,
            "GET /health",
            [],
            1,
            T0 + 60_000_000,
            50,
            [kv("span.kind", "server")],
            [],
            frontend,
        ),
        Span(0x51, 0xE, "a b+c", [], 1, T0 + 1_000, 20, [kv("span.kind", "producer")], [], spaced),
        Span(B64_TID, 0xF, "b64", [], 1, T0, 1, [], [], Process("b64")),
    ]


async def seeded(make_app: Callable[..., Any], **kw: Any) -> tuple[App, httpx.AsyncClient]:
    app: App = await make_app(**kw)
    assert app.storage is not None
    await app.storage.writer.write_spans(seed_spans())
    port = app.server("query HTTP server").port  # type: ignore[attr-defined]
    return app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")


def ok_json(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def assert_error(r: httpx.Response, status: int, message: str) -> None:
    """Jaeger's gateway answers through Go's http.Error: text/plain, nosniff, JSON and a newline."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.text.endswith("}\n")
    assert json.loads(r.text) == {"error": {"httpCode": status, "message": message}}


def all_spans(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {sp["name"]: sp for rs in result["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]}


def attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in items}


# --- services and operations ----------------------------------------------------------------------


async def test_services(make_app: Callable[..., Any]) -> None:
    empty: App = await make_app()
    port = empty.server("query HTTP server").port  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
        assert ok_json(await c.get("/api/v3/services")) == {"services": []}
    _, c = await seeded(make_app)
    async with c:
        assert ok_json(await c.get("/api/v3/services")) == {
            "services": ["b64", "backend", "frontend", "my svc"]
        }


async def test_operations(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)

    async def ops(query: str) -> list[dict[str, str]]:
        body = ok_json(await c.get(f"/api/v3/operations?{query}"))
        assert set(body) == {"operations"}
        return sorted(body["operations"], key=lambda op: op["name"])

    async with c:
        assert await ops("service=frontend") == [
            {"name": "GET /dispatch", "spanKind": "server"},
            {"name": "GET /health", "spanKind": "server"},
        ]
        # lower-case kinds; a span of no known kind is "internal" on HTTP
        assert await ops("service=backend") == [
            {"name": "lost", "spanKind": "internal"},
            {"name": "query", "spanKind": "client"},
        ]
        assert await ops("service=backend&spanKind=client") == [{"name": "query", "spanKind": "client"}]
        assert await ops("service=backend&span_kind=client") == [{"name": "query", "spanKind": "client"}]
        assert await ops("service=backend&spanKind=client&span_kind=server") == [
            {"name": "query", "spanKind": "client"}
        ]
        # URLSearchParams writes a space as "+"
        assert await ops("service=my+svc") == [{"name": "a b+c", "spanKind": "producer"}]
        assert await ops(f"service={quote('my svc')}") == [{"name": "a b+c", "spanKind": "producer"}]
        # Jaeger checks neither parameter: nothing matches, nothing fails
        assert await ops("service=nobody") == []
        assert await ops("") == []
        assert await ops("service=frontend&spanKind=bogus") == []


# --- traces ---------------------------------------------------------------------------------------


async def test_get_trace_in_otlp_json(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)
    async with c:
        body = ok_json(await c.get(f"/api/v3/traces/{TID:032x}"))
    assert set(body) == {"result"}
    resources = body["result"]["resourceSpans"]
    assert [attributes(rs["resource"].get("attributes", []))["service.name"] for rs in resources] == [
        {"stringValue": "frontend"},
        {"stringValue": "backend"},
    ]
    assert attributes(resources[0]["resource"]["attributes"]) == {
        "service.name": {"stringValue": "frontend"},
        "host.name": {"stringValue": "h1"},
        "cpus": {"intValue": "4"},
    }
    assert resources[0]["scopeSpans"][0]["scope"] == {"name": "lib", "version": "1.0"}
    spans = all_spans(body["result"])
    assert set(spans) == {"GET /dispatch", "query", "lost"}
    for sp in spans.values():
        assert sp["traceId"] == f"{TID:032x}" and HEX32.match(sp["traceId"])
        assert HEX16.match(sp["spanId"])
        assert DECIMAL.match(sp["startTimeUnixNano"]) and DECIMAL.match(sp["endTimeUnixNano"])
    root, query = spans["GET /dispatch"], spans["query"]
    assert root["kind"] == 2 and query["kind"] == 3 and "kind" not in spans["lost"]
    assert root["startTimeUnixNano"] == str(T0 * 1000)
    assert root["endTimeUnixNano"] == str((T0 + 5_000) * 1000)
    assert root["status"] == {} and query["status"] == {"code": 2}
    assert "parentSpanId" not in root and query["parentSpanId"] == f"{0xA:016x}"
    assert spans["lost"]["parentSpanId"] == f"{0x77:016x}"
    assert attributes(root["attributes"]) == {
        "blob": {"bytesValue": "AQI="},
        "cached": {"boolValue": False},
        "http.method": {"stringValue": "GET"},
        "http.status_code": {"intValue": "200"},
        "ratio": {"doubleValue": 0.5},
    }
    assert root["events"] == [
        {
            "timeUnixNano": str((T0 + 7) * 1000),
            "name": "cache miss",
            "attributes": [{"key": "n", "value": {"intValue": "1"}}],
        }
    ]
    assert query["links"] == [
        {
            "traceId": f"{0x99:032x}",
            "spanId": f"{0x98:016x}",
            "attributes": [{"key": "opentracing.ref_type", "value": {"stringValue": "follows_from"}}],
        }
    ]


async def test_get_trace_raw_hints_and_id_forms(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)
    async with c:
        adjusted = all_spans(ok_json(await c.get(f"/api/v3/traces/{TID:x}"))["result"])
        raw = all_spans(ok_json(await c.get(f"/api/v3/traces/{TID:x}?rawTraces=true"))["result"])
        # adjusted: attributes sorted by key; raw: as stored
        assert [a["key"] for a in raw["GET /dispatch"]["attributes"]] == [
            "http.method",
            "http.status_code",
            "ratio",
            "cached",
            "blob",
        ]
        assert [a["key"] for a in adjusted["GET /dispatch"]["attributes"]] == [
            "blob",
            "cached",
            "http.method",
            "http.status_code",
            "ratio",
        ]
        for params in (
            "raw_traces=1",
            "startTime=2023-11-14T22:00:00Z&endTime=2023-11-14T23:00:00.123456789%2B01:00",
            "start_time=2023-11-14T22:00:00.5Z&end_time=2023-11-15T00:00:00Z",
        ):
            assert set(all_spans(ok_json(await c.get(f"/api/v3/traces/{TID:032x}?{params}"))["result"])) == {
                "GET /dispatch",
                "query",
                "lost",
            }
        # a 64-bit id, short or padded, comes back as 32 hex digits
        for tid in ("42", f"{SHORT_TID:016x}", f"{SHORT_TID:032x}"):
            (sp,) = all_spans(ok_json(await c.get(f"/api/v3/traces/{tid}"))["result"]).values()
            assert sp["traceId"] == f"{SHORT_TID:032x}"
        # base64 of the id bytes, as Jaeger's gateway also takes; "/" percent-encoded in the path
        b64 = base64.b64encode(B64_TID.to_bytes(16, "big")).decode()
        assert b64.startswith("+/+/") and b64.endswith("==")
        for form in (b64, b64.rstrip("="), base64.urlsafe_b64encode(B64_TID.to_bytes(16, "big")).decode()):
            r = await c.get(f"/api/v3/traces/{quote(form, safe='')}")
            (sp,) = all_spans(ok_json(r)["result"]).values()
            assert sp["traceId"] == f"{B64_TID:032x}", form
        assert_error(await c.get(f"/api/v3/traces/{0xBAD:032x}"), 404, "No traces found")


def ui_query(**params: str) -> str:
    """A query string as the UI's URLSearchParams writes it (spaces as '+')."""
    return urlencode(params, quote_via=quote_plus)


async def test_find_traces(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)

    async def found(**params: str) -> set[str]:
        r = await c.get("/api/v3/traces?" + ui_query(**params))
        if r.status_code == 404:
            assert_error(r, 404, "No traces found")
            return set()
        result = ok_json(r)["result"]
        return {
            sp["traceId"] for rs in result["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]
        }

    both = {f"{TID:032x}", f"{SHORT_TID:032x}"}
    async with c:
        assert await found(**{"query.serviceName": "frontend"}, **WINDOW) == both
        assert await found(**{"query.service_name": "frontend"}, **WINDOW) == both
        assert await found(**{"query.serviceName": "my svc"}, **WINDOW) == {f"{0x51:032x}"}
        assert await found(**{"query.serviceName": "my svc", "query.operationName": "a b+c"}, **WINDOW) == {
            f"{0x51:032x}"
        }
        assert await found(
            **{"query.serviceName": "frontend", "query.operation_name": "GET /health"}, **WINDOW
        ) == {f"{SHORT_TID:032x}"}
        # attributes as the v1 tags: span and process tags, by string form
        assert await found(
            **{"query.serviceName": "frontend", "query.attributes": '{"http.status_code":"200"}'}, **WINDOW
        ) == {f"{TID:032x}"}
        assert (
            await found(**{"query.serviceName": "frontend", "query.attributes": '{"cpus":"4"}'}, **WINDOW)
            == both
        )
        assert (
            await found(**{"query.serviceName": "frontend", "query.attributes": '{"cpus":"5"}'}, **WINDOW)
            == set()
        )
        # durations: 5 ms root, 50 µs health check
        assert await found(**{"query.serviceName": "frontend", "query.durationMin": "1ms"}, **WINDOW) == {
            f"{TID:032x}"
        }
        assert await found(**{"query.serviceName": "frontend", "query.duration_max": "0.05ms"}, **WINDOW) == {
            f"{SHORT_TID:032x}"
        }
        assert (
            await found(**{"query.serviceName": "frontend", "query.durationMax": "49us"}, **WINDOW) == set()
        )
        # the window: the health check is a minute after the rest; max is inclusive to the µs
        early = {"query.startTimeMin": "2023-11-14T22:13:20Z", "query.startTimeMax": "2023-11-14T22:14:20Z"}
        assert await found(**{"query.serviceName": "frontend"}, **early) == both
        before = {
            "query.startTimeMin": "2023-11-14T22:13:20Z",
            "query.startTimeMax": "2023-11-14T22:14:19.999999999Z",
        }
        assert await found(**{"query.serviceName": "frontend"}, **before) == {f"{TID:032x}"}
        after = {
            "query.startTimeMin": "2023-11-14T22:13:20.000001Z",
            "query.startTimeMax": "2023-11-14T23:00:00Z",
        }
        assert await found(**{"query.serviceName": "frontend"}, **after) == {f"{SHORT_TID:032x}"}
        # search depth and its aliases
        for name in ("query.searchDepth", "query.search_depth", "query.num_traces"):
            assert len(await found(**{"query.serviceName": "frontend", name: "1"}, **WINDOW)) == 1
        assert await found(**{"query.serviceName": "nobody"}, **WINDOW) == set()


async def test_trace_summaries_as_the_ui_asks(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)
    async with c:
        # exactly what UI v2.20 sends: URLSearchParams, ISO times in ms, searchDepth = limit
        query = ui_query(
            **{
                "query.serviceName": "frontend",
                "query.startTimeMin": "2023-11-14T21:13:20.000Z",
                "query.startTimeMax": "2023-11-14T23:13:20.000Z",
                "query.searchDepth": "20",
                "query.attributes": '{"http.method":"GET"}',
            }
        )
        body = ok_json(await c.get(f"/api/v3/trace-summaries?{query}"))
        assert body == {
            "summaries": [
                {
                    "traceId": f"{TID:032x}",
                    "rootServiceName": "frontend",
                    "rootOperationName": "GET /dispatch",
                    "minStartTimeUnixNano": str(T0 * 1000),
                    "maxEndTimeUnixNano": str((T0 + 5_000) * 1000),
                    "spanCount": 3,
                    "errorSpanCount": 1,
                    "orphanSpanCount": 1,
                    "services": [
                        {"name": "backend", "spanCount": 2, "errorSpanCount": 1},
                        {"name": "frontend", "spanCount": 1, "errorSpanCount": 0},
                    ],
                }
            ]
        }
        # the short id too is 32 digits; rawTraces changes nothing for summaries
        query = ui_query(
            **{
                "query.serviceName": "frontend",
                "query.operationName": "GET /health",
                "query.rawTraces": "true",
            },
            **WINDOW,
        )
        (summary,) = ok_json(await c.get(f"/api/v3/trace-summaries?{query}"))["summaries"]
        assert summary["traceId"] == f"{SHORT_TID:032x}"
        assert (summary["errorSpanCount"], summary["orphanSpanCount"]) == (0, 0)
        # nothing found is an empty list, not a 404
        query = ui_query(**{"query.serviceName": "nobody"}, **WINDOW)
        assert ok_json(await c.get(f"/api/v3/trace-summaries?{query}")) == {"summaries": []}


# --- errors ---------------------------------------------------------------------------------------

TIME_LAYOUT = "2006-01-02T15:04:05.999999999Z07:00"
SEARCH_ERRORS = [
    ({}, "query.startTimeMin and query.startTimeMax are required"),
    (
        {"query.startTimeMin": WINDOW["query.startTimeMin"]},
        "query.startTimeMin and query.startTimeMax are required",
    ),
    (
        {"query.startTimeMin": "2023-11-14T22:00:00Z", "query.startTimeMax": "2023-11-14T22:00:00Z"},
        "query.startTimeMin must be before query.startTimeMax",
    ),
    (
        {"query.startTimeMin": "yesterday", "query.startTimeMax": "2023-11-14T22:00:00Z"},
        f'malformed parameter query.startTimeMin: parsing time "yesterday" as "{TIME_LAYOUT}": '
        'cannot parse "yesterday" as "2006"',
    ),
    (
        {"query.start_time_min": "2023-11-14T22:00:00Z", "query.start_time_max": "2023-11-14"},
        f'malformed parameter query.start_time_max: parsing time "2023-11-14" as "{TIME_LAYOUT}": '
        'cannot parse "" as "T"',
    ),
    (
        {**WINDOW, "query.startTimeMax": "2023-02-29T00:00:00Z"},
        'malformed parameter query.startTimeMax: parsing time "2023-02-29T00:00:00Z": day out of range',
    ),
    (
        {**WINDOW, "query.durationMin": "10"},
        'malformed parameter query.durationMin: time: missing unit in duration "10"',
    ),
    (
        {**WINDOW, "query.duration_max": "abc"},
        'malformed parameter query.duration_max: time: invalid duration "abc"',
    ),
    (
        {**WINDOW, "query.durationMax": "1x"},
        'malformed parameter query.durationMax: time: unknown unit "x" in duration "1x"',
    ),
    (
        {**WINDOW, "query.searchDepth": "ten"},
        'malformed parameter query.searchDepth: strconv.Atoi: parsing "ten": invalid syntax',
    ),
    (
        {**WINDOW, "query.num_traces": "99999999999999999999"},
        "malformed parameter query.num_traces: "
        'strconv.Atoi: parsing "99999999999999999999": value out of range',
    ),
    (
        {**WINDOW, "query.attributes": "{bad"},
        "malformed parameter query.attributes: "
        "invalid character 'b' looking for beginning of object key string",
    ),
    (
        {**WINDOW, "query.attributes": '{"a":1}'},
        "malformed parameter query.attributes: json: cannot unmarshal number into Go value of type string",
    ),
    (
        {**WINDOW, "query.attributes": '["a"]'},
        "malformed parameter query.attributes: "
        "json: cannot unmarshal array into Go value of type map[string]string",
    ),
    (
        {**WINDOW, "query.rawTraces": "2"},
        'malformed parameter query.rawTraces: strconv.ParseBool: parsing "2": invalid syntax',
    ),
    (
        {**WINDOW, "query.raw_traces": "yes"},
        'malformed parameter query.raw_traces: strconv.ParseBool: parsing "yes": invalid syntax',
    ),
]


@pytest.mark.parametrize("route", ["/api/v3/traces", "/api/v3/trace-summaries"])
@pytest.mark.parametrize(("params", "message"), SEARCH_ERRORS)
async def test_bad_search_input(
    make_app: Callable[..., Any], route: str, params: dict[str, str], message: str
) -> None:
    _, c = await seeded(make_app)
    async with c:
        assert_error(await c.get(f"{route}?{ui_query(**params)}"), 400, message)
        assert (await c.get("/api/v3/services")).status_code == 200  # still serving


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/api/v3/traces/not-hex!",
            'malformed parameter trace_id: strconv.ParseUint: parsing "not-hex!": invalid syntax',
        ),
        (
            "/api/v3/traces/" + "f" * 33,
            "malformed parameter trace_id: TraceID cannot be longer than 32 hex characters: " + "f" * 33,
        ),
        (
            "/api/v3/traces/AAA=",
            "malformed parameter trace_id: invalid length for TraceID",
        ),  # base64 of 2 bytes
        (
            "/api/v3/traces/1?startTime=now",
            f'malformed parameter startTime: parsing time "now" as "{TIME_LAYOUT}": '
            'cannot parse "now" as "2006"',
        ),
        (
            "/api/v3/traces/1?start_time=2023-11-14T25:00:00Z",
            'malformed parameter start_time: parsing time "2023-11-14T25:00:00Z": hour out of range',
        ),
        (
            "/api/v3/traces/1?endTime=2023-11-14T22:00:00Zjunk",
            'malformed parameter endTime: parsing time "2023-11-14T22:00:00Zjunk": extra text: "junk"',
        ),
        (
            "/api/v3/traces/1?end_time=2023-11-14T22:00:00%2B25:00",
            'malformed parameter end_time: parsing time "2023-11-14T22:00:00+25:00": '
            "time zone offset hour out of range",
        ),
        (
            "/api/v3/traces/1?rawTraces=maybe",
            'malformed parameter rawTraces: strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
        ("/api/v3/traces/1?raw_traces=", None),  # empty is absent
    ],
)
async def test_bad_trace_lookup_input(make_app: Callable[..., Any], path: str, message: str | None) -> None:
    _, c = await seeded(make_app)
    async with c:
        r = await c.get(path)
        if message is None:
            assert_error(r, 404, "No traces found")
        else:
            assert_error(r, 400, message)
        assert (await c.get("/api/v3/services")).status_code == 200


async def test_unknown_paths_and_methods(make_app: Callable[..., Any]) -> None:
    _, c = await seeded(make_app)
    async with c:
        for path in (
            "/api/v3/nothing",
            "/api/v3/",
            "/api/v3/traces/",
            "/api/v3/traces/1/2",
            "/api/v3/services/x",
        ):
            assert_error(await c.get(path), 404, f"404 page not found: {path}")
        for path in (
            "/api/v3/services",
            "/api/v3/traces",
            f"/api/v3/traces/{TID:x}",
            "/api/v3/trace-summaries",
        ):
            r = await c.post(path, content=b"{}")
            assert_error(r, 405, "Method Not Allowed")
            assert r.headers["allow"] == "GET, HEAD"
        r = await c.head("/api/v3/services")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"


async def test_storage_failure_is_a_logged_500(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app, c = await seeded(make_app)

    async def fail(*args: Any) -> Any:
        raise StorageError("backend down")

    assert app.storage is not None
    for method in ("get_services", "get_operations", "get_trace", "find_trace_ids", "find_traces"):
        monkeypatch.setattr(app.storage.reader, method, fail)
    caplog.set_level(logging.ERROR, logger="pyjaeger.query.api_v3")
    async with c:
        for path in (
            "/api/v3/services",
            "/api/v3/operations?service=frontend",
            f"/api/v3/traces/{TID:x}",
            f"/api/v3/traces?{ui_query(**{'query.serviceName': 'frontend'}, **WINDOW)}",
            f"/api/v3/trace-summaries?{ui_query(**{'query.serviceName': 'frontend'}, **WINDOW)}",
        ):
            assert_error(await c.get(path), 500, "backend down")
    failures = [r for r in caplog.records if r.name == "pyjaeger.query.api_v3"]
    assert len(failures) == 5 and all(r.exc_info for r in failures)


# --- base path and metrics ------------------------------------------------------------------------


async def test_route_labels(make_app: Callable[..., Any]) -> None:
    """`http_route` is the route template, without the base path, as for the v1 API."""
    app, c = await seeded(make_app, base_path="/jaeger")
    async with c:
        window = ui_query(**{"query.serviceName": "frontend"}, **WINDOW)
        for path, status in (
            ("/jaeger/api/v3/services", 200),
            ("/jaeger/api/v3/operations?service=frontend", 200),
            (f"/jaeger/api/v3/traces/{TID:x}", 200),
            (f"/jaeger/api/v3/traces/{0xBAD:x}", 404),
            ("/jaeger/api/v3/traces/zz!", 400),
            (f"/jaeger/api/v3/traces?{window}", 200),
            (f"/jaeger/api/v3/trace-summaries?{window}", 200),
            ("/jaeger/api/v3/trace-summaries", 400),
            ("/jaeger/api/v3/nope", 404),
            ("/api/v3/services", 404),  # not under the base path
        ):
            assert (await c.get(path)).status_code == status, path
        assert (await c.post("/jaeger/api/v3/services")).status_code == 405
    counts: dict[tuple[str, str, str], float] = {}
    for family in app.registry.collect():
        for s in family.samples:
            if s.name == "http_server_request_duration_seconds_count" and s.labels["component"] == "query":
                counts[
                    (
                        s.labels["http_request_method"],
                        s.labels["http_route"],
                        s.labels["http_response_status_code"],
                    )
                ] = s.value
    assert counts == {
        ("GET", "/api/v3/services", "200"): 1,
        ("GET", "/api/v3/operations", "200"): 1,
        ("GET", "/api/v3/traces/{trace_id}", "200"): 1,
        ("GET", "/api/v3/traces/{trace_id}", "404"): 1,
        ("GET", "/api/v3/traces/{trace_id}", "400"): 1,
        ("GET", "/api/v3/traces", "200"): 1,
        ("GET", "/api/v3/trace-summaries", "200"): 1,
        ("GET", "/api/v3/trace-summaries", "400"): 1,
        ("GET", "/api/v3/{rest}", "404"): 1,
        ("GET", "", "404"): 1,
        ("POST", "/api/v3/services", "405"): 1,
    }


# --- RFC 3339 as Go's time.Parse reads it ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unix_ns"),
    [
        ("2023-11-14T22:13:20Z", 1_700_000_000 * 10**9),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000 * 10**9 + 500_000_000),
        ("2023-11-14T22:13:20,123Z", 1_700_000_000 * 10**9 + 123_000_000),  # Go takes a comma too
        ("2023-11-14T22:13:20.1234567891234Z", 1_700_000_000 * 10**9 + 123_456_789),  # truncated to ns
        ("2023-11-15T00:13:20+02:00", 1_700_000_000 * 10**9),
        ("2023-11-14T20:43:20-01:30", 1_700_000_000 * 10**9),
        ("2023-11-14T2:13:20Z", (1_700_000_000 - 20 * 3600) * 10**9),  # a one-digit hour
        ("2024-02-29T00:00:00Z", 1_709_164_800 * 10**9),
        ("1969-12-31T23:59:59.999999999Z", -1),
        ("0000-01-01T00:00:00Z", -62_167_219_200 * 10**9),
        ("9999-12-31T23:59:59Z", 253_402_300_799 * 10**9),
    ],
)
def test_rfc3339_at_any_precision(text: str, unix_ns: int) -> None:
    assert parse_rfc3339_nano(text) == unix_ns


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1900-02-29T00:00:00Z", 'parsing time "1900-02-29T00:00:00Z": day out of range'),
        ("2023-11-14T22:60:00Z", 'parsing time "2023-11-14T22:60:00Z": minute out of range'),
        ("2023-11-14T22:00:60Z", 'parsing time "2023-11-14T22:00:60Z": second out of range'),
        (
            "2023-11-14t22:00:00Z",
            f'parsing time "2023-11-14t22:00:00Z" as "{TIME_LAYOUT}": cannot parse "t22:00:00Z" as "T"',
        ),
        (
            "2023-1-14T22:00:00Z",
            f'parsing time "2023-1-14T22:00:00Z" as "{TIME_LAYOUT}": cannot parse "1-14T22:00:00Z" as "01"',
        ),
        (
            "2023-11-14T22:00:00+0100",
            f'parsing time "2023-11-14T22:00:00+0100" as "{TIME_LAYOUT}": cannot parse "+0100" as "Z07:00"',
        ),
        (
            "2023-11-14T22:00:00+01:61",
            'parsing time "2023-11-14T22:00:00+01:61": time zone offset minute out of range',
        ),
        ("é", f'parsing time "\\xc3\\xa9" as "{TIME_LAYOUT}": cannot parse "\\xc3\\xa9" as "2006"'),
    ],
)
def test_rfc3339_errors_in_gos_words(text: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_rfc3339_nano(text)
    assert str(e.value) == message
