"""``migrate-deployments``: move deployments to per-deployment NGC secrets."""

from __future__ import annotations

from typing import Annotated

import typer

from nimgen.cli import app
from nimgen.cli.cleanup import CLUSTER_EXIT_HELP, Context, Kubeconfig, KubectlPath
from nimgen.cli.options import ApiKeyFile, JsonOutput, Quiet


@app.command("migrate-deployments", epilog=CLUSTER_EXIT_HELP)
def migrate_deployments(
    deployment: Annotated[
        str | None,
        typer.Argument(help="One deployment (InferenceService) in --namespace; default: all."),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="The project to migrate.")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Migrate every project.")
    ] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Do it (default: only show the plan).")
    ] = False,
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
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    kubectl: KubectlPath = "kubectl",
    json_output: JsonOutput = False,
    quiet: Quiet = False,
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
    from nimgen.cluster.runner import run_on_cluster

    options = commands.MigrateOptions(
        deployment=deployment,
        namespace=namespace,
        all_namespaces=all_namespaces,
        apply=apply,
        restart=restart,
        keep_shared_secrets=keep_shared_secrets,
        api_key_file=api_key_file,
    )
    run_on_cluster(
        "migrate-deployments",
        lambda console, access: commands.migrate(console, access, options),
        kubectl=kubectl,
        kubeconfig=kubeconfig,
        context=context,
        quiet=quiet,
        json_output=json_output,
    )
