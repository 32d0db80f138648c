"""How ``migrate-deployments`` shows its plan and what ``--apply`` did. Names only."""

from __future__ import annotations

from nimgen.cluster.kube import JsonObject
from nimgen.cluster.migrate import MigrationPlan

RESTART_WARNING = (
    "--restart also annotates each predictor, for a KServe that does not roll a predictor "
    "when its runtime changes; the roll needs twice the predictor's GPUs for a while"
)
# What patching the runtime costs: KServe rolls the predictor, the new pod before the old.
ROLL_COST = (
    "  restarts: patching the runtime makes KServe roll its predictor: the new pod starts "
    "before the old one stops and needs {} while it rolls (without them it stays "
    "Pending and the old pod keeps serving)"
)


def plan_lines(plan: MigrationPlan) -> list[str]:
    lines = [] if plan.deployments else ["No deployment uses the shared secrets any more."]
    for item in plan.deployments:
        head = f"{item.namespace}/{item.name} (ServingRuntime {item.runtime or '-'}):"
        if item.problem is not None:
            lines.append(f"{head} skipped: {item.problem}")
            continue
        lines.append(head)
        lines += [f"  create Secret {name}" for name in item.creates]
        if item.ops:
            gpus = f"{item.gpus} more GPU(s)" if item.gpus is not None else "as many GPUs again"
            lines += [f"  patch  ServingRuntime {item.runtime} to use them", ROLL_COST.format(gpus)]
    lines += [f"key for {ns}: {origin}" for ns, origin in sorted(plan.key_sources.items())]
    for shared in plan.shared:
        if shared.users:
            lines.append(f"keep   {shared.ref} while named by {', '.join(shared.users)}")
        else:
            lines.append(f"delete {shared.ref}: nothing names it any more")
    return lines


def plan_json(plan: MigrationPlan) -> JsonObject:
    return {
        "nothingToDo": plan.nothing_to_do,
        "deployments": [
            {
                "namespace": d.namespace,
                "deployment": d.name,
                "servingRuntime": d.runtime,
                "createSecrets": list(d.creates),
                "patchServingRuntime": bool(d.ops),
                "restarts": bool(d.ops) and d.problem is None,
                "gpus": d.gpus,
                "problem": d.problem,
            }
            for d in plan.deployments
        ],
        "keySources": dict(sorted(plan.key_sources.items())),
        "sharedSecrets": [
            {"namespace": s.ref.namespace, "name": s.ref.name, "usedBy": list(s.users)}
            for s in plan.shared
        ],
    }
