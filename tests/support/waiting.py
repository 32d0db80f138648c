"""A bounded poll, for what a test waits on (a server's cache, a controller, a run)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], bool], timeout: float = 20, step: float = 0.02, what: str = "condition"
) -> None:
    """Call ``condition`` every ``step`` seconds until it is true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not met after {timeout} s")
        time.sleep(step)
