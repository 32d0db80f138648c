"""The NGC client's settings, each default written once (``--help`` shows them, so this
module imports no HTTP library); ``policy`` checks the URL and the proxy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClientSettings:
    api_url: str = "https://api.ngc.nvidia.com"
    concurrency: int = 32
    request_timeout: float = 30.0
    # 8 tries ride out a 20 % error rate: a model then fails about once in 690 runs of
    # 186 models (0.23**8 per model), where 6 tries would fail one run in 36.
    max_attempts: int = 8
    retry_budget: float = 120.0  # seconds one request may take over all its tries
    page_size: int = 100
    max_response_bytes: int = 16 * 1024 * 1024
    ca_bundle: Path | None = None
    # A run's bound: the longest honest one (key check, a page, a model, each spending its
    # retry budget and one more try) is under 8 minutes; a server that answers slowly or
    # keeps growing its catalog must not hold a weekly CI job for hours.
    deadline: float = 900.0
    # Full jitter: the wait before try n+1 is uniform in [0, min(cap, first * 2**(n-1))].
    backoff_first: float = 0.5
    backoff_cap: float = 4.0
    proxy: str | None = None  # checked by policy.check_proxy_option
