"""What ``nimgen airgap`` tells the admin: summary lines and warnings."""

from __future__ import annotations

from nimgen.airgap.plan import AirgapPlan, MovingTag
from nimgen.airgap.steps import NextStep

_MAX_SHOWN = 8


def warnings(plan: AirgapPlan) -> list[str]:
    """One line each: what the admin should know before carrying anything across."""
    out = []
    if plan.glob_misses:
        shown = ", ".join(plan.glob_misses[:_MAX_SHOWN])
        more = " ..." if len(plan.glob_misses) > _MAX_SHOWN else ""
        out.append(
            f"--tags {plan.tags} matched no tag of {len(plan.glob_misses)} model(s), "
            f"which offer only their latestTag: {shown}{more}"
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


def _pins(moving: MovingTag) -> str:
    parts = [f"-> {moving.pinned_tag}"] if moving.pinned_tag else []
    parts += ["digests pinned"] if moving.pinned_by_digest else []
    return f"{moving.model} ({'/'.join(moving.tags)} {', '.join(parts)})"


def summary_lines(plan: AirgapPlan, steps: tuple[NextStep, ...]) -> list[str]:
    """The text after the run summary: images, moving tags, weights, numbered steps."""
    pinned = [m for m in plan.moving_tags if m.pinned]
    by = f" ({len(plan.images)} by tag, {len(plan.mirrored) - len(plan.images)} by digest)"
    lines = [
        f"{len(plan.mirrored)} image(s) to mirror{by if plan.has_digests else ''} from "
        f"{len(plan.records)} model(s) (--tags {plan.tags}) to {plan.mirror}"
    ]
    if pinned:
        lines.append(
            f"moving tags remain for {len(pinned)} model(s), each mirrored and offered with "
            "its newest version tag beside it (deploy that one; --digests also pins the "
            f"moving tag's recorded digests): {', '.join(map(_pins, pinned))}"
        )
    if plan.weights is not None:
        options = plan.weights.options
        gpus = ", ".join(options.gpus) or "none given: choose when staging"
        lines.append(
            f"weights: {len(plan.weights.models)} model(s), one PVC of {options.pvc_size} "
            f"each in project {options.project} (GPUs: {gpus})"
        )
    else:
        lines.append("weights: not staged (--no-weights): the images must carry their own")
    lines.append("next steps:")
    number = 0
    for step in steps:
        number += not step.alternative
        lines.append(f"     or, {step.what}:" if step.alternative else f"  {number}. {step.what}:")
        lines.extend(f"       {command}" for command in step.commands)
    return lines
