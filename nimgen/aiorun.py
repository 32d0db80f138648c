"""``asyncio.run`` with SIGTERM handled by the event loop.

nimgen's SIGTERM handler raises ``SignalReceived`` in whatever Python code runs when the
signal lands; inside the event loop that can be a callback whose caller swallows
exceptions (``__del__``, weakref callbacks), and the run would go on (1 run in 6 fetching
1000 slow pages). Here the loop takes the signal, cancels the main task and raises
``SignalReceived`` once it has unwound, as asyncio.Runner does for SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def _guarded(main: Coroutine[Any, Any, T]) -> T:
    from nimgen.errors import SignalReceived

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    received: list[int] = []

    def on_sigterm() -> None:
        received.append(signal.SIGTERM)
        if task is not None:
            task.cancel()

    before = signal.getsignal(signal.SIGTERM)
    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, say
        return await main
    try:
        return await main
    except asyncio.CancelledError:
        if received:
            raise SignalReceived(signal.SIGTERM) from None
        raise
    finally:
        # remove_signal_handler resets SIGTERM to SIG_DFL: hold the signal while the
        # previous handler is put back, so that one arriving meanwhile reaches it.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            loop.remove_signal_handler(signal.SIGTERM)
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(signal.SIGTERM, before)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; SIGTERM cancels it and raises ``SignalReceived`` (exit 143)."""
    return asyncio.run(_guarded(main))
