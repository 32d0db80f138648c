"""``nimgen airgap``: plan, render, check and write the air-gap directory, offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen.commands.common import ModelChoice, RunLog

if TYPE_CHECKING:
    from nimgen.airgap.weights import WeightsOptions
    from nimgen.commands.results import AirgapResult


@dataclass(frozen=True)
class AirgapRequest:
    from_path: Path
    output: Path
    mirror: str
    choice: ModelChoice
    tags: str
    name: str | None
    namespace: str
    immutable: bool
    account: bool
    digests: bool
    weights: WeightsOptions | None  # as given (checked here); None with --no-weights


def write_airgap(request: AirgapRequest, log: RunLog) -> AirgapResult:
    """Plan the air gap from ``request.from_path`` and write every file atomically."""
    from nimgen.airgap.plan import TagChoice, parse_mirror, plan_airgap
    from nimgen.airgap.render import AIRGAP_FILES, CONFIGMAP_FILE, render_airgap
    from nimgen.airgap.steps import next_steps
    from nimgen.commands.results import AirgapResult, ConfigMapFacts
    from nimgen.errors import RunFailed
    from nimgen.report.airgap import warnings
    from nimgen.selection import check_unmatched
    from nimgen.snapshot import load_models
    from nimgen.tree.configmap import MAX_OBJECT_BYTES
    from nimgen.tree.write import check_output_dir, write_tree
    from nimgen.validate import validate_text

    mirror = parse_mirror(request.mirror)
    tags = TagChoice.parse(request.tags)
    selection = request.choice.selection()
    weights = request.weights.checked() if request.weights is not None else None
    check_output_dir(request.output, AIRGAP_FILES)
    plan = plan_airgap(
        load_models(request.from_path),
        mirror=mirror,
        selection=selection,
        tags=tags,
        name=request.name,
        namespace=request.namespace,
        immutable=request.immutable,
        account=request.account,
        digests=request.digests,
        weights=weights,
    )
    check_unmatched(plan.unmatched_patterns, str(request.from_path), log.warn)
    for warning in warnings(plan):
        log.warn(warning)
    files = render_airgap(plan)
    checked = validate_text(files[CONFIGMAP_FILE].decode("utf-8"), CONFIGMAP_FILE)
    if checked.errors:
        raise RunFailed(
            "the custom ConfigMap would not be valid; nothing was written "
            "(narrow the models with --models/--exclude or the tags with --tags)",
            details=tuple(f"{p.key}: {p.message}" for p in checked.errors),
        )
    write_tree(request.output, files, owned=AIRGAP_FILES, result=True)
    size = len(files[CONFIGMAP_FILE])
    share = round(size / MAX_OBJECT_BYTES, 4)
    return AirgapResult(
        plan=plan,
        steps=next_steps(plan, request.output),
        files=tuple(sorted(files)),
        configmap=ConfigMapFacts(plan.name, size, share, namespace=plan.namespace),
        output=request.output,
    )
