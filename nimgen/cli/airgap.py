"""``nimgen airgap``: a custom ConfigMap and the mirroring manifests for a disconnected cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.options import Exclude, JsonOutput, Models, ModelsFile, Quiet, run_reported
from nimgen.reports import Reporter, RunReport

if TYPE_CHECKING:
    from nimgen.airgap import Image


@app.command(epilog=EXIT_CODES_HELP)
def airgap(
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
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
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
        str, typer.Option("--name", help="Name of the custom ConfigMap.")
    ] = "custom-nim-models",
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
    json_output: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Write a custom ConfigMap, the mirroring manifests and the weights staging for a
    disconnected cluster.

    Offline: reads --from and makes no network connection. Writes into --output the
    ConfigMap, an ImageTagMirrorSet, a kustomization.yaml (oc apply -k), the
    OdhDashboardConfig merge patch, oc-mirror's imageset-config.yaml and images.txt,
    and (unless --no-weights) stage-weights.sh and a PVC and loader Pod per model,
    then prints the next steps with their exact commands.
    """
    reporter = Reporter(quiet=quiet, json_output=json_output)
    report = RunReport(command="airgap")

    def body() -> None:
        from nimgen.airgap import TagChoice, parse_mirror, plan_airgap
        from nimgen.airgap_weights import parse_weights_options
        from nimgen.errors import RunFailed
        from nimgen.output import check_output_dir, write_tree
        from nimgen.render import airgap_report
        from nimgen.render.airgap import AIRGAP_FILES, CONFIGMAP_FILE, render_airgap
        from nimgen.render.airgap_steps import next_steps
        from nimgen.render.configmap import MAX_OBJECT_BYTES
        from nimgen.selection import build_selection
        from nimgen.sources.snapshot import load_models
        from nimgen.validate import validate_text

        target = parse_mirror(mirror)
        tag_choice = TagChoice.parse(tags)
        selection = build_selection(models, exclude, models_file)
        staging = (
            parse_weights_options(
                project=project, pvc_size=pvc_size, storage_class=storage_class, gpus=gpu or ()
            )
            if weights
            else None
        )
        check_output_dir(output.absolute(), AIRGAP_FILES)
        loaded = load_models(from_path)
        plan = plan_airgap(
            loaded,
            mirror=target,
            selection=selection,
            tags=tag_choice,
            name=name,
            namespace=namespace,
            immutable=immutable,
            digests=digests,
            weights=staging,
        )
        for pattern in plan.unmatched_patterns:
            reporter.warn(f"--models {pattern!r} matched no model in {from_path}")
        for warning in airgap_report.warnings(plan):
            reporter.warn(warning)
        files = render_airgap(plan)
        configmap_text = files[CONFIGMAP_FILE].decode("utf-8")
        checked = validate_text(configmap_text, CONFIGMAP_FILE)
        if checked.errors:
            raise RunFailed(
                "the custom ConfigMap would not be valid; nothing was written "
                "(narrow the models with --models/--exclude or the tags with --tags)",
                details=tuple(f"{p.key}: {p.message}" for p in checked.errors),
            )
        write_tree(output, files, owned=AIRGAP_FILES)

        size = len(files[CONFIGMAP_FILE])
        report.discovered = None
        report.skipped_by_selection = plan.skipped_by_selection
        report.models = len(plan.records)
        report.eu_restricted = [r.name for r in plan.records if r.euRestricted]
        report.output = str(output)
        report.configmap = {
            "name": plan.name,
            "namespace": plan.namespace,
            "sizeBytes": size,
            "shareOfLimit": round(size / MAX_OBJECT_BYTES, 4),
        }
        steps = next_steps(plan, output)
        report.extra = {
            "images": [_image_json(i) for i in plan.mirrored],
            "files": sorted(files),
            **airgap_report.json_extra(plan, steps),
        }
        reporter.summary(report, "nimgen airgap")
        for line in airgap_report.summary_lines(plan, steps):
            reporter.info(line)

    run_reported(reporter, report, body)


def _image_json(image: Image) -> dict[str, str]:
    """One image of ``--json``: a tag reference, or a digest reference with its platform."""
    entry = {"source": image.source, "destination": image.destination, "model": image.model}
    if image.digest is not None:
        entry.update(tag=image.tag, digest=image.digest, platform=image.platform or "")
    return entry
