"""Connections to NGC: one httpcore connection pool of a single connection per request slot.

httpx's ``AsyncClient`` keeps one pool of N connections, and httpcore's pool re-scans
all of them for every queued request on every event (encode/httpcore#1035): with 32
connections that was two thirds of nimgen's CPU. Here every request in flight holds a
pool of its own (one keep-alive connection), taken when it starts and given back when it
ends, so no request ever waits inside a pool and each scan is over one connection. The
limiter bounds the requests in flight, so there are never more pools than its ceiling.

The pools are httpcore's (the engine inside httpx), driven directly: httpx's client and
transport layers would parse every URL again, copy headers and build cookie jars for
nothing (no redirects are followed, no cookies kept). A proxy is used only when given
(``ClientSettings.proxy``, parsed the way httpx parses proxy URLs): environment
variables such as HTTPS_PROXY are never read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpcore

from nimgen.sources.ngc.aio import AsyncioBackend

if TYPE_CHECKING:
    import ssl

# As httpx: an idle connection older than this is closed rather than reused.
KEEPALIVE_EXPIRY = 5.0

Pool = httpcore.AsyncConnectionPool


class Origin:
    """Where requests go: ``scheme://host[:port]``, split once for every request."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.scheme = parts.scheme.encode("ascii")
        host = parts.hostname or ""
        self.host = host.encode("idna")
        self.port = parts.port
        self.host_header = parts.netloc.rpartition("@")[2].encode("idna")

    def url(self, target: str) -> httpcore.URL:
        return httpcore.URL(
            scheme=self.scheme, host=self.host, port=self.port, target=target.encode("ascii")
        )


class Connections:
    """Pools of one connection, handed out one per request in flight (LIFO: warm first)."""

    def __init__(self, tls: ssl.SSLContext, proxy: str | None) -> None:
        self._tls = tls
        self._proxy = proxy
        self._backend = AsyncioBackend() if proxy is None else None
        self._idle: list[Pool] = []
        self._all: list[Pool] = []

    def take(self) -> Pool:
        if self._idle:
            return self._idle.pop()
        pool = self._new_pool()
        self._all.append(pool)
        return pool

    def give(self, pool: Pool) -> None:
        self._idle.append(pool)

    async def aclose(self) -> None:
        pools, self._all, self._idle = self._all, [], []
        for pool in pools:
            await pool.aclose()

    def _new_pool(self) -> Pool:
        if self._proxy is None:
            return httpcore.AsyncConnectionPool(
                ssl_context=self._tls,
                max_connections=1,
                max_keepalive_connections=1,
                keepalive_expiry=KEEPALIVE_EXPIRY,
                network_backend=self._backend,
            )
        import httpx

        proxy = httpx.Proxy(self._proxy)
        return httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            # An https proxy is trusted like the API: --ca-bundle covers a corporate one.
            proxy_ssl_context=self._tls if proxy.url.scheme == "https" else None,
            ssl_context=self._tls,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
