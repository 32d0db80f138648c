"""``cleanup --apply`` in an order that cannot hang, orphan or lose anything; ``--restore``.

Rights, backup, carry-over; per Account each unused owned object and key Secret deleted
(uid precondition, Orphan policy), each used one kept without its owner reference, and
only then the finalizer cleared and the Account deleted. Each step tolerates one already
done, so a re-run after any interruption finishes the job."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from nimgen.cluster.accounts import FINALIZER, AccountPlan, CleanupPlan
from nimgen.cluster.allowlist import Carry, dashboard_patch
from nimgen.cluster.backup import read_backup, render_backup, write_backup
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    DASHBOARD_CONFIG,
    Kubectl,
    KubeError,
    Ref,
    Resource,
    guarded_removal,
)
from nimgen.cluster.reader import DASHBOARD_NAME
from nimgen.errors import RunFailed

GONE_TIMEOUT_SECONDS = 60.0
Event = tuple[str, str]  # (what happened, to what): nimgen.report.cleanup words it


class Need(NamedTuple):
    verb: str
    resource: Resource
    namespace: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource.kubectl_name} in namespace {self.namespace}"


def permissions_needed(plan: CleanupPlan, carries: Iterable[Carry] = ()) -> list[Need]:
    needs: set[Need] = set()
    for account in plan.accounts:
        for step in (s for s in account.steps if s.action != "keep"):
            verb = "delete" if step.action == "delete" else "patch"
            needs.add(Need(verb, step.ref.resource, step.ref.namespace))
        verbs = ("get", "delete", "patch") if account.has_finalizer else ("get", "delete")
        needs |= {Need(verb, ACCOUNT, account.account.namespace) for verb in verbs}
    for carry in carries:
        if carry.configmap is not None:
            needs.add(Need("create", CONFIGMAP, carry.target.namespace))
        if carry.patch_dashboard:
            needs.add(Need("patch", DASHBOARD_CONFIG, carry.target.namespace))
    return sorted(needs)


def check_permissions(kube: Kubectl, needs: list[Need]) -> None:
    """Raise, naming every missing right, before anything is changed."""
    answers = kube.allowed(needs) if needs else []
    missing = [need for need, ok in zip(needs, answers, strict=True) if not ok]
    if missing:
        more = f" (and {len(missing) - 1} more right(s), below)" if len(missing) > 1 else ""
        raise RunFailed(
            f"permission denied: your kubeconfig's user may not {missing[0]}{more}; nothing "
            "was changed. The roles nimgen needs: deploy/rbac/nimgen-cleanup-clusterrole.yaml",
            details=tuple(f"may not {need}" for need in missing),
        )


@dataclass
class Outcome:
    events: list[Event] = field(default_factory=list)
    warnings: list[Event] = field(default_factory=list)


def _carry_over(kube: Kubectl, carry: Carry, outcome: Outcome) -> None:
    if carry.configmap is not None:
        created = kube.create(carry.configmap)
        outcome.events.append(("created" if created else "existed", str(carry.target)))
    if carry.patch_dashboard:
        dashboard = Ref(carry.target.namespace, DASHBOARD_NAME, DASHBOARD_CONFIG)
        result = kube.patch(dashboard, dashboard_patch(carry.target), kind="merge")
        custom = ((result.get("spec") or {}).get("nimConfig") or {}).get("customConfigMap") or {}
        if custom.get("name") == carry.target.name:
            outcome.events.append(("pointed", f"{dashboard} at {carry.target}"))
        else:  # its CRD predates spec.nimConfig: the API server dropped it
            outcome.warnings.append(("dropped-nim-config", f"{dashboard} (for {carry.target})"))


def clear_finalizer(kube: Kubectl, account: Ref) -> bool:
    """Remove FINALIZER from the Account as it is now; False when there is none left."""
    current = kube.get(ACCOUNT, account.name, account.namespace)
    finalizers = (current or {}).get("metadata", {}).get("finalizers") or []
    if FINALIZER not in finalizers:
        return False
    path = f"/metadata/finalizers/{finalizers.index(FINALIZER)}"
    kube.patch(account, guarded_removal(account.uid, path, path, FINALIZER))
    return True


def _wait_gone(kube: Kubectl, account: Ref) -> None:
    """Until the Account is gone, or only the garbage collector's work is left (bounded)."""
    start = time.monotonic()
    while (current := kube.get(ACCOUNT, account.name, account.namespace)) is not None:
        if current["metadata"].get("uid") != account.uid:
            return
        if time.monotonic() - start > GONE_TIMEOUT_SECONDS:
            left = ", ".join(current["metadata"].get("finalizers") or []) or "none"
            raise RunFailed(
                f"{account} is still being deleted after {GONE_TIMEOUT_SECONDS:.0f} s (finalizers "
                f"left: {left}); nimgen removed its own: whoever owns the others must clear them. "
                "Run 'nimgen cleanup' again to check"
            )
        time.sleep(0.5)


def _retire(kube: Kubectl, plan: AccountPlan, outcome: Outcome) -> None:
    for step in plan.steps:
        if step.action == "delete":
            outcome.events.append(("deleted" if kube.delete(step.ref) else "gone", str(step.ref)))
        elif step.action == "unown":
            path = f"/metadata/ownerReferences/{step.owner_index}"
            kube.patch(
                step.ref, guarded_removal(step.ref.uid, path, f"{path}/uid", plan.account.uid)
            )
            outcome.events.append(("unowned", str(step.ref)))
    if plan.has_finalizer and clear_finalizer(kube, plan.account):
        outcome.events.append(("finalizer", str(plan.account)))
    # Also when it is already being deleted: the Orphan policy then replaces a cascade.
    outcome.events.append(("deleted" if kube.delete(plan.account) else "gone", str(plan.account)))
    _wait_gone(kube, plan.account)


def apply_cleanup(kube: Kubectl, plan: CleanupPlan, carries: list[Carry], backup: Path) -> Outcome:
    """Carry out ``plan``: permissions, backup, carry-over, then each Account in turn."""
    check_permissions(kube, permissions_needed(plan, carries))
    deleted = frozenset(s.ref for a in plan.accounts for s in a.steps if s.action == "delete")
    write_backup(
        backup, render_backup(plan.documents, deleted | {a.account for a in plan.accounts})
    )
    outcome = Outcome()
    try:
        for carry in carries:
            _carry_over(kube, carry, outcome)
        for account in plan.accounts:
            _retire(kube, account, outcome)
    except KubeError as err:
        raise RunFailed(
            f"{err.message}; the backup is in {backup}. Run the same command again to finish: "
            "it re-reads the cluster and does only what is left",
            details=tuple(f"{what} {subject}" for what, subject in outcome.events),
        ) from None
    return outcome


def restore(kube: Kubectl, directory: Path) -> tuple[Outcome, list[str]]:
    """Create every object of a backup that does not exist; the Secrets saved without values
    are returned (they cannot be)."""
    objects, omitted = read_backup(directory)
    check_permissions(kube, sorted({Need("create", r.resource, r.namespace) for r, _ in objects}))
    outcome = Outcome()
    for ref, document in objects:
        outcome.events.append(("restored" if kube.create(document) else "existed", str(ref)))
    return outcome, omitted
