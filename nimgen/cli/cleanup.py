"""``cleanup``: retire what the Account era left on a cluster, losing nothing.

Also the options every cluster command shares: ``--kubectl``, ``--kubeconfig``,
``--context``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.options import JsonOutput, Quiet

CLUSTER_EXIT_HELP = (
    "Exit codes: 0 nothing to do (or done); 1 the run failed (cluster unreachable, "
    "permission denied); 2 usage or bad input; 3 there is something to do (a plan)."
)

Kubeconfig = Annotated[
    Path | None,
    typer.Option("--kubeconfig", dir_okay=False, help="The kubeconfig (default: kubectl's)."),
]
Context = Annotated[
    str | None, typer.Option("--context", help="The kubeconfig context (default: current).")
]
KubectlPath = Annotated[
    str, typer.Option("--kubectl", help="kubectl or oc to run (a name on PATH or a path).")
]


@app.command(epilog=CLUSTER_EXIT_HELP)
def cleanup(
    apply: Annotated[
        bool, typer.Option("--apply", help="Do it (default: only show the plan).")
    ] = False,
    backup: Annotated[
        Path | None,
        typer.Option(
            "--backup",
            file_okay=False,
            help="Where --apply saves every object before deleting it (default: "
            "./nimgen-cleanup-backup-<UTC time>); restore with 'kubectl apply -f DIR'.",
        ),
    ] = None,
    backup_secrets: Annotated[
        bool,
        typer.Option(
            "--backup-secrets",
            help="Also save Secret values in the backup (they hold the NGC key); "
            "otherwise only that each Secret existed is recorded.",
        ),
    ] = False,
    keep_api_key_secret: Annotated[
        bool,
        typer.Option("--keep-api-key-secret", help="Do not delete the Account's API-key Secret."),
    ] = False,
    carry_allowlist: Annotated[
        bool,
        typer.Option(
            "--carry-allowlist",
            help="Turn each Account's model allowlist into a custom ConfigMap of just "
            "those models and point the OdhDashboardConfig at it.",
        ),
    ] = False,
    allowlist_name: Annotated[
        str, typer.Option("--allowlist-name", help="Name of that custom ConfigMap.")
    ] = "custom-nim-models",
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="With --carry-allowlist: take the models from this snapshot, ConfigMap or "
            "tree instead of the shipped ConfigMap on the cluster.",
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Only Accounts in this namespace (default: all)."),
    ] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    kubectl: KubectlPath = "kubectl",
    json_output: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Retire the Account era: each Account, the ConfigMap, Template and pull Secret
    it owns, its API-key Secret and its finalizer.

    Plans by default (exit 3 when there is something to do); --apply writes a backup
    first, then deletes in an order that cannot hang or orphan. Deployments in users'
    projects and their secrets are never touched, only reported.
    """
    from nimgen.cluster import commands
    from nimgen.cluster.runner import run_on_cluster

    options = commands.CleanupOptions(
        apply=apply,
        backup=backup,
        backup_secrets=backup_secrets,
        keep_api_key_secret=keep_api_key_secret,
        carry_allowlist=carry_allowlist,
        allowlist_name=allowlist_name,
        from_path=from_path,
        namespace=namespace,
    )
    run_on_cluster(
        "cleanup",
        lambda console, access: commands.cleanup(console, access, options),
        kubectl=kubectl,
        kubeconfig=kubeconfig,
        context=context,
        quiet=quiet,
        json_output=json_output,
    )
