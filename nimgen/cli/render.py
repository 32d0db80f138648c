"""``nimgen render``: the kustomize tree from a file, offline (no key, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.eu_options import EuList, EuMaxAge, EuUncertainPolicy, NoEu
from nimgen.cli.options import Choice, Output, grouped
from nimgen.cli.tree_options import (
    DEFAULT_MAX_LOSS_PERCENT,
    AllowEmpty,
    MaxLoss,
    NameSuffix,
    NameSuffixOption,
    OutputDir,
)
from nimgen.eu import DEFAULT_MAX_AGE_DAYS

FromFile = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="A snapshot from 'nimgen fetch', a ConfigMap or a tree. Default: the built-in "
        "sample of the catalog as of 2026-02-19 ('generate' reads the live one).",
    ),
]
RenderEuUncertain = Annotated[
    EuUncertainPolicy,
    typer.Option(
        "--eu-uncertain",
        help="An inconclusive or missing EU status, or a stale --eu-list: 'restrict' ships "
        "euRestricted: true, 'allow' false, 'fail' exits 1 (a ConfigMap keeps its flags).",
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
    eu_list: EuList = None,
    no_eu: NoEu = False,
    eu_uncertain: RenderEuUncertain = EuUncertainPolicy.restrict,
    eu_max_age: EuMaxAge = DEFAULT_MAX_AGE_DAYS,
    out: Output,
) -> None:
    """Render the kustomize tree offline, from a file (no key, no network).

    A snapshot's EU statuses apply, a ConfigMap's flags stay, --eu-list replaces them;
    an input without EU facts needs --eu-list or --no-eu.
    """
    from nimgen.commands.render import RenderRequest
    from nimgen.commands.render import render as render_tree
    from nimgen.commands.tree import TreeRequest
    from nimgen.eu.resolve import EuRequest
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
            eu_list=eu_list, no_eu=no_eu, policy=eu_uncertain.value, max_age_days=eu_max_age
        ),
        source=from_path,
    )
    run_command("render", out.console(), lambda log: render_tree(request, log))
