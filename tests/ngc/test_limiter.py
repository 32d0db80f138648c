"""The adaptive limiter: a FIFO semaphore whose limit halves on 429 bursts and grows back.

Mechanisms only, no timing asserts: counts of holders, order of admission, the
limit after each signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from nimgen.ngc.limiter import AdaptiveLimiter

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(5):
        await asyncio.sleep(0)


def test_ceiling_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AdaptiveLimiter(0)


def test_never_more_holders_than_the_ceiling_and_the_ceiling_is_reached() -> None:
    async def main() -> tuple[int, int, int]:
        limiter = AdaptiveLimiter(5)
        holding = 0
        most = 0

        async def worker() -> None:
            nonlocal holding, most
            async with limiter:
                holding += 1
                most = max(most, holding)
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                holding -= 1
            limiter.on_success()

        await asyncio.gather(*(worker() for _ in range(200)))
        return most, limiter.peak_in_flight, limiter.in_flight

    most, peak, left = run(main)
    assert most == 5 and peak == 5
    assert left == 0


def test_waiters_are_admitted_first_come_first_served() -> None:
    async def main() -> list[int]:
        limiter = AdaptiveLimiter(1)
        order: list[int] = []
        await limiter.acquire()

        async def worker(n: int) -> None:
            async with limiter:
                order.append(n)

        tasks = []
        for n in range(20):
            tasks.append(asyncio.create_task(worker(n)))
            await asyncio.sleep(0)  # queue in this order
        limiter.release()
        await asyncio.gather(*tasks)
        return order

    assert run(main) == list(range(20))


def test_a_release_wakes_one_waiter_only() -> None:
    """O(1) per release: one freed slot admits one waiter, the others stay queued."""

    async def main() -> list[int]:
        limiter = AdaptiveLimiter(2)
        await limiter.acquire()
        await limiter.acquire()
        admitted: list[int] = []

        async def worker(n: int) -> None:
            await limiter.acquire()
            admitted.append(n)

        tasks = [asyncio.create_task(worker(n)) for n in range(50)]
        await settle()
        seen = [len(admitted)]
        limiter.release()
        await settle()
        seen.append(len(admitted))
        limiter.release()
        limiter.release()
        await settle()
        seen.append(len(admitted))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return seen

    assert run(main) == [0, 1, 3]


def test_a_burst_of_429s_halves_the_limit_once() -> None:
    """429s answering requests sent before the limit shrank belong to the same burst."""

    async def main() -> tuple[int, int, int]:
        limiter = AdaptiveLimiter(16)
        gate = asyncio.Event()

        async def throttled() -> None:
            async with limiter:
                await gate.wait()
                limiter.on_throttled()

        tasks = [asyncio.create_task(throttled()) for _ in range(16)]
        await settle()
        gate.set()
        await asyncio.gather(*tasks)
        return limiter.limit, limiter.shrinks, limiter.throttled

    limit, shrinks, throttled = run(main)
    assert (limit, shrinks, throttled) == (8, 1, 16)


def test_each_new_burst_halves_again_down_to_one() -> None:
    async def main() -> list[int]:
        limiter = AdaptiveLimiter(16)
        limits = []
        for _ in range(6):
            async with limiter:  # a request sent after the last shrink
                limiter.on_throttled()
            limits.append(limiter.limit)
        return [*limits, limiter.lowest_limit]

    assert run(main) == [8, 4, 2, 1, 1, 1, 1]


def test_a_429_outside_any_request_still_counts() -> None:
    limiter = AdaptiveLimiter(4)
    limiter.on_throttled()
    assert limiter.limit == 2 and limiter.lowest_limit == 2


def test_grows_back_by_one_per_limit_successes_and_never_above_the_ceiling() -> None:
    async def main() -> list[int]:
        limiter = AdaptiveLimiter(6)
        for _ in range(3):
            async with limiter:
                limiter.on_throttled()
        assert limiter.limit == 1
        limits = []
        for _ in range(40):
            async with limiter:
                pass
            limiter.on_success()
            limits.append(limiter.limit)
        return limits

    limits = run(main)
    # 1 success at limit 1, 2 at limit 2, ... : additive increase.
    assert limits[:6] == [2, 2, 3, 3, 3, 4]
    assert max(limits) == 6 and limits[-1] == 6
    assert limits == sorted(limits)


def test_growing_admits_a_waiter_at_once() -> None:
    async def main() -> tuple[bool, bool]:
        limiter = AdaptiveLimiter(4)
        limiter.on_throttled()  # limit 2
        await limiter.acquire()
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await settle()
        before = waiter.done()
        limiter.on_success()
        limiter.on_success()  # limit 3: one more slot
        await settle()
        return before, waiter.done()

    assert run(main) == (False, True)


def test_shrinking_admits_no_one_until_holders_drain_below_the_new_limit() -> None:
    async def main() -> list[int]:
        limiter = AdaptiveLimiter(8)
        for _ in range(8):
            await limiter.acquire()
        limiter.on_throttled()  # limit 4, 8 still holding
        admitted: list[int] = []

        async def worker(n: int) -> None:
            await limiter.acquire()
            admitted.append(n)

        tasks = [asyncio.create_task(worker(n)) for n in range(10)]
        seen = []
        for _ in range(6):
            limiter.release()
            await settle()
            seen.append(len(admitted))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return seen

    # 7, 6, 5, 4 holders: nobody enters; at 3 holders one may, and so on.
    assert run(main) == [0, 0, 0, 0, 1, 2]


def test_retry_after_pauses_new_requests_for_everyone() -> None:
    async def main() -> tuple[bool, int]:
        limiter = AdaptiveLimiter(8)
        limiter.on_throttled(30.0)
        blocked = False
        try:
            await asyncio.wait_for(limiter.acquire(), timeout=0.05)
        except TimeoutError:
            blocked = True
        return blocked, limiter.in_flight

    assert run(main) == (True, 0)


def test_the_pause_ends_by_itself() -> None:
    async def main() -> int:
        limiter = AdaptiveLimiter(8)
        limiter.on_throttled(0.01)
        await asyncio.wait_for(asyncio.gather(*(limiter.acquire() for _ in range(3))), 10)
        return limiter.in_flight

    assert run(main) == 3


def test_cancelled_waiters_and_holders_leak_no_slot() -> None:
    async def main() -> tuple[int, int]:
        limiter = AdaptiveLimiter(2)
        hold = asyncio.Event()

        async def holder() -> None:
            async with limiter:
                await hold.wait()

        holders = [asyncio.create_task(holder()) for _ in range(2)]
        waiters = [asyncio.create_task(holder()) for _ in range(5)]
        await settle()
        for task in waiters[:3] + holders[:1]:
            task.cancel()
        await settle()
        hold.set()
        await asyncio.gather(*holders, *waiters, return_exceptions=True)
        after = limiter.in_flight
        # The limiter still admits its full limit afterwards.
        await limiter.acquire()
        await limiter.acquire()
        return after, limiter.in_flight

    assert run(main) == (0, 2)


def test_a_waiter_cancelled_just_as_it_is_admitted_gives_the_slot_back() -> None:
    async def main() -> int:
        limiter = AdaptiveLimiter(1)
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await settle()
        limiter.release()  # hands the slot to the waiter...
        waiter.cancel()  # ...which is cancelled before it runs
        await asyncio.gather(waiter, return_exceptions=True)
        return limiter.in_flight

    assert run(main) == 0


def test_bursts_are_told_apart_per_task() -> None:
    """Two requests in flight at once: the one sent before a shrink does not shrink again."""

    async def main() -> list[int]:
        limiter = AdaptiveLimiter(8)
        first_in = asyncio.Event()
        shrunk = asyncio.Event()
        limits: list[int] = []

        async def old_request() -> None:
            async with limiter:
                first_in.set()
                await shrunk.wait()
                limiter.on_throttled()  # sent at limit 8: same burst
                limits.append(limiter.limit)

        async def new_request() -> None:
            await first_in.wait()
            async with limiter:
                limiter.on_throttled()  # 8 -> 4
                limits.append(limiter.limit)
            async with limiter:
                shrunk.set()
                await asyncio.sleep(0)
                limiter.on_throttled()  # sent at 4: a new burst, 4 -> 2
                limits.append(limiter.limit)

        await asyncio.gather(old_request(), new_request())
        return limits

    # new request: 8 -> 4; the old one's 429 then changes nothing; a newer one: 4 -> 2.
    assert run(main) == [4, 4, 2]


def test_many_queued_requests_complete_in_order_with_stats() -> None:
    async def main() -> dict[str, Any]:
        limiter = AdaptiveLimiter(8)
        done: list[int] = []

        async def worker(n: int) -> None:
            async with limiter:
                await asyncio.sleep(0)
            limiter.on_success()
            done.append(n)

        await asyncio.gather(*(worker(n) for n in range(5000)))
        assert len(done) == 5000
        return limiter.stats().as_json()

    stats = run(main)
    assert stats == {
        "ceiling": 8,
        "finalLimit": 8,
        "lowestLimit": 8,
        "peakInFlight": 8,
        "throttled": 0,
        "shrinks": 0,
        "grows": 0,
        "requests": 5000,
    }
