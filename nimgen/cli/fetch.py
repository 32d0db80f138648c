"""``nimgen fetch``: the live NGC catalog into a versioned JSON snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.eu_options import FetchEu
from nimgen.cli.ngc_options import Limits, Ngc
from nimgen.cli.options import Choice, Output, grouped
from nimgen.cli.tree_options import AllowEmpty, AllowPartial, FullOption, PreviousOption

SnapshotFile = Annotated[
    Path, typer.Option("--output", "-o", help="Snapshot file to write (JSON).")
]


@app.command(epilog=EXIT_CODES_HELP)
@grouped
def fetch(
    *,
    output: SnapshotFile = Path("nim-snapshot.json"),
    ngc: Ngc,
    limits: Limits,
    choice: Choice,
    allow_partial: AllowPartial = False,
    allow_empty: AllowEmpty = False,
    previous: PreviousOption = None,
    full: FullOption = False,
    eu: FetchEu,
    out: Output,
) -> None:
    """Fetch the live NGC catalog into a versioned JSON snapshot (for render, airgap, diff).

    The snapshot keeps each model's catalog facts, so it can be a later run's
    --previous: 'fetch --previous FILE --output FILE' refreshes it in place,
    fetching only the models whose catalog entry changed. EU facts are optional
    here: a snapshot without them gets them when rendered (render --eu-list).
    """
    from nimgen.commands.fetch import FetchRequest
    from nimgen.commands.fetch import fetch as fetch_snapshot
    from nimgen.commands.live import LiveRequest
    from nimgen.report.run import run_command

    request = FetchRequest(
        live=LiveRequest(
            access=ngc.access(limits),
            choice=choice.choice(),
            eu=eu.request(),
            previous=previous,
            full=full,
            allow_partial=allow_partial,
        ),
        output=output,
        allow_empty=allow_empty,
    )
    run_command("fetch", out.console(ngc.verbose), lambda log: fetch_snapshot(request, log))
