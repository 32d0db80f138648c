"""Connections to NGC: one keep-alive connection per request in flight.

httpx's ``AsyncClient`` keeps one pool of N connections, and httpcore's pool re-scans
all of them for every queued request on every event (encode/httpcore#1035): with 32
connections that was two thirds of nimgen's CPU. Here every request in flight holds a
connection of its own, taken when it starts and given back when it ends (LIFO: the most
recently used, warm one first), so no request ever waits inside a pool. The limiter
bounds the requests in flight, so there are never more connections than its ceiling.

Direct connections are h11 on asyncio streams (``direct``). Through a proxy, each
connection is an httpcore proxy pool of one connection (httpcore, the engine inside
httpx, does the CONNECT tunnel and TLS inside TLS); a proxy is used only when given
(``ClientSettings.proxy``, parsed the way httpx parses proxy URLs): environment
variables such as HTTPS_PROXY are never read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from nimgen.ngc.direct import (
    KEEPALIVE_EXPIRY,
    DirectConnection,
    Headers,
    Reply,
    TransportFailed,
)

if TYPE_CHECKING:
    import ssl

__all__ = ["Connection", "Connections", "Headers", "Origin", "Reply", "TransportFailed"]


class Origin:
    """Where requests go: ``scheme://host[:port]``, split once for every request."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.explicit_port = parts.port
        self.host_header = _idna(parts.netloc.rpartition("@")[2])


class Connection(Protocol):
    async def send(
        self, method: bytes, target: bytes, headers: Headers, content: bytes
    ) -> Reply: ...

    async def aclose(self) -> None: ...


class Connections:
    """Connections handed out one per request in flight, the warmest first."""

    def __init__(self, origin: Origin, tls: ssl.SSLContext, proxy: str | None) -> None:
        self._origin = origin
        self._tls = tls
        self._proxy = proxy
        self._idle: list[Connection] = []
        self._all: list[Connection] = []

    def take(self) -> Connection:
        if self._idle:
            return self._idle.pop()
        connection = self._new()
        self._all.append(connection)
        return connection

    def give(self, connection: Connection) -> None:
        self._idle.append(connection)

    async def aclose(self) -> None:
        connections, self._all, self._idle = self._all, [], []
        for connection in connections:
            await connection.aclose()

    def _new(self) -> Connection:
        origin = self._origin
        if self._proxy is None:
            tls = self._tls if origin.scheme == "https" else None
            return DirectConnection(origin.host, origin.port, tls)
        return ProxyConnection(origin, self._tls, self._proxy)


class ProxyConnection:
    """An httpcore proxy pool of one connection, behind the same ``send`` as a direct one."""

    def __init__(self, origin: Origin, tls: ssl.SSLContext, proxy_url: str) -> None:
        import httpcore
        import httpx

        proxy = httpx.Proxy(proxy_url)
        self._origin = origin
        self._pool = httpcore.AsyncHTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            # An https proxy is trusted like the API: --ca-bundle covers a corporate one.
            proxy_ssl_context=tls if proxy.url.scheme == "https" else None,
            ssl_context=tls,
            max_connections=1,
            max_keepalive_connections=1,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )

    async def send(self, method: bytes, target: bytes, headers: Headers, content: bytes) -> Reply:
        import httpcore

        origin = self._origin
        url = httpcore.URL(
            scheme=origin.scheme.encode("ascii"),
            host=_idna(origin.host),
            port=origin.explicit_port,
            target=target,
        )
        request = httpcore.Request(method, url, headers=list(headers), content=content)
        with _httpcore_errors():
            response = await self._pool.handle_async_request(request)
        reason = response.extensions.get("reason_phrase", b"")
        return _ProxyReply(response, reason if isinstance(reason, bytes) else b"")

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ProxyReply(Reply):
    def __init__(self, response: Any, reason: bytes) -> None:
        super().__init__(response.status, reason, list(response.headers))
        self._response = response

    async def chunks(self) -> AsyncIterator[bytes]:
        with _httpcore_errors():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def aclose(self) -> None:
        with _httpcore_errors():
            await self._response.aclose()


@contextmanager
def _httpcore_errors() -> Iterator[None]:
    """httpcore's failures as the direct connection's: ``TimeoutError`` or
    ``TransportFailed`` (every way a request can fail below HTTP: connect, TLS, reset,
    protocol, proxy, as httpx's TransportError covered them)."""
    import httpcore

    try:
        yield
    except httpcore.TimeoutException as exc:
        raise TimeoutError(str(exc)) from exc
    except (
        httpcore.NetworkError,
        httpcore.ProtocolError,
        httpcore.ProxyError,
        httpcore.UnsupportedProtocol,
    ) as exc:
        raise TransportFailed(str(exc) or type(exc).__name__) from exc


def _idna(host: str) -> bytes:
    """``host`` as it goes on the wire (the idna codec costs 2 ms to load: ASCII first)."""
    return host.encode("ascii") if host.isascii() else host.encode("idna")
