"""How the live commands (generate, fetch, probe-eu, verify-key) reach NGC: the ``Ngc`` and
``Limits`` option groups, and ``--api-key-file`` (also taken by migrate-deployments)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli.options import option_group
from nimgen.ngc.settings import ClientSettings

if TYPE_CHECKING:
    from nimgen.commands.common import NgcAccess

DEFAULTS = ClientSettings()
ApiKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--api-key-file",
        help="Read the personal NGC key (nvapi-...) from this file instead of $NGC_API_KEY.",
        dir_okay=False,
    ),
]


@option_group
class Ngc:
    api_url: Annotated[
        str,
        typer.Option(
            "--ngc-api-url",
            envvar="NIMGEN_NGC_API_URL",
            help="NGC API base URL. Plain http:// only for loopback hosts.",
            show_default=True,
        ),
    ] = DEFAULTS.api_url
    api_key_file: ApiKeyFile = None
    proxy: Annotated[
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
    ] = None
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            "--ca-bundle",
            exists=True,
            dir_okay=False,
            help="Extra CA certificates (PEM) to trust, e.g. a corporate proxy's. "
            "TLS is always verified.",
        ),
    ] = None
    request_timeout: Annotated[
        float,
        typer.Option(
            "--request-timeout", min=0.1, help="Seconds one request may take before it is retried."
        ),
    ] = DEFAULTS.request_timeout
    max_attempts: Annotated[
        int,
        typer.Option("--max-attempts", min=1, max=20, help="Tries per request before giving up."),
    ] = DEFAULTS.max_attempts
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log each request: method, URL, status, time."),
    ] = False

    def access(self, limits: Limits | None = None) -> NgcAccess:
        from nimgen.commands.common import NgcAccess

        options = {**vars(self), **(vars(limits) if limits else {})}
        key_file = options.pop("api_key_file")
        del options["verbose"]  # how the run reports, not how it reaches NGC
        return NgcAccess(ClientSettings(**options), key_file)


@option_group
class Limits:
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", min=1, max=256, help="Most requests in flight at once."),
    ] = DEFAULTS.concurrency
    deadline: Annotated[
        float,
        typer.Option(
            "--deadline",
            min=1,
            help="Fail the run if it takes longer than this (seconds; 15 minutes by default).",
        ),
    ] = DEFAULTS.deadline
