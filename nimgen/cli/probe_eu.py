"""``nimgen probe-eu``: record which models answer HTTP 451 from an EU vantage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.ngc_options import Limits, Ngc
from nimgen.cli.options import Choice, Output, grouped
from nimgen.eu import EU_PROXY_ENV

ProbeFile = Annotated[Path, typer.Option("--output", "-o", help="The probe file to write (JSON).")]
ProbeProxy = Annotated[
    str | None,
    typer.Option(
        "--eu-proxy",
        envvar=EU_PROXY_ENV,
        metavar="URL",
        help="Probe through this HTTP(S) proxy in the EU (http[s]://[user:password@]host:port) "
        "instead of from this machine. Credentials are never printed or written; pass the "
        f"URL in ${EU_PROXY_ENV} to keep them out of process listings.",
        show_default=False,
    ),
]


@app.command("probe-eu", epilog=EXIT_CODES_HELP)
@grouped
def probe_eu(
    *,
    output: ProbeFile = Path("eu-restricted.json"),
    eu_proxy: ProbeProxy = None,
    ngc: Ngc,
    limits: Limits,
    choice: Choice,
    out: Output,
) -> None:
    """Probe every model from an EU vantage and record which answer HTTP 451.

    Run it on a machine in the EU, or give --eu-proxy to go through a proxy there.
    Makes each model's per-model call (same client, concurrency and retries as
    'generate') and writes a versioned JSON probe file: when and through what vantage
    it probed, and per model its status (restricted = 451, available = 200,
    inconclusive = anything else after retries, with the last status or error) and
    attempts. Feed it to 'generate --eu-list'. Inconclusive models do not fail the probe.
    """
    from nimgen.commands.probe_eu import ProbeRequest
    from nimgen.commands.probe_eu import probe_eu as probe
    from nimgen.report.run import run_command

    request = ProbeRequest(
        access=ngc.access(limits), choice=choice.choice(), output=output, eu_proxy=eu_proxy
    )
    run_command("probe-eu", out.console(ngc.verbose), lambda log: probe(request, log))
