"""How the live commands (generate, fetch, probe-eu, verify-key) reach NGC: the ``Ngc`` and
``Limits`` option groups, and ``--api-key-file`` (also taken by migrate-deployments)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli.options import option_group
from nimgen.commands.common import (
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_REQUEST_TIMEOUT,
)

if TYPE_CHECKING:
    from nimgen.commands.common import NgcAccess

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
Proxy = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        envvar="NIMGEN_PROXY",
        metavar="URL",
        help="Send every NGC request through this HTTP(S) proxy "
        "(http[s]://[user:password@]host:port; plain http only to a loopback proxy). "
        "The *_proxy environment variables are ignored. Credentials are never printed; "
        "pass the URL in $NIMGEN_PROXY to keep them out of process listings.",
        show_default=False,
    ),
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
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log each request: method, URL, status, time."),
]
Concurrency = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=256, help="Most requests in flight at once."),
]
Deadline = Annotated[
    float,
    typer.Option(
        "--deadline",
        min=1,
        help="Fail the run if it takes longer than this (seconds; 15 minutes by default).",
    ),
]


@option_group
class Ngc:
    """How a live command reaches NGC (generate, fetch, probe-eu, verify-key)."""

    api_url: ApiUrl = DEFAULT_API_URL
    api_key_file: ApiKeyFile = None
    proxy: Proxy = None
    ca_bundle: CaBundle = None
    request_timeout: RequestTimeout = DEFAULT_REQUEST_TIMEOUT
    max_attempts: MaxAttempts = DEFAULT_MAX_ATTEMPTS
    verbose: Verbose = False

    def access(self, limits: Limits | None = None) -> NgcAccess:
        from nimgen.commands.common import NgcAccess

        return NgcAccess(
            api_url=self.api_url,
            api_key_file=self.api_key_file,
            request_timeout=self.request_timeout,
            max_attempts=self.max_attempts,
            ca_bundle=self.ca_bundle,
            proxy=self.proxy,
            concurrency=limits.concurrency if limits else DEFAULT_CONCURRENCY,
            deadline=limits.deadline if limits else DEFAULT_DEADLINE,
        )


@option_group
class Limits:
    """How much a collecting command may do at once, and for how long."""

    concurrency: Concurrency = DEFAULT_CONCURRENCY
    deadline: Deadline = DEFAULT_DEADLINE
