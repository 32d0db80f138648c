"""Which way of sending nimgen's requests costs the least CPU: the candidates, in one run.

Each candidate sends the same 1000 per-model GETs (and reads every body) under nimgen's
adaptive limiter with a ceiling of 32, against the emulator answering after 50 ms in a
process of its own; the figure is this process's CPU time (user + system) per request.

* ``client-pool``:      one ``httpx.AsyncClient``, a pool of 32 connections (nimgen up
                        to 0.1: requests wait inside the pool, which re-scans it);
* ``client-per-slot``:  one ``httpx.AsyncClient`` of one connection per request in flight;
* ``transport-per-slot``: the same with ``httpx.AsyncHTTPTransport`` (no client layer);
* ``httpcore-per-slot``:  the same with httpcore pools (no httpx Request/URL parsing);
* ``httpcore-asyncio``:   the same with a plain-asyncio network backend for httpcore
                          (``benchmarks/httpcore_asyncio_backend.py``; nimgen 0.1's choice);
* ``h11-direct``:         one ``nimgen.ngc.direct.DirectConnection`` per request in
                          flight: h11 (httpcore's HTTP/1.1 engine) on asyncio streams,
                          without httpcore's pool and stream layers (nimgen's choice).

HTTP/2 is not a candidate here: the emulator speaks HTTP/1.1 (see docs/performance.md).

    python -m benchmarks.client_candidates [--requests 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from benchmarks.emulator_process import EmulatorProcess
from benchmarks.httpcore_asyncio_backend import AsyncioBackend
from nimgen.ngc.direct import DirectConnection
from nimgen.ngc.limiter import AdaptiveLimiter
from tests.support.ngc_emulator import VALID_KEY, make_models

CEILING = 32
HEADERS = {
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
    "User-Agent": "nimgen-benchmark",
    "Authorization": f"Bearer {VALID_KEY}",
}
Fetch = Callable[[str], Awaitable[bytes]]


def _paths(count: int) -> list[str]:
    """The emulator's per-model paths (each model's own org and team: every answer a 200)."""
    paths = []
    for model in make_models(count):
        team = f"/team/{model.team}" if model.team else ""
        paths.append(f"/v2/org/{model.org}{team}/repos/{model.name}?resolve-labels=true")
    return paths


class _PerSlot:
    """One connection holder per request in flight, most recently used first."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self.idle: list[Any] = []
        self.all: list[Any] = []

    def take(self) -> Any:
        if self.idle:
            return self.idle.pop()
        item = self._make()
        self.all.append(item)
        return item


async def _run(base: str, paths: list[str], candidate: str) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    limiter = AdaptiveLimiter(CEILING)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    origin = urlsplit(base)
    raw_headers = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    raw_headers.append((b"Host", origin.netloc.encode()))
    host = (origin.hostname or "").encode()
    closers: list[Callable[[], Awaitable[None]]] = []

    if candidate == "client-pool":
        pool = httpx.AsyncClient(
            http2=True, verify=tls, limits=httpx.Limits(max_connections=CEILING)
        )
        closers.append(pool.aclose)

        async def fetch(path: str) -> bytes:
            response = await pool.send(pool.build_request("GET", base + path, headers=HEADERS))
            return response.content

    elif candidate in ("client-per-slot", "transport-per-slot"):
        if candidate == "client-per-slot":
            slots = _PerSlot(lambda: httpx.AsyncClient(verify=tls, trust_env=False, limits=one))
        else:
            slots = _PerSlot(lambda: httpx.AsyncHTTPTransport(verify=tls, limits=one))

        async def fetch(path: str) -> bytes:
            holder = slots.take()
            try:
                request = httpx.Request("GET", base + path, headers=HEADERS)
                if isinstance(holder, httpx.AsyncClient):
                    response = await holder.send(request, stream=True)
                else:
                    response = await holder.handle_async_request(request)
                body = b"".join([chunk async for chunk in response.aiter_raw()])
                await response.aclose()
                return body
            finally:
                slots.idle.append(holder)

        async def close_slots() -> None:
            for holder in slots.all:
                await holder.aclose()

        closers.append(close_slots)
    elif candidate == "h11-direct":
        directs = _PerSlot(lambda: DirectConnection(origin.hostname or "", origin.port or 80, None))

        async def fetch(path: str) -> bytes:
            connection = directs.take()
            try:
                answer = await connection.send(b"GET", path.encode(), raw_headers, b"")
                body = b"".join([chunk async for chunk in answer.chunks()])
                await answer.aclose()
                return body
            finally:
                directs.idle.append(connection)

        async def close_directs() -> None:
            for connection in directs.all:
                await connection.aclose()

        closers.append(close_directs)
    else:
        backend = AsyncioBackend() if candidate == "httpcore-asyncio" else None
        cores = _PerSlot(
            lambda: httpcore.AsyncConnectionPool(
                ssl_context=tls, max_connections=1, network_backend=backend
            )
        )

        async def fetch(path: str) -> bytes:
            pool = cores.take()
            try:
                url = httpcore.URL(
                    scheme=b"http", host=host, port=origin.port, target=path.encode()
                )
                response = await pool.handle_async_request(
                    httpcore.Request(b"GET", url, headers=raw_headers)
                )
                body = b"".join([chunk async for chunk in response.aiter_stream()])
                await response.aclose()
                return body
            finally:
                cores.idle.append(pool)

        async def close_cores() -> None:
            for pool in cores.all:
                await pool.aclose()

        closers.append(close_cores)

    async def one_request(path: str) -> None:
        async with limiter:
            await fetch(path)
        limiter.on_success()

    await asyncio.gather(*(one_request(p) for p in paths))
    for close in closers:
        await close()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CANDIDATES = (
    "client-pool",
    "client-per-slot",
    "transport-per-slot",
    "httpcore-per-slot",
    "httpcore-asyncio",
    "h11-direct",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per candidate (median)")
    args = parser.parse_args(argv)
    paths = _paths(args.requests)
    cpu: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    wall: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    with EmulatorProcess(models=args.requests, latency=0.05) as url:
        asyncio.run(_run(url, paths[:50], "h11-direct"))  # warm up imports
        for _ in range(args.rounds):
            for candidate in CANDIDATES:  # interleaved: every candidate meets the same load
                started, cpu_before = time.monotonic(), _cpu()
                asyncio.run(_run(url, paths, candidate))
                cpu[candidate].append(_cpu() - cpu_before)
                wall[candidate].append(time.monotonic() - started)
    base = statistics.median(cpu["client-pool"])
    print("| candidate | CPU s | CPU/request ms | wall s | CPU vs client-pool |")
    print("|---|---|---|---|---|")
    for candidate in CANDIDATES:
        used = statistics.median(cpu[candidate])
        print(
            f"| {candidate} | {used:.3f} | {used / args.requests * 1000:.3f} | "
            f"{statistics.median(wall[candidate]):.2f} | {used / base:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
