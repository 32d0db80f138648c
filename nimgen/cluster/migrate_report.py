"""How ``migrate-deployments`` shows its plan: lines for people, a document for ``--json``.

Names only: no key, and no Secret value, is part of a plan.
"""

from __future__ import annotations

from nimgen.cluster.kube import JsonObject
from nimgen.cluster.migrate import MigrationPlan


def plan_json(plan: MigrationPlan) -> JsonObject:
    return {
        "nothingToDo": plan.nothing_to_do,
        "deployments": [d.as_json() for d in plan.deployments],
        "keySources": dict(sorted(plan.key_sources.items())),
        "sharedSecrets": [
            {
                "namespace": s.namespace,
                "existing": [r.name for r in s.existing],
                "stillUsedBy": list(s.still_used_by),
                "delete": s.deletable,
            }
            for s in plan.shared
        ],
    }


def plan_lines(plan: MigrationPlan) -> list[str]:
    lines = [] if plan.deployments else ["No deployment uses the shared secrets any more."]
    for item in plan.deployments:
        head = f"{item.namespace}/{item.name} (ServingRuntime {item.runtime or '-'}):"
        if item.problem is not None:
            lines.append(f"{head} skipped: {item.problem}")
            continue
        lines.append(head)
        if item.create_key_secret:
            lines.append(f"  create Secret {item.key_secret} (Opaque, NGC_API_KEY)")
        if item.create_pull_secret:
            lines.append(f"  create Secret {item.pull_secret} (nvcr.io pull secret)")
        if item.ops:
            lines.append(f"  patch  ServingRuntime {item.runtime} to use them")
        if item.leftover:
            lines.append(f"  note: it still names {', '.join(item.leftover)} elsewhere")
    for namespace, origin in sorted(plan.key_sources.items()):
        lines.append(f"key for {namespace}: {origin}")
    for shared in plan.shared:
        names = ", ".join(r.name for r in shared.existing)
        if shared.deletable:
            lines.append(f"{shared.namespace}: then delete the shared secrets ({names})")
        elif shared.existing:
            users = ", ".join(shared.still_used_by)
            lines.append(f"{shared.namespace}: keep the shared secrets ({names}), used by {users}")
    return lines
