"""``migrate-deployments``: move deployments to per-deployment NGC secrets."""

from __future__ import annotations

from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cluster_options import CLUSTER_EXIT_HELP, Apply, Backup, BackupSecrets, Cluster
from nimgen.cli.ngc_options import ApiKeyFile
from nimgen.cli.options import Output, grouped


@app.command("migrate-deployments", epilog=CLUSTER_EXIT_HELP)
@grouped
def migrate_deployments(
    deployment: Annotated[
        str | None,
        typer.Argument(help="One deployment (InferenceService) in --namespace; default: all."),
    ] = None,
    *,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="A project to migrate (repeat it for more)."),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Migrate every project.")
    ] = False,
    apply: Apply = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Also annotate each migrated predictor to restart it, for a KServe that does "
            "not roll a predictor when its runtime changes (ODH's does, with or without it).",
        ),
    ] = False,
    keep_shared_secrets: Annotated[
        bool,
        typer.Option(
            "--keep-shared-secrets",
            help="Never delete nvidia-nim-secrets and ngc-secret (default: deleted once "
            "nothing in the project refers to them).",
        ),
    ] = False,
    api_key_file: ApiKeyFile = None,
    backup: Backup = None,
    backup_secrets: BackupSecrets = False,
    cluster: Cluster,
    out: Output,
) -> None:
    """Give deployments their own secrets, nim-api-key-<deployment> and
    nim-image-pull-<deployment>, and point their ServingRuntimes at them.

    The key: --api-key-file, $NGC_API_KEY, or a personal (nvapi-) key in the project's
    nvidia-nim-secrets; never an argument. Plans by default (exit 3 when there is work),
    naming each predictor that rolls and its GPUs. A shared Secret goes once nothing
    names it.
    """
    from nimgen.commands import migrate as commands
    from nimgen.report.run import run_command

    options = commands.MigrateOptions(
        deployment=deployment,
        namespaces=tuple(namespace or ()),
        all_namespaces=all_namespaces,
        apply=apply,
        restart=restart,
        keep_shared_secrets=keep_shared_secrets,
        api_key_file=api_key_file,
        backup=backup,
        backup_secrets=backup_secrets,
    )
    run_command(
        "migrate-deployments",
        out.console(),
        lambda log: commands.migrate(log, cluster.client, options),
    )
