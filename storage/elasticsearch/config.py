"""`ElasticsearchConfig`: Jaeger's `--es.*` flags as one frozen, validated object.

Field names follow the flags (`server_urls` ⇐ `--es.server-urls`, `max_span_age` ⇐
`--es.max-span-age`, ...). Durations are plain numbers with their unit in the name's comment:
`max_span_age` is µs (the model's time unit), `bulk_flush_interval` and `timeout` are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.dbmodel import NO_TAGS_AS_FIELDS, TagsAsFields
from pyjaeger.storage.elasticsearch.indices import IndexNames

__all__ = ["ElasticsearchConfig", "HOUR_US"]

HOUR_US = 3600 * 1_000_000


@dataclass(slots=True, frozen=True)
class ElasticsearchConfig:
    server_urls: tuple[str, ...] = ("http://127.0.0.1:9200",)  # --es.server-urls (comma-separated)
    username: str = ""  # --es.username
    password: str = ""  # --es.password
    index_prefix: str = ""  # --es.index-prefix
    index_date_separator: str = "-"  # --es.index-date-separator
    num_shards: int = 5  # --es.num-shards
    num_replicas: int = 1  # --es.num-replicas
    create_index_templates: bool = True  # --es.create-index-templates
    use_aliases: bool = False  # --es.use-aliases
    max_span_age: int = 72 * HOUR_US  # --es.max-span-age, µs: how far back get_trace/services look
    max_doc_count: int = 10_000  # --es.max-doc-count: hits per search and terms-aggregation size
    tags_as_fields: TagsAsFields = field(default=NO_TAGS_AS_FIELDS)  # --es.tags-as-fields.*
    bulk_size: int = 5_000_000  # --es.bulk.size: bytes per _bulk request
    bulk_workers: int = 1  # --es.bulk.workers: _bulk requests in flight at once
    bulk_actions: int = 1000  # --es.bulk.actions: documents per _bulk request
    bulk_flush_interval: float = 0.2  # --es.bulk.flush-interval, s (each write_spans call flushes)
    version: int = 0  # --es.version: major version; 0 = ask the cluster (GET /_nodes/_local)
    timeout: float = 30.0  # --es.timeout, s per request
    max_retries: int = 3  # retries of a _bulk request on connection errors, 429 and 5xx

    def validate(self) -> None:
        if not self.server_urls or any(not u for u in self.server_urls):
            raise ConfigError("--es.server-urls must name at least one URL")
        for url in self.server_urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"--es.server-urls: {url!r} is not an http(s) URL")
        if self.password and not self.username:
            raise ConfigError("--es.password needs --es.username")
        if self.num_shards < 1:
            raise ConfigError("--es.num-shards must be >= 1")
        if self.num_replicas < 0:
            raise ConfigError("--es.num-replicas must be >= 0")
        if self.max_span_age <= 0:
            raise ConfigError("--es.max-span-age must be > 0")
        if self.max_doc_count < 1:
            raise ConfigError("--es.max-doc-count must be >= 1")
        if self.bulk_size < 1:
            raise ConfigError("--es.bulk.size must be >= 1")
        if self.bulk_workers < 1:
            raise ConfigError("--es.bulk.workers must be >= 1")
        if self.bulk_actions < 1:
            raise ConfigError("--es.bulk.actions must be >= 1")
        if self.bulk_flush_interval < 0:
            raise ConfigError("--es.bulk.flush-interval must be >= 0")
        if self.version != 0 and self.version < 7:
            raise ConfigError("--es.version must be 0 (detect) or 7 or newer")
        if self.timeout <= 0:
            raise ConfigError("--es.timeout must be > 0")
        if self.max_retries < 0:
            raise ConfigError("--es.max-retries must be >= 0")
        self.tags_as_fields.validate()
        self.index_names.validate()

    @property
    def index_names(self) -> IndexNames:
        return IndexNames(
            prefix=self.index_prefix, date_separator=self.index_date_separator, use_aliases=self.use_aliases
        )
