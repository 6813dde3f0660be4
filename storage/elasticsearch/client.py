"""`make_client`: the `AsyncElasticsearch` that the store and the tools share, with Jaeger's TLS.

Jaeger's `--es.tls.*` semantics (`internal/config/tlscfg`, the ES round tripper), as Go's
`http.Transport` applies them:

- TLS settings apply to `https://` URLs only: with `--es.tls.enabled` an `http://` URL is still
  plain HTTP (Go picks TLS by scheme), which is logged as a warning here.
- `--es.tls.ca` replaces the system's CAs (Jaeger adds the system pool only when no CA is given).
- `--es.tls.cert` + `--es.tls.key`: the client certificate for mutual TLS.
- `--es.tls.server-name`: the name checked in the server's certificate (and sent as SNI) instead
  of the URL's host.
- `--es.tls.skip-host-verify`: no chain and no host-name check.

One deliberate difference: Jaeger talks to an `https://` URL without `--es.tls.enabled` with no
certificate check at all; here it is checked against the system's CAs, like any HTTPS client.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence

import httpx
from elastic_transport import HttpHeaders, HttpxAsyncHttpNode, NodeConfig, TlsError
from elastic_transport._node import NodeApiResponse
from elastic_transport.client_utils import DEFAULT, DefaultType, url_to_node_config
from elasticsearch import AsyncElasticsearch

from pyjaeger.errors import ConfigError
from pyjaeger.storage.elasticsearch.config import TLSConfig

__all__ = ["make_client", "make_ssl_context"]

log = logging.getLogger(__name__)

# Third-party NodeConfig extras start with an underscore (elastic_transport's convention).
_SERVER_NAME = "_pyjaeger.tls_server_name"


def make_client(
    urls: Sequence[str],
    username: str,
    password: str,
    timeout: float,
    *,
    tls: TLSConfig | None = None,
) -> AsyncElasticsearch:
    """The async client every part uses: httpx transport (no aiohttp needed), no client-side
    retries (the writer retries itself; reads and tools fail fast to their caller).

    Raises `ConfigError` naming the flag when a CA, certificate or key file cannot be loaded.
    """
    tls = tls if tls is not None else TLSConfig()
    nodes = [url_to_node_config(url) for url in urls]
    if any(node.scheme == "https" for node in nodes):
        context = make_ssl_context(tls)
        extras = {_SERVER_NAME: tls.server_name} if tls.server_name and not tls.skip_host_verify else {}
        nodes = [
            node.replace(ssl_context=context, _extras={**node._extras, **extras})
            if node.scheme == "https"
            else node
            for node in nodes
        ]
    if tls.enabled and any(node.scheme != "https" for node in nodes):
        log.warning("--es.tls.enabled: http:// URLs in --es.server-urls are used without TLS")
    return AsyncElasticsearch(
        nodes,
        basic_auth=(username, password) if username else None,
        node_class=_HttpxNode,
        request_timeout=timeout,
        max_retries=0,
    )


def make_ssl_context(tls: TLSConfig) -> ssl.SSLContext:
    """The client side of a TLS connection to Elasticsearch, as Jaeger configures Go's `tls.Config`."""
    try:
        context = ssl.create_default_context(cafile=tls.ca or None)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"--es.tls.ca: cannot load CA bundle {tls.ca!r}: {e}") from e
    if tls.cert or tls.key:
        try:
            context.load_cert_chain(tls.cert, tls.key or None)
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                f"--es.tls.cert/--es.tls.key: cannot load client certificate {tls.cert!r}"
                f" with key {tls.key!r}: {e}"
            ) from e
    if tls.skip_host_verify:
        context.check_hostname = False  # must go before CERT_NONE, which check_hostname forbids
        context.verify_mode = ssl.CERT_NONE
    return context


class _HttpxNode(HttpxAsyncHttpNode):
    """The httpx node, plus `--es.tls.server-name`: httpx checks the certificate against the
    `sni_hostname` request extension when set (elastic_transport's `ssl_assert_hostname` is
    ignored by its httpx node and cannot be combined with an `ssl_context`)."""

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        server_name = config._extras.get(_SERVER_NAME)
        if isinstance(server_name, str) and server_name:

            async def set_server_name(request: httpx.Request) -> None:
                request.extensions["sni_hostname"] = server_name

            self.client.event_hooks["request"].append(set_server_name)

    async def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        try:
            return await super().perform_request(method, target, body, headers, request_timeout)
        except TlsError as e:
            raise _TlsError(e.message, errors=e.errors) from e


class _TlsError(TlsError):
    """A `TlsError` that keeps saying what failed: the transport resets `errors` before raising,
    and `TlsError.__str__` then prints only "TLS error", dropping the certificate problem."""

    def __str__(self) -> str:
        return f"TLS error: {self.message}"
