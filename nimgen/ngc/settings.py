"""How the NGC client behaves: limits, retries, timeouts, TLS and proxy (one run's settings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nimgen.ngc.policy import DEFAULT_API_URL

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class ClientSettings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 32
    request_timeout: float = 30.0
    # 8 tries ride out a 20 % error rate: a model then fails about once in 690 runs of
    # 186 models (0.23**8 per model), where 6 tries would fail one run in 36.
    max_attempts: int = 8
    # Total time one request may spend across its attempts and waits.
    retry_budget: float = 120.0
    page_size: int = 100
    max_response_bytes: int = MAX_RESPONSE_BYTES
    ca_bundle: Path | None = None
    deadline: float | None = None
    # Backoff between attempts: full jitter over base * 2**attempt, capped.
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    # The only proxy nimgen uses (HTTP(S)_PROXY and friends are ignored): checked by
    # policy.check_proxy_url (https anywhere, plain http only on loopback).
    proxy: str | None = None
