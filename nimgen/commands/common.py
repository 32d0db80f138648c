"""What every command of the library takes: the shared settings and the run's log.

``NgcAccess`` is the one frozen object built from the options every live command
shares (the NGC API URL, the key file, TLS, proxy, retries, concurrency); ``RunLog``
is what a command writes to while it runs (``nimgen.report.console.Console``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nimgen.apikey import ApiKey
    from nimgen.collection import ProgressHook
    from nimgen.eu import EuOutcome
    from nimgen.eu.proxy import ProxyUrl
    from nimgen.ngc import ClientSettings
    from nimgen.selection import Selection

# Also nimgen.ngc.DEFAULT_API_URL; repeated so that --help need not import the client.
DEFAULT_API_URL = "https://api.ngc.nvidia.com"
DEFAULT_MAX_ATTEMPTS = 8  # as nimgen.ngc.ClientSettings.max_attempts
DEFAULT_CONCURRENCY = 32
DEFAULT_REQUEST_TIMEOUT = 30.0
# A whole run's bound: the NIM catalog takes seconds, and the longest honest run (a
# request per stage - key check, a page, a model - each spending its 120 s retry budget
# and one more try) is under 8 minutes; a server that keeps answering slowly or keeps
# growing its catalog must not hold a weekly CI job for hours.
DEFAULT_DEADLINE = 900.0


class RunLog(Protocol):
    """Where a command says what happens while it runs (stderr), and records warnings."""

    quiet: bool  # -q: no notes and no summary
    verbose: bool  # -v: a line per request (nothing is formatted for it otherwise)

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def request_line(self, line: str) -> None: ...

    def progress(self, description: str) -> ProgressHook: ...


@dataclass(frozen=True)
class NgcAccess:
    """How a live command reaches NGC: what generate, fetch, probe-eu and verify-key share."""

    api_url: str = DEFAULT_API_URL
    api_key_file: Path | None = None
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ca_bundle: Path | None = None
    # An HTTP(S) proxy for every NGC request (never taken from the environment's *_proxy).
    proxy: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    deadline: float | None = DEFAULT_DEADLINE

    def client_settings(self) -> ClientSettings:
        """The client's settings; a bad URL exits 2 before any request."""
        from nimgen.ngc import ClientSettings, check_api_url

        api_url = check_api_url(self.api_url)
        proxy = self.checked_proxy()
        return ClientSettings(
            api_url=api_url,
            concurrency=self.concurrency,
            request_timeout=self.request_timeout,
            max_attempts=self.max_attempts,
            deadline=self.deadline,
            ca_bundle=self.ca_bundle,
            proxy=proxy.url if proxy is not None else None,
        )

    def checked_proxy(self) -> ProxyUrl | None:
        """``--proxy``, checked: its credentials registered as secrets, odd characters encoded,
        plain http only to a loopback proxy."""
        if not self.proxy:
            return None
        from nimgen.eu.proxy import ProxyUrl, check_proxy_url
        from nimgen.ngc import check_proxy_url as check_proxy_policy

        checked = check_proxy_url(self.proxy, option="--proxy")
        return ProxyUrl(url=check_proxy_policy(checked.url), redacted=checked.redacted)

    def load_key(self, log: RunLog) -> ApiKey:
        """The personal key from --api-key-file or $NGC_API_KEY, warning about loose permissions."""
        from nimgen.apikey import load_api_key

        warnings: list[str] = []
        key = load_api_key(self.api_key_file, warn=warnings)
        assert key is not None  # required=True raises instead
        for warning in warnings:
            log.warn(warning)
        return key


@dataclass(frozen=True)
class ModelChoice:
    """``--models``, ``--exclude`` and ``--models-file`` as given."""

    models: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    models_file: Path | None = None

    def selection(self) -> Selection:
        from nimgen.selection import build_selection

        return build_selection(
            list(self.models) or None, list(self.exclude) or None, self.models_file
        )


def log_outcome(outcome: EuOutcome, log: RunLog) -> None:
    """Say what the EU decision found: its warnings (even under -q) and its notes."""
    for warning in outcome.warnings:
        log.warn(warning)
    for note in outcome.notes:
        log.info(note)


@contextlib.contextmanager
def eu_warnings_first(log: RunLog) -> Iterator[None]:
    """Under ``--eu-uncertain fail`` the warnings gathered so far are shown before the error."""
    from nimgen.eu import UncertainEuStatus

    try:
        yield
    except UncertainEuStatus as exc:
        for warning in exc.warnings:
            log.warn(warning)
        raise


def request_log(log: RunLog, prefix: str = "") -> Callable[[str], None] | None:
    """Where the client logs each request: nowhere unless -v (no line is formatted)."""
    if not log.verbose:
        return None
    return log.request_line if not prefix else lambda line: log.request_line(prefix + line)
