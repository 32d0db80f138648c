"""``airgap``, ``validate`` and ``schema``: disconnected clusters and hand-written ConfigMaps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.options import Exclude, JsonOutput, Models, ModelsFile, Quiet, run_reported
from nimgen.reports import Reporter, RunReport

if TYPE_CHECKING:
    from nimgen.airgap import Image

VALIDATE_EXIT_HELP = "Exit codes: 0 every file valid; 1 problems found; 2 a file could not be read."


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
            "latestTag), 'all', or a glob such as '1.*' (the latestTag is always added).",
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
            "otherwise exit 2 naming the images without one.",
        ),
    ] = False,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Write a custom ConfigMap and the mirroring manifests for a disconnected cluster.

    Offline: reads --from and makes no network connection. Writes into --output the
    ConfigMap, an ImageTagMirrorSet, a kustomization.yaml (oc apply -k), the
    OdhDashboardConfig merge patch, oc-mirror's imageset-config.yaml and images.txt,
    then prints the next steps with their exact commands.
    """
    reporter = Reporter(quiet=quiet, json_output=json_output)
    report = RunReport(command="airgap")

    def body() -> None:
        from nimgen.airgap import TagChoice, next_steps, parse_mirror, plan_airgap
        from nimgen.errors import RunFailed
        from nimgen.output import check_output_dir, write_tree
        from nimgen.render.airgap import AIRGAP_FILES, CONFIGMAP_FILE, render_airgap
        from nimgen.render.configmap import MAX_OBJECT_BYTES
        from nimgen.selection import build_selection
        from nimgen.sources.snapshot import load_models
        from nimgen.validate import validate_text

        target = parse_mirror(mirror)
        tag_choice = TagChoice.parse(tags)
        selection = build_selection(models, exclude, models_file)
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
        )
        for pattern in plan.unmatched_patterns:
            reporter.warn(f"--models {pattern!r} matched no model in {from_path}")
        if plan.glob_misses:
            shown = ", ".join(plan.glob_misses[:8]) + (" ..." if len(plan.glob_misses) > 8 else "")
            reporter.warn(
                f"--tags {tag_choice} matched no tag of {len(plan.glob_misses)} model(s), "
                f"which offer only their latestTag: {shown}"
            )
        if immutable:
            reporter.warn(
                f"--immutable: the ConfigMap {name!r} has a fixed name, so changing it later "
                "means deleting and re-creating it"
            )
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
            "mirror": str(plan.mirror),
            "tags": str(plan.tags),
            "images": [_image_json(i) for i in plan.mirrored],
            "files": sorted(files),
            "nextSteps": [
                {"what": s.what, "commands": list(s.commands), "alternative": s.alternative}
                for s in steps
            ],
        }
        reporter.summary(report, "nimgen airgap")
        pinned = (
            f" ({len(plan.images)} by tag, {len(plan.digest_images)} by digest)"
            if plan.has_digests
            else ""
        )
        reporter.info(
            f"{len(plan.mirrored)} image(s) to mirror{pinned} from {len(plan.records)} "
            f"model(s) (--tags {plan.tags}) to {plan.mirror}"
        )
        reporter.info("next steps:")
        number = 0
        for step in steps:
            if step.alternative:
                reporter.info(f"     or, {step.what}:")
            else:
                number += 1
                reporter.info(f"  {number}. {step.what}:")
            for command in step.commands:
                reporter.info(f"       {command}")

    run_reported(reporter, report, body)


def _image_json(image: Image) -> dict[str, str]:
    """One image of ``--json``: a tag reference, or a digest reference with its platform."""
    entry = {"source": image.source, "destination": image.destination, "model": image.model}
    if image.digest is not None:
        entry.update(tag=image.tag, digest=image.digest, platform=image.platform or "")
    return entry


@app.command(epilog=VALIDATE_EXIT_HELP)
def validate(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="ConfigMap YAML files (several documents each are fine); '-' reads stdin.",
        ),
    ],
    json_output: JsonOutput = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the problems: no warnings, no 'valid'."),
    ] = False,
) -> None:
    """Check nim-models-data ConfigMaps written by anyone, before they reach a cluster.

    Checks: YAML that parses, without duplicate keys; kind ConfigMap; every data key
    a valid ConfigMap key equal to its value's name; each value JSON with exactly the
    eight fields of the right types ('nimgen schema'); tags non-empty and holding
    latestTag; the object under 1 MiB. Warns about an immutable ConfigMap under a
    fixed name and an unknown schema-version annotation. Prints FILE: key: problem.
    """
    import json
    import sys

    from nimgen.validate import exit_code, validate_file

    results = [validate_file(path) for path in files]
    for result in results:
        if result.unreadable is not None:
            sys.stderr.write(f"nimgen: error: {result.file}: {result.unreadable}\n")
    if json_output:
        document = {
            "command": "validate",
            "exitCode": exit_code(results),
            "valid": all(r.valid for r in results),
            "files": [r.as_json() for r in results],
        }
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        for result in results:
            for problem in result.problems:
                if problem.warning and quiet:
                    continue
                sys.stdout.write(f"{problem}\n")
            if result.valid and not quiet:
                maps = f"{result.configmaps} ConfigMaps, " if result.configmaps > 1 else ""
                sys.stdout.write(f"{result.file}: valid ({maps}{result.models} models)\n")
    sys.stdout.flush()
    raise typer.Exit(exit_code(results))


@app.command()
def schema() -> None:
    """Print the JSON Schema of one model entry of the ConfigMap (what 'validate' checks)."""
    import json

    from nimgen.catalog import record_json_schema

    typer.echo(json.dumps(record_json_schema(), sort_keys=True, indent=2))
