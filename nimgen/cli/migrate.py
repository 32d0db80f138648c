"""``migrate-deployments``: move deployments to per-deployment NGC secrets."""

from __future__ import annotations

from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cluster_options import CLUSTER_EXIT_HELP, Apply, Cluster
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
        str | None, typer.Option("--namespace", "-n", help="The project to migrate.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Migrate every project.")
    ] = False,
    apply: Apply = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help="Restart each migrated predictor now (a rolling restart: needs twice the "
            "GPUs for a while). Without it, pods pick the new secrets up when next created.",
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
    cluster: Cluster,
    out: Output,
) -> None:
    """Give deployments their own secrets, nim-api-key-<deployment> and
    nim-image-pull-<deployment>, and point their ServingRuntimes at them.

    The key comes from --api-key-file or $NGC_API_KEY, or is reused from the
    project's nvidia-nim-secrets if that holds a personal (nvapi-) key; it is never
    a command-line argument. Plans by default (exit 3 when there is something to
    do). The shared secrets are deleted only once no ServingRuntime or
    InferenceService of the project refers to them.
    """
    from nimgen.cluster import commands
    from nimgen.report.run import run_command

    options = commands.MigrateOptions(
        deployment=deployment,
        namespace=namespace,
        all_namespaces=all_namespaces,
        apply=apply,
        restart=restart,
        keep_shared_secrets=keep_shared_secrets,
        api_key_file=api_key_file,
    )
    access = cluster.access()
    run_command(
        "migrate-deployments", out.console(), lambda log: commands.migrate(log, access, options)
    )
