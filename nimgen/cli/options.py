"""Options shared by several commands, and the wrapper that turns errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.reports import Reporter, RunReport

if TYPE_CHECKING:
    from nimgen.apikey import ApiKey
    from nimgen.selection import Selection
    from nimgen.sources.ngc import ClientSettings

# Also nimgen.sources.ngc.DEFAULT_API_URL; repeated here so --help need not import the client.
DEFAULT_API_URL = "https://api.ngc.nvidia.com"
DEFAULT_MAX_ATTEMPTS = 8  # as nimgen.sources.ngc.ClientSettings.max_attempts

ApiUrl = Annotated[
    str,
    typer.Option(
        "--ngc-api-url",
        envvar="NIMGEN_NGC_API_URL",
        help="NGC API base URL. Plain http:// only for loopback hosts.",
        show_default=True,
    ),
]
ApiKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--api-key-file",
        help="Read the personal NGC key (nvapi-...) from this file instead of $NGC_API_KEY.",
        dir_okay=False,
    ),
]
Concurrency = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=256, help="Most requests in flight at once."),
]
RequestTimeout = Annotated[
    float,
    typer.Option(
        "--request-timeout", min=0.1, help="Seconds one request may take before it is retried."
    ),
]
MaxAttempts = Annotated[
    int,
    typer.Option("--max-attempts", min=1, max=20, help="Tries per request before giving up."),
]
Deadline = Annotated[
    float | None,
    typer.Option("--deadline", min=1, help="Fail the run if it takes longer than this (seconds)."),
]
CaBundle = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        exists=True,
        dir_okay=False,
        help="Extra CA certificates (PEM) to trust, e.g. a corporate proxy's. "
        "TLS is always verified.",
    ),
]
Models = Annotated[
    list[str] | None,
    typer.Option("--models", help="Only models whose name matches this glob (repeatable)."),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Leave out models whose name matches this glob (repeatable)."),
]
ModelsFile = Annotated[
    Path | None,
    typer.Option(
        "--models-file",
        dir_okay=False,
        help="Model names to include: one per line, a JSON list, or the old Account "
        "model-list ConfigMap (data.models).",
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and warnings on stderr.")]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log each request: method, URL, status, time."),
]


def run_reported(reporter: Reporter, report: RunReport, body: Callable[[], None]) -> None:
    """Run ``body``; print any failure as one line, record it for ``--json``, exit with its code."""
    from nimgen.errors import Interrupted, NimgenError, signal_number

    try:
        try:
            body()
        except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM (SignalReceived)
            raise Interrupted(signal_number(exc)) from None
        except (NimgenError, typer.Exit):
            raise
        except Exception as exc:
            from nimgen.cli import internal_error_line

            raise NimgenError(internal_error_line(exc)) from None
    except NimgenError as exc:
        reporter.error(exc.message, exc.details)
        report.ok = False
        report.exit_code = int(exc.exit_code)
        report.error = exc.message
        report.error_details = list(exc.details)
        reporter.emit_json(report)
        raise typer.Exit(int(exc.exit_code)) from None
    reporter.emit_json(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def client_settings(
    api_url: str,
    *,
    concurrency: int = 1,
    request_timeout: float,
    max_attempts: int,
    deadline: float | None = None,
    ca_bundle: Path | None = None,
) -> ClientSettings:
    """Connection settings from the shared options; a bad URL exits 2 before any request."""
    from nimgen.sources.ngc import ClientSettings, check_api_url

    return ClientSettings(
        api_url=check_api_url(api_url),
        concurrency=concurrency,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        deadline=deadline,
        ca_bundle=ca_bundle,
    )


def load_key(reporter: Reporter, api_key_file: Path | None) -> ApiKey:
    """The personal key from --api-key-file or $NGC_API_KEY, warning about loose permissions."""
    from nimgen.apikey import load_api_key

    warnings: list[str] = []
    key = load_api_key(api_key_file, warn=warnings)
    assert key is not None  # required=True raises instead
    for warning in warnings:
        reporter.warn(warning)
    return key


def selection_of(
    models: list[str] | None, exclude: list[str] | None, models_file: Path | None
) -> Selection:
    from nimgen.selection import build_selection

    return build_selection(models, exclude, models_file)
