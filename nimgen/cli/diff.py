"""``diff``: what changed between two model sets (trees, ConfigMaps or snapshots)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app


class DiffFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


_SIDE_HELP = "an output tree (directory), a rendered ConfigMap (YAML) or a snapshot (JSON)"


@app.command(epilog=EXIT_CODES_HELP)
def diff(
    old: Annotated[
        Path, typer.Argument(metavar="OLD", help=f"The old side: {_SIDE_HELP}.", show_default=False)
    ],
    new: Annotated[
        Path, typer.Argument(metavar="NEW", help=f"The new side: {_SIDE_HELP}.", show_default=False)
    ],
    output_format: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            "-f",
            help="'table' for the terminal, 'markdown' for a pull request, 'json' for tools.",
        ),
    ] = DiffFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Write the report to this file (atomically) instead of stdout.",
        ),
    ] = None,
) -> None:
    """Report the models added, removed and changed from OLD to NEW (tags, latestTag, EU
    flag and other fields). Exits 0 either way ('generate --check' exits 3 on drift)."""
    from nimgen.report import diff as diff_report
    from nimgen.tree.diff import diff_paths

    result = diff_paths(old, new)
    if output is not None:
        from nimgen.tree.write import write_file

        write_file(output, diff_report.RENDERERS[output_format](result).encode("utf-8"))
    elif output_format is DiffFormat.table:
        from rich.console import Console

        diff_report.print_table(result, Console(highlight=False, soft_wrap=False))
    else:
        typer.echo(diff_report.RENDERERS[output_format](result), nl=False)
