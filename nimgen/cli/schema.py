"""``nimgen schema``: the JSON Schema of a ConfigMap entry, or of every ``--json`` document."""

from __future__ import annotations

from typing import Annotated

import typer

from nimgen.cli import app


@app.command()
def schema(
    json_output_schema: Annotated[
        bool,
        typer.Option(
            "--json-output",
            help="Print instead the JSON Schema of the --json document of every command "
            "(one definition per command, told apart by 'command').",
        ),
    ] = False,
) -> None:
    """Print the JSON Schema of one model entry of the ConfigMap (what 'validate' checks)."""
    import json

    if json_output_schema:
        from nimgen.report.json_models import json_output_schema as document
    else:
        from nimgen.catalog import record_json_schema as document
    typer.echo(json.dumps(document(), sort_keys=True, indent=2))
