"""``cleanup``: retire what the Account era left on a cluster, losing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cluster_options import CLUSTER_EXIT_HELP, Apply, Backup, BackupSecrets, Cluster
from nimgen.cli.options import Output, grouped


@app.command(epilog=CLUSTER_EXIT_HELP)
@grouped
def cleanup(
    *,
    apply: Apply = False,
    backup: Backup = None,
    backup_secrets: BackupSecrets = False,
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
        list[str] | None,
        typer.Option("--namespace", "-n", help="Only these namespaces (repeat it; default: all)."),
    ] = None,
    restore: Annotated[
        Path | None,
        typer.Option(
            "--restore",
            file_okay=False,
            help="Create again every object a backup holds that does not exist (Secrets "
            "only if saved with --backup-secrets); changes nothing else.",
        ),
    ] = None,
    cluster: Cluster,
    out: Output,
) -> None:
    """Retire the Account era: every Account (applications namespace and projects), what
    it owns (found by owner uid) and its API-key Secret, and the finalizer.

    Plans by default (exit 3 when there is something to do); --apply writes a backup
    first, then changes things in an order that cannot hang or orphan. Whatever a
    workload names is kept (an owned object loses its owner reference) and named.
    """
    from nimgen.commands import cleanup as commands
    from nimgen.report.run import run_command

    options = commands.CleanupOptions(
        apply=apply,
        backup=backup,
        backup_secrets=backup_secrets,
        keep_api_key_secret=keep_api_key_secret,
        carry_allowlist=carry_allowlist,
        allowlist_name=allowlist_name,
        from_path=from_path,
        namespaces=tuple(namespace or ()),
        restore=restore,
    )
    run_command(
        "cleanup", out.console(), lambda log: commands.cleanup(log, cluster.client, options)
    )
