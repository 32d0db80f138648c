"""``nimgen airgap``: a custom ConfigMap and the mirroring manifests for a disconnected cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.options import Choice, Output, grouped


@app.command(epilog=EXIT_CODES_HELP)
@grouped
def airgap(
    *,
    from_path: Annotated[
        Path, typer.Option("--from", help="A snapshot from 'nimgen fetch', a ConfigMap or a tree.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory to write (replaced atomically).")
    ],
    mirror: Annotated[
        str,
        typer.Option(
            "--mirror",
            metavar="REGISTRY[/PREFIX]",
            help="Where the images will live: nvcr.io/nim/x:1 becomes REGISTRY/PREFIX/nim/x:1.",
        ),
    ],
    choice: Choice,
    tags: Annotated[
        str,
        typer.Option(
            "--tags",
            metavar="latest|all|GLOB",
            help="Tags to offer and mirror: the latestTag, all, or a glob such as '1.*' (the "
            "latestTag always; beside a moving tag, the newest version tag too).",
        ),
    ] = "latest",
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name of the custom ConfigMap.  [default: custom-nim-models]"),
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="Namespace of the ConfigMap and the dashboard.")
    ] = "redhat-ods-applications",
    immutable: Annotated[
        bool, typer.Option("--immutable", help="Mark the ConfigMap immutable (fixed name).")
    ] = False,
    account_configmap: Annotated[
        bool,
        typer.Option(
            "--account-configmap",
            help="Clusters on the NIM Account: write odh-nim-account-cm, which the controller "
            "points the dashboard at in air-gapped mode, and the DataScienceCluster patch.",
        ),
    ] = False,
    digests: Annotated[
        bool,
        typer.Option(
            "--digests",
            help="Also pin each tag's recorded digests (an ImageDigestMirrorSet); snapshots "
            "record the latestTag's, so use it with --tags latest.",
        ),
    ] = False,
    weights: Annotated[
        bool,
        typer.Option(
            "--weights/--no-weights",
            help="Write stage-weights.sh and a PVC and loader Pod per model (NIM images carry "
            "no weights).",
        ),
    ] = True,
    project: Annotated[
        str, typer.Option("--project", help="The data science project (namespace) of the PVCs.")
    ] = "nim-models",
    pvc_size: Annotated[
        str, typer.Option("--pvc-size", metavar="SIZE", help="Size of each model's PVC.")
    ] = "100Gi",
    storage_class: Annotated[
        str | None,
        typer.Option("--storage-class", help="Storage class of the PVCs (default: the cluster's)."),
    ] = None,
    gpu: Annotated[
        list[str] | None,
        typer.Option(
            "--gpu",
            metavar="NAME",
            help="The cluster's GPU model as NIM profiles spell it (h100, l40s); repeatable.",
        ),
    ] = None,
    out: Output,
) -> None:
    """Write a model ConfigMap, the mirroring manifests and the weights staging for a
    disconnected cluster, offline, and print the next steps (docs/airgap.md)."""
    from nimgen.airgap.weights import WeightsOptions
    from nimgen.commands.airgap import AirgapRequest, write_airgap
    from nimgen.report.run import run_command

    stage = WeightsOptions(project, pvc_size, storage_class, tuple(gpu or ()))
    request = AirgapRequest(
        from_path=from_path,
        output=output,
        mirror=mirror,
        choice=choice.choice(),
        tags=tags,
        name=name,
        namespace=namespace,
        immutable=immutable,
        account=account_configmap,
        digests=digests,
        weights=stage if weights else None,
    )
    run_command("airgap", out.console(), lambda log: write_airgap(request, log))
