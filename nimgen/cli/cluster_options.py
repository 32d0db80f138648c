"""The options of the cluster commands (cleanup, status, migrate-deployments), each defined
once: how to reach the cluster, and ``--apply``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli.options import option_group

if TYPE_CHECKING:
    from nimgen.cluster.kube import Kubectl

CLUSTER_EXIT_HELP = (
    "Exit codes: 0 nothing to do (or done); 1 the run failed (cluster unreachable, "
    "permission denied); 2 usage or bad input; 3 there is something to do (a plan)."
)

Apply = Annotated[bool, typer.Option("--apply", help="Do it (default: only show the plan).")]
Backup = Annotated[
    Path | None,
    typer.Option(
        "--backup",
        file_okay=False,
        help="Where --apply saves every object before deleting it (default: "
        "./nimgen-<command>-backup-<UTC time>); 'nimgen cleanup --restore DIR' puts them back.",
    ),
]
BackupSecrets = Annotated[
    bool,
    typer.Option(
        "--backup-secrets",
        help="Also save Secret values in the backup (they hold the NGC key); otherwise "
        "only that each Secret existed is recorded.",
    ),
]


@option_group
class Cluster:
    """``--kubeconfig``, ``--context``, ``--kubectl``: the cluster is reached through the
    user's own kubectl and kubeconfig, never a client of nimgen's."""

    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", dir_okay=False, help="The kubeconfig (default: kubectl's)."),
    ] = None
    context: Annotated[
        str | None, typer.Option("--context", help="The kubeconfig context (default: current).")
    ] = None
    kubectl: Annotated[
        str, typer.Option("--kubectl", help="kubectl or oc to run (a name on PATH or a path).")
    ] = "kubectl"

    def client(self) -> Kubectl:
        """Called in the command's body: a kubectl that is not there is its error."""
        from nimgen.cluster.kube import Kubectl

        return Kubectl(self.kubectl, self.kubeconfig, self.context)
