"""Helpers of the NGC client tests: a client with fast retries, run to completion."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from nimgen.apikey import ApiKey
from nimgen.ngc.client import NgcClient
from nimgen.ngc.settings import ClientSettings
from tests.support.ngc_emulator import VALID_KEY

T = TypeVar("T")

# Fast retries: backoff of milliseconds, a few attempts.
FAST = {"max_attempts": 3, "backoff_first": 0.001, "request_timeout": 5.0}


def fast_settings(url: str, **changes: Any) -> ClientSettings:
    return ClientSettings(api_url=url, **{**FAST, **changes})


def with_client(
    settings: ClientSettings,
    use: Callable[[NgcClient], Awaitable[T]],
    *,
    key: str = VALID_KEY,
) -> T:
    """Run ``use(client)`` with a fresh client; return its result."""

    async def run() -> T:
        async with NgcClient(settings, ApiKey(key)) as client:
            return await use(client)

    return asyncio.run(run())
