"""Concurrency that adapts to the server: halves on 429, grows back while healthy.

Additive increase, multiplicative decrease, as TCP does it:

* a 429 halves the limit, once per *window*: 429s answering requests that were
  already in flight when the limit last shrank count as the same burst (the
  server was answering the old, higher rate), so a burst of N throttled answers
  halves the limit once, not N times;
* a ``Retry-After`` also pauses every new request until it has passed, so the
  whole run backs off, not only the request that was told;
* every ``limit`` successful answers raise the limit by one, never above the
  ``--concurrency`` ceiling.

Waiters queue FIFO on futures and a freed slot is handed to exactly one of
them, so acquiring and releasing cost O(1) however many requests are queued
(a condition variable woken with ``notify_all`` costs O(queued) per release,
quadratic over a large catalog).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import deque
from dataclasses import dataclass
from types import TracebackType

# The shrink epoch at which the current task's request acquired its slot. Each
# asyncio task runs in its own context, so concurrent requests do not see each
# other's value; ``on_throttled`` reads it to tell a new burst from an old one.
_acquired_epoch: contextvars.ContextVar[int] = contextvars.ContextVar(
    "nimgen_limiter_epoch", default=-1
)

MAX_PAUSE = 60.0


@dataclass(frozen=True)
class LimiterStats:
    """What the limiter did during a run (for reports and tests)."""

    ceiling: int
    limit: int
    lowest_limit: int
    peak_in_flight: int
    throttled: int
    shrinks: int
    grows: int
    acquired: int

    def as_json(self) -> dict[str, int]:
        return {
            "ceiling": self.ceiling,
            "finalLimit": self.limit,
            "lowestLimit": self.lowest_limit,
            "peakInFlight": self.peak_in_flight,
            "throttled": self.throttled,
            "shrinks": self.shrinks,
            "grows": self.grows,
            "requests": self.acquired,
        }


class AdaptiveLimiter:
    """An AIMD semaphore: at most ``limit`` holders, ``limit`` between 1 and ``ceiling``.

    Use ``async with limiter:`` around one request, then call ``on_success()`` for
    a healthy answer or ``on_throttled(retry_after)`` for a 429 (from inside the
    ``async with``, or after it in the same task).
    """

    def __init__(self, ceiling: int, *, cooldown: float = 0.0) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = ceiling
        self.limit = ceiling
        self.lowest_limit = ceiling
        self.in_flight = 0
        self.peak_in_flight = 0
        self.throttled = 0
        self.shrinks = 0
        self.grows = 0
        self.acquired = 0
        # Optional extra guard: no two shrinks closer than this many seconds.
        self._cooldown = cooldown
        self._last_shrink = -1e18
        self._epoch = 0
        self._successes = 0
        self._resume_at = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pause_timer: asyncio.TimerHandle | None = None

    # -- slots -------------------------------------------------------------------

    async def acquire(self) -> None:
        if not self._waiters and self.in_flight < self.limit and not self._paused():
            self._take()
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                # The slot was handed over just as we were cancelled: give it back.
                self._release_slot()
            else:
                self._remove_waiter(waiter)
            raise
        # The slot was counted for us by ``_wake``.
        _acquired_epoch.set(self._epoch)

    def release(self) -> None:
        self._release_slot()

    async def __aenter__(self) -> AdaptiveLimiter:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Synchronous, so a cancelled task always gives its slot back.
        self._release_slot()

    def _take(self) -> None:
        self._count_slot()
        _acquired_epoch.set(self._epoch)

    def _count_slot(self) -> None:
        self.in_flight += 1
        self.acquired += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def _release_slot(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _remove_waiter(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already handed a slot and popped
            self._waiters.remove(waiter)

    def _paused(self) -> bool:
        return self._resume_at > 0.0 and time.monotonic() < self._resume_at

    def _wake(self) -> None:
        """Hand free slots to waiters, first come first served."""
        if self._paused():
            return
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled while queued
                continue
            self._count_slot()
            waiter.set_result(None)

    # -- feedback ----------------------------------------------------------------

    def on_throttled(self, retry_after: float | None = None) -> None:
        """A 429: halve the limit once per burst; pause new requests for ``retry_after``."""
        self.throttled += 1
        if retry_after is not None and retry_after > 0:
            self._pause(min(retry_after, MAX_PAUSE))
        started_in = _acquired_epoch.get()
        if 0 <= started_in < self._epoch:
            return  # sent before the last shrink: part of a burst already counted
        now = time.monotonic()
        if now - self._last_shrink < self._cooldown:
            return
        self._last_shrink = now
        self._epoch += 1
        self._successes = 0
        if self.limit > 1:
            self.limit = max(1, self.limit // 2)
            self.shrinks += 1
            self.lowest_limit = min(self.lowest_limit, self.limit)

    def on_success(self) -> None:
        """A healthy answer: one more slot every ``limit`` of them, up to the ceiling."""
        if self.limit >= self.ceiling:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self.grows += 1
            self._wake()

    def _pause(self, seconds: float) -> None:
        resume_at = time.monotonic() + seconds
        if resume_at <= self._resume_at:
            return
        self._resume_at = resume_at
        loop = asyncio.get_running_loop()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self._pause_timer = loop.call_at(loop.time() + seconds, self._end_pause)

    def _end_pause(self) -> None:
        self._pause_timer = None
        self._resume_at = 0.0
        self._wake()

    def stats(self) -> LimiterStats:
        return LimiterStats(
            ceiling=self.ceiling,
            limit=self.limit,
            lowest_limit=self.lowest_limit,
            peak_in_flight=self.peak_in_flight,
            throttled=self.throttled,
            shrinks=self.shrinks,
            grows=self.grows,
            acquired=self.acquired,
        )
