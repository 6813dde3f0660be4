"""The storage flags of the server commands: `--span-storage.type`, `--memory.*`, `--sqlite.*`
and Jaeger's `--es.*`, each setting a field of `storage.config.StorageConfig` (defaults there)."""

from __future__ import annotations

from pyjaeger.cmd.flag_rules import BOOL, DURATION_S, DURATION_US, INT, KEYS, LIST, TEXT, Flag, Kind

__all__ = ["STORAGE_FLAGS"]


def _es(name: str, help_: str, kind: Kind = TEXT) -> Flag:
    return Flag(f"es.{name}", help_, "storage.elasticsearch." + name.replace("-", "_"), "storage", kind)


STORAGE_FLAGS: tuple[Flag, ...] = (
    Flag(
        "span-storage.type",
        "The type of backend used for service dependencies and span storage: memory, sqlite or elasticsearch",
        "storage.span_storage_type",
        "storage",
    ),
    Flag(
        "memory.max-traces",
        "The maximum number of traces stored in memory; the oldest is evicted first. 0 means no limit",
        "storage.memory.max_traces",
        "storage",
        INT,
    ),
    Flag(
        "sqlite.path",
        "The sqlite database file of --span-storage.type=sqlite (created with its folder if missing)",
        "storage.sqlite.path",
        "storage",
    ),
    Flag(
        "sqlite.retention",
        "How long sqlite keeps spans (by start time); older ones are deleted in the background",
        "storage.sqlite.retention",
        "storage",
        DURATION_US,
    ),
    Flag(
        "sqlite.max-size",
        "Largest size of the sqlite data in bytes; past it the oldest spans go first. 0: no limit",
        "storage.sqlite.max_size",
        "storage",
        INT,
    ),
    _es("server-urls", "Comma-separated Elasticsearch URLs", LIST),
    _es("username", "Username for basic authentication"),
    _es("password", "Password for basic authentication"),
    _es("index-prefix", "Prefix of every index and template name (p gives p-jaeger-span-...)"),
    _es("index-date-separator", "Separator in the indices' date suffix"),
    _es("num-shards", "Shards of each new index", INT),
    _es("num-replicas", "Replicas of each new index", INT),
    _es("create-index-templates", "Install Jaeger's index templates at start-up", BOOL),
    _es("use-aliases", "Read and write through the aliases es-rollover manages", BOOL),
    _es("max-span-age", "How far back trace lookups and service lists reach", DURATION_US),
    _es("max-doc-count", "Hits per search and terms-aggregation size", INT),
    Flag(
        "es.bulk.size", "Largest _bulk request, in bytes", "storage.elasticsearch.bulk_size", "storage", INT
    ),
    Flag(
        "es.bulk.workers",
        "_bulk requests in flight at once",
        "storage.elasticsearch.bulk_workers",
        "storage",
        INT,
    ),
    Flag(
        "es.bulk.actions", "Documents per _bulk request", "storage.elasticsearch.bulk_actions", "storage", INT
    ),
    Flag(
        "es.bulk.flush-interval",
        "Accepted for compatibility: a _bulk request leaves once a --es.bulk.workers slot is free",
        "storage.elasticsearch.bulk_flush_interval",
        "storage",
        DURATION_S,
    ),
    _es("version", "Major version of Elasticsearch; 0 asks the cluster", INT),
    _es("timeout", "Timeout of one request to Elasticsearch", DURATION_S),
    _es(
        "start-timeout",
        "How long start-up keeps retrying an unreachable Elasticsearch before it gives up (0: one attempt)",
        DURATION_S,
    ),
    *(
        Flag(f"es.tls.{name}", help_, f"storage.elasticsearch.tls.{name.replace('-', '_')}", "storage", kind)
        for name, help_, kind in (
            ("enabled", "Talk to Elasticsearch over TLS", BOOL),
            ("ca", "CA bundle (PEM) that verifies the server's certificate", TEXT),
            ("cert", "Client certificate (PEM) for mutual TLS", TEXT),
            ("key", "Client private key (PEM) for mutual TLS", TEXT),
            ("server-name", "Host name expected in the server's certificate (default: the URL's host)", TEXT),
            (
                "skip-host-verify",
                "Accept any server certificate (insecure: for tests and self-signed setups)",
                BOOL,
            ),
        )
    ),
    *(
        Flag(
            f"es.tags-as-fields.{name}",
            help_,
            f"storage.elasticsearch.tags_as_fields.{name.replace('-', '_')}",
            "storage",
            kind,
        )
        for name, help_, kind in (
            ("all", "Store every tag as an object field (tag.<key>) besides the nested list", BOOL),
            ("include", "Comma-separated tag keys stored as object fields", KEYS),
            (
                "config-file",
                "File of tag keys (one a line) stored as object fields, merged with .include",
                TEXT,
            ),
            ("dot-replacement", "Replaces '.' in tag keys stored as fields", TEXT),
        )
    ),
)
