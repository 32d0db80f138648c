"""Concurrency that adapts to the server: halves on 429, grows back while healthy.

Additive increase, multiplicative decrease: each 429 (at most once per
``cooldown`` seconds, so one burst counts once) halves the limit; every
``limit`` successful answers raise it by one, never above the ``--concurrency``
ceiling.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType


class AdaptiveLimiter:
    def __init__(self, ceiling: int, *, cooldown: float = 0.5) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest_limit = ceiling
        self.in_flight = 0
        self.peak_in_flight = 0
        self._cooldown = cooldown
        self._last_shrink = -1e9
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Shielded so that a cancelled task still gives its slot back.
        await asyncio.shield(self.release())

    def on_throttled(self) -> None:
        now = time.monotonic()
        if now - self._last_shrink < self._cooldown:
            return
        self._last_shrink = now
        self.limit = max(1, self.limit // 2)
        self.lowest_limit = min(self.lowest_limit, self.limit)
        self._successes = 0

    def on_success(self) -> None:
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            # Wake waiters: one more may proceed now.
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
