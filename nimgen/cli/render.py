"""``nimgen render``: the kustomize tree from a file, offline (no key, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.eu_options import DEFAULT_MAX_AGE_DAYS, EuMaxAge, EuUncertainPolicy, NoEu
from nimgen.cli.options import Choice, Output, grouped
from nimgen.cli.tree_options import (
    DEFAULT_MAX_LOSS_PERCENT,
    AllowEmpty,
    MaxLoss,
    NameSuffix,
    NameSuffixOption,
    OutputDir,
)

FromFile = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="A snapshot from 'nimgen fetch', a nim-models-data ConfigMap, or an output "
        "tree. Default: the built-in sample snapshot of the NIM catalog as of 2026-02-19 "
        "(186 models), which is only a sample: use 'generate' for the live catalog.",
    ),
]
RenderEuList = Annotated[
    Path | None,
    typer.Option(
        "--eu-list",
        dir_okay=False,
        help="Mark EU-restricted models from this probe file (or flat list) instead of the "
        "EU facts the --from input carries.",
    ),
]
RenderEuUncertain = Annotated[
    EuUncertainPolicy,
    typer.Option(
        "--eu-uncertain",
        help="For a model whose EU status (from --eu-list or a snapshot's statuses) is "
        "inconclusive or missing, and for a stale --eu-list: 'restrict' ships it "
        "euRestricted: true, 'allow' false, 'fail' fails the run (exit 1). A ConfigMap "
        "input keeps its euRestricted values.",
    ),
]


@app.command(epilog=EXIT_CODES_HELP)
@grouped
def render(
    *,
    from_path: FromFile = None,
    output: OutputDir = Path("config/nim"),
    choice: Choice,
    name_suffix: NameSuffixOption = NameSuffix.content,
    allow_empty: AllowEmpty = False,
    max_loss: MaxLoss = DEFAULT_MAX_LOSS_PERCENT,
    eu_list: RenderEuList = None,
    no_eu: NoEu = False,
    eu_uncertain: RenderEuUncertain = EuUncertainPolicy.restrict,
    eu_max_age: EuMaxAge = DEFAULT_MAX_AGE_DAYS,
    out: Output,
) -> None:
    """Render the kustomize tree offline, from a file (no key, no network).

    A snapshot's EU statuses are applied (inconclusive or missing ones under
    --eu-uncertain), a ConfigMap's flags kept; --eu-list replaces them with a probe
    file's. An input without EU facts needs --eu-list or --no-eu.
    """
    from nimgen.commands.render import RenderRequest, TreeRequest
    from nimgen.commands.render import render as render_tree
    from nimgen.eu import EuRequest
    from nimgen.report.run import run_command

    request = RenderRequest(
        tree=TreeRequest(
            output=output,
            versioned=name_suffix is NameSuffix.content,
            allow_empty=allow_empty,
            max_loss_percent=max_loss,
        ),
        choice=choice.choice(),
        eu=EuRequest(
            eu_list=eu_list,
            no_eu=no_eu,
            policy=eu_uncertain.value,
            max_age_days=eu_max_age,
        ),
        source=from_path,
    )
    run_command("render", out.console(), lambda log: render_tree(request, log))
