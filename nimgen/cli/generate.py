"""``nimgen generate``: fetch the live NGC catalog and write the kustomize tree."""

from __future__ import annotations

from pathlib import Path

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.eu_options import GenerateEu
from nimgen.cli.ngc_options import Limits, Ngc
from nimgen.cli.options import Choice, Output, grouped
from nimgen.cli.tree_options import (
    DEFAULT_MAX_LOSS_PERCENT,
    AllowEmpty,
    AllowPartial,
    CheckOption,
    FullOption,
    MaxLoss,
    NameSuffix,
    NameSuffixOption,
    OutputDir,
    PreviousOption,
)


@app.command(epilog=EXIT_CODES_HELP)
@grouped
def generate(
    *,
    output: OutputDir = Path("config/nim"),
    ngc: Ngc,
    limits: Limits,
    choice: Choice,
    name_suffix: NameSuffixOption = NameSuffix.content,
    allow_partial: AllowPartial = False,
    allow_empty: AllowEmpty = False,
    max_loss: MaxLoss = DEFAULT_MAX_LOSS_PERCENT,
    check: CheckOption = False,
    previous: PreviousOption = None,
    full: FullOption = False,
    eu: GenerateEu,
    out: Output,
) -> None:
    """Fetch the live NGC catalog and write the kustomize tree (fetch + render).

    Needs a personal NGC key (nvapi-...) in $NGC_API_KEY or --api-key-file, and an EU
    source: --eu-proxy, --eu-list, or --no-eu. The key is validated first; a rejected
    key exits 4 and writes nothing. With --check nothing is written: exit 0 when
    --output is up to date, 3 when not.
    """
    from nimgen.commands.generate import GenerateRequest
    from nimgen.commands.generate import generate as generate_tree
    from nimgen.commands.live import LiveRequest
    from nimgen.commands.tree import TreeRequest
    from nimgen.report.run import run_command

    request = GenerateRequest(
        live=LiveRequest(
            access=ngc.access(limits),
            choice=choice.choice(),
            eu=eu.request(no_eu=eu.no_eu),
            previous=previous,
            full=full,
            allow_partial=allow_partial,
        ),
        tree=TreeRequest(
            output=output,
            versioned=name_suffix is NameSuffix.content,
            check=check,
            allow_empty=allow_empty,
            max_loss_percent=max_loss,
        ),
    )
    run_command("generate", out.console(ngc.verbose), lambda log: generate_tree(request, log))
