"""``nimgen airgap``: plan, render, check and write the air-gap directory, offline.

The command line parses the options into an ``AirgapRequest``; this does the rest and
fills the run's report (its summary and ``--json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nimgen.airgap import Image
    from nimgen.reports import Reporter, RunReport


@dataclass(frozen=True)
class AirgapRequest:
    from_path: Path
    output: Path
    mirror: str
    models: list[str] | None
    exclude: list[str] | None
    models_file: Path | None
    tags: str
    name: str
    namespace: str
    immutable: bool
    digests: bool
    weights: bool
    project: str
    pvc_size: str
    storage_class: str | None
    gpu: list[str] | None


def write_airgap(request: AirgapRequest, reporter: Reporter, report: RunReport) -> None:
    """Plan the air gap from ``request.from_path``, write every file atomically, report."""
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

    target = parse_mirror(request.mirror)
    tag_choice = TagChoice.parse(request.tags)
    selection = build_selection(request.models, request.exclude, request.models_file)
    staging = (
        parse_weights_options(
            project=request.project,
            pvc_size=request.pvc_size,
            storage_class=request.storage_class,
            gpus=request.gpu or (),
        )
        if request.weights
        else None
    )
    check_output_dir(request.output.absolute(), AIRGAP_FILES)
    loaded = load_models(request.from_path)
    plan = plan_airgap(
        loaded,
        mirror=target,
        selection=selection,
        tags=tag_choice,
        name=request.name,
        namespace=request.namespace,
        immutable=request.immutable,
        digests=request.digests,
        weights=staging,
    )
    for pattern in plan.unmatched_patterns:
        reporter.warn(f"--models {pattern!r} matched no model in {request.from_path}")
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
    write_tree(request.output, files, owned=AIRGAP_FILES)

    size = len(files[CONFIGMAP_FILE])
    report.discovered = None
    report.skipped_by_selection = plan.skipped_by_selection
    report.models = len(plan.records)
    report.eu_restricted = [r.name for r in plan.records if r.euRestricted]
    report.output = str(request.output)
    report.configmap = {
        "name": plan.name,
        "namespace": plan.namespace,
        "sizeBytes": size,
        "shareOfLimit": round(size / MAX_OBJECT_BYTES, 4),
    }
    steps = next_steps(plan, request.output)
    report.extra = {
        "images": [_image_json(i) for i in plan.mirrored],
        "files": sorted(files),
        **airgap_report.json_extra(plan, steps),
    }
    reporter.summary(report, "nimgen airgap")
    for line in airgap_report.summary_lines(plan, steps):
        reporter.info(line)


def _image_json(image: Image) -> dict[str, str]:
    """One image of ``--json``: a tag reference, or a digest reference with its platform."""
    entry = {"source": image.source, "destination": image.destination, "model": image.model}
    if image.digest is not None:
        entry.update(tag=image.tag, digest=image.digest, platform=image.platform or "")
    return entry
