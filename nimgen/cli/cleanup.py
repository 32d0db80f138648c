"""``cleanup``: retire what the Account era left on a cluster, losing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cluster_options import CLUSTER_EXIT_HELP, Apply, Cluster
from nimgen.cli.options import Output, grouped


@app.command(epilog=CLUSTER_EXIT_HELP)
@grouped
def cleanup(
    *,
    apply: Apply = False,
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
    cluster: Cluster,
    out: Output,
) -> None:
    """Retire the Account era: each Account, the ConfigMap, Template and pull Secret
    it owns, its API-key Secret and its finalizer.

    Plans by default (exit 3 when there is something to do); --apply writes a backup
    first, then deletes in an order that cannot hang or orphan. Deployments in users'
    projects and their secrets are never touched, only reported.
    """
    from nimgen.cluster import commands
    from nimgen.report.run import run_command

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
    access = cluster.access()
    run_command("cleanup", out.console(), lambda log: commands.cleanup(log, access, options))
