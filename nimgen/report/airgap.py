"""What ``nimgen airgap`` tells the admin: summary lines, warnings and the ``--json`` extras.

Kept out of the command line module so that the command only parses options and
prints; kept out of ``nimgen.airgap.plan`` so that the plan holds no wording.
"""

from __future__ import annotations

from nimgen.airgap.plan import AirgapPlan, MovingTag
from nimgen.airgap.steps import NextStep

_MAX_SHOWN = 8


def _shown(names: list[str]) -> str:
    return ", ".join(names[:_MAX_SHOWN]) + (" ..." if len(names) > _MAX_SHOWN else "")


def warnings(plan: AirgapPlan) -> list[str]:
    """One line each: what the admin should know before carrying anything across."""
    out = []
    if plan.glob_misses:
        out.append(
            f"--tags {plan.tags} matched no tag of {len(plan.glob_misses)} model(s), "
            f"which offer only their latestTag: {_shown(list(plan.glob_misses))}"
        )
    if plan.unpinned:
        names = ", ".join(f"{m.model} ({', '.join(m.tags)})" for m in plan.unpinned)
        out.append(
            f"{len(plan.unpinned)} model(s) offer only a moving tag, pinned by no version "
            f"tag and no digest; the mirror copies whatever it means on the day: {names}"
        )
    if plan.immutable:
        out.append(
            f"--immutable: the ConfigMap {plan.name!r} has a fixed name, so changing it later "
            "means deleting and re-creating it"
        )
    return out


def moving_tag_lines(plan: AirgapPlan) -> list[str]:
    """Every model whose mirror still holds a moving tag, and what pins it (all named)."""
    pinned = [m for m in plan.moving_tags if m.pinned]
    if not pinned:
        return []

    def how(moving: MovingTag) -> str:
        parts = [f"-> {moving.pinned_tag}"] if moving.pinned_tag else []
        if moving.pinned_by_digest:
            parts.append("digests pinned")
        return f"{moving.model} ({'/'.join(moving.tags)} {', '.join(parts)})"

    return [
        f"moving tags remain for {len(pinned)} model(s), each mirrored and offered with "
        "its newest version tag beside it (deploy that one; --digests also pins the "
        f"moving tag's recorded digests): {', '.join(how(m) for m in pinned)}"
    ]


def summary_lines(plan: AirgapPlan, steps: tuple[NextStep, ...]) -> list[str]:
    """The text after the run summary: images, moving tags, weights, numbered steps."""
    pinned = (
        f" ({len(plan.images)} by tag, {len(plan.digest_images)} by digest)"
        if plan.has_digests
        else ""
    )
    lines = [
        f"{len(plan.mirrored)} image(s) to mirror{pinned} from {len(plan.records)} "
        f"model(s) (--tags {plan.tags}) to {plan.mirror}",
        *moving_tag_lines(plan),
    ]
    if plan.weights is not None:
        options = plan.weights.options
        gpus = ", ".join(options.gpus) if options.gpus else "none given: choose when staging"
        lines.append(
            f"weights: {len(plan.weights.models)} model(s), one PVC of {options.pvc_size} "
            f"each in project {options.project} (GPUs: {gpus})"
        )
    else:
        lines.append("weights: not staged (--no-weights): the images must carry their own")
    lines.append("next steps:")
    number = 0
    for step in steps:
        if step.alternative:
            lines.append(f"     or, {step.what}:")
        else:
            number += 1
            lines.append(f"  {number}. {step.what}:")
        lines.extend(f"       {command}" for command in step.commands)
    return lines


def json_extra(plan: AirgapPlan, steps: tuple[NextStep, ...]) -> dict[str, object]:
    """``--json`` fields beyond the run report (the images list is the command's)."""
    weights: dict[str, object] | None = None
    if plan.weights is not None:
        options = plan.weights.options
        weights = {
            "project": options.project,
            "pvcSize": options.pvc_size,
            "storageClass": options.storage_class,
            "gpus": list(options.gpus),
            "models": [m.as_json() for m in plan.weights.models],
        }
    return {
        "mirror": str(plan.mirror),
        "tags": str(plan.tags),
        "movingTags": [m.as_json() for m in plan.moving_tags],
        "unpinnedMovingTags": [m.model for m in plan.unpinned],
        "weights": weights,
        "nextSteps": [s.as_json() for s in steps],
    }
