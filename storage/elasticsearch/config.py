"""`ElasticsearchConfig`: Jaeger's `--es.*` flags as one frozen, validated object.

Field names follow the flags (`server_urls` ⇐ `--es.server-urls`, `max_span_age` ⇐
`--es.max-span-age`, ...). Durations are plain numbers with their unit in the name's comment:
`max_span_age` is µs (the model's time unit), `bulk_flush_interval` and `timeout` are seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit, urlunsplit

from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.indices import IndexNames

__all__ = ["ElasticsearchConfig", "TLSConfig", "TagsAsFields", "NO_TAGS_AS_FIELDS", "HOUR_US"]

HOUR_US = 3600 * 1_000_000


@dataclass(slots=True, frozen=True)
class TagsAsFields:
    """Jaeger's `--es.tags-as-fields.*`: which tags are stored as object fields, not nested.

    Object fields (`tag.http@method`) are what Kibana can show and filter on; nested tags are
    what Jaeger's search queries. Jaeger searches both, so a change of this setting over time
    keeps old documents findable.
    """

    all: bool = False  # --es.tags-as-fields.all
    include: frozenset[str] = frozenset()  # exact keys; .include and .config-file merged
    dot_replacement: str = "@"  # --es.tags-as-fields.dot-replacement
    config_file: str = ""  # --es.tags-as-fields.config-file: keys read at start-up, merged into include

    @property
    def enabled(self) -> bool:
        return self.all or bool(self.include)

    def validate(self) -> None:
        # Jaeger accepts "", and its reader then turns every key into ".k.e.y." (Go's
        # strings.ReplaceAll with an empty old string inserts at every rune boundary).
        if not self.dot_replacement:
            raise ConfigError("--es.tags-as-fields.dot-replacement must not be empty")
        if "." in self.dot_replacement:
            raise ConfigError("--es.tags-as-fields.dot-replacement must not contain '.'")
        self.read_config_file()  # an unreadable file is a usage error, not a failure at start-up

    def read_config_file(self) -> list[str]:
        """The lines of `config_file` (none when unset), split on "\\n" only, as Go's
        `bufio.Scanner` does. Raises `ConfigError` naming the flag and the path."""
        if not self.config_file:
            return []
        try:
            with open(self.config_file, encoding="utf-8", newline="") as file:
                return file.read().split("\n")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            flag = "--es.tags-as-fields.config-file"
            raise ConfigError(f"{flag}: cannot read {self.config_file!r}: {reason}") from e

    def resolved(self) -> TagsAsFields:
        """These settings with the keys of `config_file` merged into `include`: Jaeger reads the
        file once, when storage is built, so a later edit of the file needs a restart."""
        if not self.config_file:
            return self
        return replace(self, include=self.include | self.keys_from(config_file_lines=self.read_config_file()))

    @staticmethod
    def keys_from(include: str = "", config_file_lines: Iterable[str] = ()) -> frozenset[str]:
        """Jaeger's merge of `.config-file` (one key a line, trimmed, blanks skipped) and
        `.include` (split on commas, entries not trimmed: "a, b" selects "a" and " b")."""
        keys = {line.strip() for line in config_file_lines if line.strip()}
        if include:
            keys.update(include.split(","))
        return frozenset(keys)


NO_TAGS_AS_FIELDS = TagsAsFields()


@dataclass(slots=True, frozen=True)
class TLSConfig:
    """Jaeger's `--es.tls.*`: how the client checks the server (and proves itself, with a cert)."""

    enabled: bool = False  # --es.tls.enabled (an https:// URL also turns TLS on)
    ca: str = ""  # --es.tls.ca: PEM bundle; empty = the system's CAs
    cert: str = ""  # --es.tls.cert: client certificate for mutual TLS
    key: str = ""  # --es.tls.key
    server_name: str = ""  # --es.tls.server-name: expected name in the server certificate
    skip_host_verify: bool = False  # --es.tls.skip-host-verify

    def validate(self) -> None:
        """Jaeger's rules: the other `--es.tls.*` flags need `--es.tls.enabled` (tlscfg refuses to
        start otherwise), a certificate needs its key; named files must be readable now, so that
        a typo is a usage error rather than a failure at the first connection."""
        if not self.enabled:
            for flag, value in _TLS_OPTIONS:
                if getattr(self, value):
                    raise ConfigError(f"--es.tls.{flag} cannot be used when --es.tls.enabled is false")
        if self.cert and not self.key:
            raise ConfigError("--es.tls.cert needs --es.tls.key")
        if self.key and not self.cert:
            raise ConfigError("--es.tls.key needs --es.tls.cert")
        for flag, path in (("ca", self.ca), ("cert", self.cert), ("key", self.key)):
            if path:
                _check_readable(f"--es.tls.{flag}", path)


_TLS_OPTIONS = (
    ("ca", "ca"),
    ("cert", "cert"),
    ("key", "key"),
    ("server-name", "server_name"),
    ("skip-host-verify", "skip_host_verify"),
)


def _check_readable(flag: str, path: str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise ConfigError(f"{flag}: cannot read {path!r}: {e.strerror or e}") from e


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
    bulk_flush_interval: float = 0.2  # --es.bulk.flush-interval, s (unused: see writer.py)
    version: int = 0  # --es.version: major version; 0 = ask the cluster (GET /_nodes/_local)
    timeout: float = 30.0  # --es.timeout, s per request
    start_timeout: float = 60.0  # --es.start-timeout, s: start-up retries an unreachable cluster this long
    tls: TLSConfig = field(default_factory=TLSConfig)  # --es.tls.*
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
        if self.start_timeout < 0:
            raise ConfigError("--es.start-timeout must be >= 0")
        if self.max_retries < 0:
            raise ConfigError("--es.max-retries must be >= 0")
        self.tls.validate()
        self.tags_as_fields.validate()
        self.index_names.validate()

    @property
    def display_urls(self) -> str:
        """The server URLs for messages and logs, without credentials written into them."""
        return ",".join(_without_credentials(url) for url in self.server_urls)

    @property
    def index_names(self) -> IndexNames:
        return IndexNames(
            prefix=self.index_prefix, date_separator=self.index_date_separator, use_aliases=self.use_aliases
        )


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
