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
        Path,
        typer.Option(
            "--from",
            help="A snapshot from 'nimgen fetch', a nim-models-data ConfigMap (shipped or "
            "custom), or an output tree.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Directory to write (replaced atomically)."),
    ],
    mirror: Annotated[
        str,
        typer.Option(
            "--mirror",
            metavar="REGISTRY[/PREFIX]",
            help="Where the images will live, e.g. registry.example.com:5000/mirror: "
            "nvcr.io/nim/meta/x:1 becomes REGISTRY/PREFIX/nim/meta/x:1.",
        ),
    ],
    choice: Choice,
    tags: Annotated[
        str,
        typer.Option(
            "--tags",
            metavar="latest|all|GLOB",
            help="Which tags of each model to offer and mirror: 'latest' (the model's "
            "latestTag), 'all', or a glob such as '1.*' (the latestTag is always added). "
            "Beside a moving tag ('latest') the newest version tag is always added too.",
        ),
    ] = "latest",
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name of the custom ConfigMap.  [default: custom-nim-models]"),
    ] = None,
    namespace: Annotated[
        str,
        typer.Option("--namespace", help="Namespace of the ConfigMap and the dashboard."),
    ] = "redhat-ods-applications",
    immutable: Annotated[
        bool,
        typer.Option(
            "--immutable",
            help="Mark the ConfigMap immutable (it then has to be deleted and re-created "
            "to change, since its name is fixed).",
        ),
    ] = False,
    account_configmap: Annotated[
        bool,
        typer.Option(
            "--account-configmap",
            help="For a cluster still on the NIM Account: write odh-nim-account-cm, the "
            "(mutable) ConfigMap odh-model-controller points the dashboard at once the "
            "DataScienceCluster sets spec.components.kserve.nim.airGapped, and that patch "
            "instead of the OdhDashboardConfig one.",
        ),
    ] = False,
    digests: Annotated[
        bool,
        typer.Option(
            "--digests",
            help="Also pin digests: write an ImageDigestMirrorSet and list each tag's "
            "digest references (nvcr.io/...@sha256:..., one per platform) after its tag "
            "in images.txt and imageset-config.yaml. Needs a digest for every chosen tag: "
            "'fetch' snapshots record the latestTag's, so use it with --tags latest; "
            "otherwise exit 2 naming the images without one. (The version tag added "
            "beside a moving latestTag is mirrored by tag.)",
        ),
    ] = False,
    weights: Annotated[
        bool,
        typer.Option(
            "--weights/--no-weights",
            help="Write stage-weights.sh (downloads each model's weights on a connected "
            "machine) and weights/pvcs.yaml and weights/loaders.yaml (a PVC per model to "
            "fill and deploy with). NIM images carry no weights; --no-weights for those "
            "that do.",
        ),
    ] = True,
    project: Annotated[
        str,
        typer.Option("--project", help="The data science project (namespace) of the PVCs."),
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
            help="The cluster's GPU model as NIM profile names spell it (h100, a100, l40s); "
            "repeatable. stage-weights.sh then downloads every profile built for it.",
        ),
    ] = None,
    out: Output,
) -> None:
    """Write a custom ConfigMap, the mirroring manifests and the weights staging for a
    disconnected cluster.

    Offline: reads --from and makes no network connection. Writes into --output the
    ConfigMap, an ImageTagMirrorSet, a kustomization.yaml (oc apply -k), the
    OdhDashboardConfig merge patch, oc-mirror's imageset-config.yaml and images.txt,
    and (unless --no-weights) stage-weights.sh and a PVC and loader Pod per model,
    then prints the next steps with their exact commands.
    """
    from nimgen.commands.airgap import AirgapRequest, write_airgap
    from nimgen.report.run import run_command

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
        weights=weights,
        project=project,
        pvc_size=pvc_size,
        storage_class=storage_class,
        gpu=gpu,
    )
    run_command("airgap", out.console(), lambda log: write_airgap(request, log))
