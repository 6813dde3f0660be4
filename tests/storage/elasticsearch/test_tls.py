"""`--es.tls.*` and `--es.username/password` against a real secured node (`elasticsearch_tls`):
HTTPS with the launcher's own CA, basic auth in the file realm, a client certificate accepted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from pyjaeger.cmd import cli
from pyjaeger.cmd.config import Config
from pyjaeger.errors import ConfigError
from pyjaeger.model import KeyValue, Process, Span, ValueType
from pyjaeger.storage.base import StorageError, TraceQuery
from pyjaeger.storage.config import StorageConfig
from pyjaeger.storage.elasticsearch.client import make_client
from pyjaeger.storage.elasticsearch.config import ElasticsearchConfig, TLSConfig
from pyjaeger.storage.elasticsearch.store import ElasticsearchStore

NOW = (int(time.time()) // 60 * 60 - 600) * 1_000_000
CAPTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
OTLP_CAPTURE = CAPTURES / "otel-otlp-grpc-1.45.2_ExportTraceServiceRequest.bin"
OTLP_TRACE_ID = "27c46cbb6c4dacdb340f92eaea04ee18"

Opener = Callable[..., Coroutine[Any, Any, ElasticsearchStore]]


def _span(trace_id: int) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=1,
        operation_name="GET /secure",
        references=[],
        flags=1,
        start_time=NOW,
        duration=1500,
        tags=[KeyValue("http.method", ValueType.STRING, "GET")],
        logs=[],
        process=Process("tls-shop", []),
    )


def _recent_otlp() -> bytes:
    """The captured OTLP request with its spans moved to a minute ago: the reader looks back only
    `--es.max-span-age` (72 h), and the capture grows older."""
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(OTLP_CAPTURE.read_bytes())
    spans = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
    shift = time.time_ns() - 60 * 10**9 - min(s.start_time_unix_nano for s in spans)
    for span in spans:
        span.start_time_unix_nano += shift
        span.end_time_unix_nano += shift
        for event in span.events:
            event.time_unix_nano += shift
    return request.SerializeToString()


def _config(server: Any, **overrides: Any) -> ElasticsearchConfig:
    """A config for the secured node: its https URL, CA and superuser, a private index prefix and
    a single start-up attempt (a refused connection here is the point of the test, not a delay)."""
    fields: dict[str, Any] = {
        "server_urls": (server.url,),
        "username": server.username,
        "password": server.password,
        "tls": TLSConfig(enabled=True, ca=str(server.ca_path)),
        "index_prefix": f"pyjt-{uuid.uuid4().hex[:12]}",
        "num_shards": 1,
        "num_replicas": 0,
        "start_timeout": 0.0,
    }
    fields.update(overrides)
    return ElasticsearchConfig(**fields)


async def _delete_indices(server: Any, prefix: str) -> None:
    tls = TLSConfig(enabled=True, ca=str(server.ca_path))
    async with make_client([server.url], server.username, server.password, 30.0, tls=tls) as client:
        quiet = client.options(ignore_status=404)
        found = await quiet.indices.get(index=f"{prefix}-jaeger-*")
        if found.body:
            await quiet.indices.delete(index=",".join(found.body))
        for kind in ("span", "service", "dependencies"):
            await quiet.indices.delete_index_template(name=f"{prefix}-jaeger-{kind}")


@pytest.fixture
async def open_store(elasticsearch_tls: Any) -> AsyncIterator[Opener]:
    """Opens stores on the secured node (`_config` overrides as keywords); cleans up after."""
    opened: list[ElasticsearchStore] = []

    async def open_(**overrides: Any) -> ElasticsearchStore:
        store = await ElasticsearchStore.open(_config(elasticsearch_tls, **overrides))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()
        await _delete_indices(elasticsearch_tls, store.config.index_prefix)


async def _write_and_read(store: ElasticsearchStore, trace_id: int) -> None:
    await store.write_spans([_span(trace_id)])
    await store.refresh()
    trace = await store.get_trace(trace_id)
    assert trace is not None
    assert [s.operation_name for s in trace.spans] == ["GET /secure"]
    assert await store.find_trace_ids(TraceQuery("tls-shop", tags={"http.method": "GET"})) == [trace_id]


async def test_ca_and_basic_auth_write_and_read(open_store: Opener) -> None:
    store = await open_store()
    assert store.version == 8
    await _write_and_read(store, 0x7151)


async def test_client_certificate(open_store: Opener, elasticsearch_tls: Any) -> None:
    # The node asks for a client certificate and checks one that is offered against its CA.
    tls = TLSConfig(
        enabled=True,
        ca=str(elasticsearch_tls.ca_path),
        cert=str(elasticsearch_tls.client_cert_path),
        key=str(elasticsearch_tls.client_key_path),
    )
    store = await open_store(tls=tls)
    await _write_and_read(store, 0x7152)


async def test_skip_host_verify_needs_no_ca(open_store: Opener) -> None:
    store = await open_store(tls=TLSConfig(enabled=True, skip_host_verify=True))
    await _write_and_read(store, 0x7153)


async def test_server_name_that_the_certificate_holds(open_store: Opener, elasticsearch_tls: Any) -> None:
    # The URL names 127.0.0.1; the certificate also holds DNS:localhost, which is then checked.
    tls = TLSConfig(enabled=True, ca=str(elasticsearch_tls.ca_path), server_name="localhost")
    store = await open_store(tls=tls)
    assert await store.get_services() == []


async def test_localhost_url(open_store: Opener, elasticsearch_tls: Any) -> None:
    url = elasticsearch_tls.url.replace("127.0.0.1", "localhost")
    store = await open_store(server_urls=(url,))
    assert await store.get_services() == []


@pytest.mark.parametrize(
    "tls",
    [TLSConfig(enabled=True), TLSConfig()],
    ids=["enabled-without-ca", "https-url-only"],
)
async def test_unknown_ca_fails_at_start(elasticsearch_tls: Any, tls: TLSConfig) -> None:
    # The system's CAs do not know the launcher's CA: start-up fails at once and says why.
    began = time.monotonic()
    with pytest.raises(StorageError, match=r"(?i)certificate verify failed"):
        await ElasticsearchStore.open(_config(elasticsearch_tls, tls=tls, start_timeout=30.0))
    assert time.monotonic() - began < 10, "a certificate problem is not retried"


async def test_server_name_mismatch_fails_at_start(elasticsearch_tls: Any) -> None:
    tls = TLSConfig(enabled=True, ca=str(elasticsearch_tls.ca_path), server_name="es.example.invalid")
    with pytest.raises(StorageError, match=r"(?i)hostname mismatch.*es\.example\.invalid"):
        await ElasticsearchStore.open(_config(elasticsearch_tls, tls=tls))


async def test_wrong_password_fails_at_start(elasticsearch_tls: Any) -> None:
    with pytest.raises(StorageError) as caught:
        await ElasticsearchStore.open(_config(elasticsearch_tls, password="not-the-password"))
    message = str(caught.value)
    assert "401" in message
    assert "authenticate" in message


async def test_no_credentials_fails_at_start(elasticsearch_tls: Any) -> None:
    with pytest.raises(StorageError, match="401"):
        await ElasticsearchStore.open(_config(elasticsearch_tls, username="", password=""))


async def test_tls_enabled_leaves_http_urls_plain(storage_elasticsearch: str) -> None:
    # Jaeger (Go's http.Transport) uses the TLS settings for https:// URLs only.
    config = ElasticsearchConfig(
        server_urls=(storage_elasticsearch,),
        tls=TLSConfig(enabled=True, skip_host_verify=True),
        create_index_templates=False,
    )
    store = await ElasticsearchStore.open(config)
    try:
        assert store.version >= 7
    finally:
        await store.close()


@pytest.fixture
def pem_files(tmp_path: Path) -> dict[str, str]:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    return {"missing": str(tmp_path / "missing.pem"), "dir": str(tmp_path), "not_pem": str(not_pem)}


@pytest.mark.parametrize(
    ("tls", "flag"),
    [
        (TLSConfig(enabled=True, ca="{missing}"), "--es.tls.ca: cannot read '.*missing.pem'"),
        (TLSConfig(enabled=True, ca="{dir}"), "--es.tls.ca: cannot read"),
        (TLSConfig(enabled=True, cert="{missing}", key="{not_pem}"), "--es.tls.cert: cannot read"),
        (TLSConfig(enabled=True, cert="{not_pem}", key="{missing}"), "--es.tls.key: cannot read"),
        (TLSConfig(enabled=True, cert="{not_pem}"), "--es.tls.cert needs --es.tls.key"),
        (TLSConfig(enabled=True, key="{not_pem}"), "--es.tls.key needs --es.tls.cert"),
        (TLSConfig(ca="{not_pem}"), "--es.tls.ca cannot be used when --es.tls.enabled is false"),
        (TLSConfig(skip_host_verify=True), "--es.tls.skip-host-verify cannot be used when --es.tls.enabled"),
        (TLSConfig(server_name="x"), "--es.tls.server-name cannot be used when --es.tls.enabled"),
    ],
)
def test_config_names_the_bad_tls_flag(pem_files: dict[str, str], tls: TLSConfig, flag: str) -> None:
    tls = replace(tls, ca=tls.ca.format(**pem_files), cert=tls.cert.format(**pem_files))
    tls = replace(tls, key=tls.key.format(**pem_files))
    with pytest.raises(ConfigError, match=flag):
        ElasticsearchConfig(tls=tls).validate()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--es.tls.enabled", "--es.tls.ca={missing}"], "--es.tls.ca: cannot read '{missing}'"),
        (["--es.tls.ca={not_pem}"], "--es.tls.ca cannot be used when --es.tls.enabled is false"),
    ],
)
def test_cli_reports_bad_tls_flags_as_usage_errors(
    pem_files: dict[str, str], capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    argv = ["all-in-one", "--span-storage.type=elasticsearch", *(f.format(**pem_files) for f in flags)]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv, environ={})
    assert exited.value.code == 2
    assert message.format(**pem_files) in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "flag"), [("ca", "--es.tls.ca: cannot load"), ("cert", "--es.tls.cert/--es.tls.key")]
)
def test_unloadable_pem_is_a_config_error(pem_files: dict[str, str], field: str, flag: str) -> None:
    # Readable but not PEM: found when the client is built, at start-up, still naming the flag.
    files = {"ca": pem_files["not_pem"]} if field == "ca" else {"cert": pem_files["not_pem"]}
    tls = TLSConfig(enabled=True, key=pem_files["not_pem"] if field == "cert" else "", **files)
    config = ElasticsearchConfig(server_urls=("https://127.0.0.1:1",), tls=tls)
    with pytest.raises(ConfigError, match=flag):
        ElasticsearchStore(config)


def test_cli_exits_1_on_a_ca_that_is_no_pem(
    pem_files: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    argv = [
        "collector",
        "--span-storage.type=elasticsearch",
        "--es.server-urls=https://127.0.0.1:1",
        "--es.tls.enabled",
        f"--es.tls.ca={pem_files['not_pem']}",
    ]
    policy = asyncio.get_event_loop_policy()
    try:
        assert cli.main(argv, environ={}) == 1
    finally:
        asyncio.set_event_loop_policy(policy)  # main installs uvloop's for the whole process
    assert "--es.tls.ca: cannot load CA bundle" in caplog.text


async def test_all_in_one_over_https(
    make_app: Callable[..., Any], loopback_config: Callable[..., Config], elasticsearch_tls: Any
) -> None:
    es = _config(elasticsearch_tls)
    config = replace(
        loopback_config(), storage=StorageConfig(span_storage_type="elasticsearch", elasticsearch=es)
    )
    app = await make_app("all-in-one", config)
    otlp = f"http://127.0.0.1:{app.server('OTLP HTTP receiver').port}/v1/traces"
    query = f"http://127.0.0.1:{app.server('query HTTP server').port}"
    try:
        async with httpx.AsyncClient() as c:
            r = await c.post(otlp, content=_recent_otlp(), headers={"content-type": "application/x-protobuf"})
            assert r.status_code == 200
            spans: list[dict[str, Any]] = []
            for _ in range(100):  # the node makes writes searchable within a second
                r = await c.get(f"{query}/api/traces/{OTLP_TRACE_ID}")
                if r.status_code == 200 and len(r.json()["data"][0]["spans"]) == 3:
                    spans = r.json()["data"][0]["spans"]
                    break
                await asyncio.sleep(0.1)
            assert spans, (r.status_code, r.text[:500])
            assert {s["operationName"] for s in spans} == {"root", "child-1", "child-2"}
            assert (await c.get(f"{query}/api/services")).json()["data"] == ["demo-otlp-grpc"]
    finally:
        await app.stop()
        await _delete_indices(elasticsearch_tls, es.index_prefix)


@pytest.mark.parametrize("via_env", [False, True])
def test_tools_take_the_tls_flags(elasticsearch_tls: Any, via_env: bool) -> None:
    """es-rollover and es-index-cleaner reach a secured cluster with Jaeger's --es.tls.* flags
    (or their environment variables); without the CA they fail with the certificate problem."""
    server = elasticsearch_tls
    prefix = f"pyjt-{uuid.uuid4().hex[:12]}"
    secure = {
        "--es.tls.enabled": "true",
        "--es.tls.ca": str(server.ca_path),
        "--es.username": server.username,
        "--es.password": server.password,
    }
    env = dict(os.environ)
    flags: list[str] = []
    if via_env:
        env.update({k.lstrip("-").upper().replace(".", "_").replace("-", "_"): v for k, v in secure.items()})
    else:
        flags = [f"{k}={v}" if k != "--es.tls.enabled" else k for k, v in secure.items()]

    def run(*args: str, extra: list[str] = flags) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pyjaeger", *args, *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        done = run("es-rollover", "init", server.url, "--index-prefix", prefix, "--shards=1", "--replicas=0")
        assert done.returncode == 0, done.stderr
        done = run("es-index-cleaner", "0", server.url, "--index-prefix", prefix, "--rollover")
        assert done.returncode == 0, done.stderr
        if not via_env:
            done = run("es-index-cleaner", "0", server.url, extra=["--es.username=x", "--es.password=y"])
            assert done.returncode == 1
            assert "certificate verify failed" in done.stderr
    finally:
        asyncio.run(_delete_indices(server, prefix))
