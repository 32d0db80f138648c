"""``status``: what a reader (the dashboard) finds on a cluster, by the reference rule."""

from __future__ import annotations

from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cluster_options import Cluster
from nimgen.cli.options import Output, grouped

STATUS_EXIT_HELP = (
    "Exit codes: 0 a reader finds its ConfigMap and Template and no Account is left in any "
    "namespace; 1 it does not (or the cluster, or some namespace's Accounts, could not be "
    "read); 2 usage or bad input; 3 Account leftovers remain (run 'nimgen cleanup'), first."
)


@app.command(epilog=STATUS_EXIT_HELP)
@grouped
def status(
    *,
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="The applications namespace (default: redhat-ods-applications if it "
            "exists, else opendatahub).",
        ),
    ] = None,
    cluster: Cluster,
    out: Output,
) -> None:
    """Show the NIM ConfigMaps by label with their revisions and which one a reader
    picks, the dashboard's nimConfig, the Template, and Account leftovers in every
    namespace (and the namespaces that could not be read).

    The reader rule (docs/upgrade.md): the highest opendatahub.io/nim-models-revision
    of a known schema among the ConfigMaps labelled opendatahub.io/nim-models-data=true,
    unless the OdhDashboardConfig names a customConfigMap; Template nim-http-template.
    """
    from nimgen.commands import status as commands
    from nimgen.report.run import run_command

    run_command(
        "status", out.console(), lambda log: commands.status(log, cluster.client, namespace)
    )
