"""What the commands share: ``NgcAccess`` (how a live command reaches NGC), ``RunLog``
(where a command reports while it runs: ``nimgen.report.console.Console``) and helpers."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nimgen.apikey import ApiKey, load_api_key
from nimgen.ngc.policy import check_api_url, check_proxy_option
from nimgen.ngc.settings import ClientSettings
from nimgen.selection import Selection, build_selection

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nimgen.collection import ProgressHook
    from nimgen.eu.proxy import ProxyUrl
    from nimgen.eu.rule import EuOutcome


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
    """How generate, fetch, probe-eu and verify-key reach NGC: settings as given, key file."""

    settings: ClientSettings = field(default_factory=ClientSettings)
    api_key_file: Path | None = None

    def client_settings(self) -> ClientSettings:
        """The settings, URL and proxy checked: a bad one exits 2 before any request."""
        return self.checked_settings()[0]

    def checked_settings(self) -> tuple[ClientSettings, ProxyUrl | None]:
        """``client_settings`` and the ``--proxy`` it checked (None: none given)."""
        api_url = check_api_url(self.settings.api_url)
        proxy = check_proxy_option(self.settings.proxy) if self.settings.proxy else None
        settings = dataclasses.replace(
            self.settings, api_url=api_url, proxy=proxy.url if proxy is not None else None
        )
        return settings, proxy

    def load_key(self, log: RunLog) -> ApiKey:
        """The key from --api-key-file or $NGC_API_KEY, warning about loose permissions."""
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
    """Under ``--eu-uncertain fail``, the warnings gathered so far before the error."""
    from nimgen.eu.rule import UncertainEuStatus

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
