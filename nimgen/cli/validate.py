"""``nimgen validate``: check nim-models-data ConfigMaps written by anyone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli import app
from nimgen.cli.options import JsonOutput

if TYPE_CHECKING:
    from nimgen.commands.results import ValidateResult
    from nimgen.report.console import Console

VALIDATE_EXIT_HELP = "Exit codes: 0 every file valid; 1 problems found; 2 a file could not be read."


@app.command(epilog=VALIDATE_EXIT_HELP)
def validate(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="ConfigMap YAML files (several documents each are fine); '-' reads stdin.",
        ),
    ],
    json_output: JsonOutput = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the problems: no warnings, no 'valid'."),
    ] = False,
) -> None:
    """Check nim-models-data ConfigMaps written by anyone, before they reach a cluster.

    Checks: YAML that parses, without duplicate keys; kind ConfigMap; every data key
    a valid ConfigMap key equal to its value's name; each value JSON with exactly the
    eight fields of the right types ('nimgen schema'); image tags, holding latestTag;
    namespace org or org/team; a revision nimgen can continue; the object under 1 MiB.
    Warns about an immutable ConfigMap under a fixed name and an unknown schema-version
    annotation. Prints FILE: key: problem.
    """
    from nimgen.report.console import Console
    from nimgen.report.run import run_command

    console = Console(quiet=quiet, json_output=json_output)
    run_command("validate", console, lambda log: _validate(files, log))


def _validate(files: list[str], console: Console) -> ValidateResult:
    """Validate each file; problems (and 'valid') on stdout unless --json, which says it all."""
    from nimgen.commands.results import ValidateResult
    from nimgen.validate import exit_code, validate_file

    results = [validate_file(path) for path in files]
    for result in results:
        if result.unreadable is not None:
            console.error(f"{result.file}: {result.unreadable}")
    if not console.json_output:
        for result in results:
            for problem in result.problems:
                if not (problem.warning and console.quiet):
                    console.stdout.write(f"{problem}\n")
            if result.valid and not console.quiet:
                maps = f"{result.configmaps} ConfigMaps, " if result.configmaps > 1 else ""
                console.stdout.write(f"{result.file}: valid ({maps}{result.models} models)\n")
        console.stdout.flush()
    return ValidateResult(files=tuple(r.as_json() for r in results), exit_code=exit_code(results))
