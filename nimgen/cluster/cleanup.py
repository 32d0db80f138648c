"""``cleanup --apply``: retire the Account era in an order that cannot hang or orphan.

1. Check up front (``kubectl auth can-i``) every verb on every resource the plan
   needs, so a missing right stops the run before anything changed.
2. Write the backup of every object it will delete.
3. Carry allowlists over (``--carry-allowlist``): only adds objects.
4. Per Account: delete the objects it owns and its key Secret, remove the
   ``nim-cleanup-finalizer`` (a JSON patch guarded by ``test`` ops, so a changed
   object is refused, not mis-patched), then delete the Account with the ``Orphan``
   policy (anything else that named it as owner is kept, not cascaded) and wait,
   bounded, until it is gone.

Every delete carries a uid precondition: only the object the plan read is deleted,
never a same-named newer one. Each step tolerates an object already gone, so a
re-run after any interruption finishes the job, and a run after that finds nothing.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nimgen.cluster.allowlist import Carry, dashboard_patch
from nimgen.cluster.backup import render_backup, write_backup
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    DASHBOARD_CONFIG,
    Kubectl,
    KubeError,
    Ref,
    Resource,
)
from nimgen.cluster.legacy import FINALIZER, AccountPlan, CleanupPlan, settling
from nimgen.cluster.reader import DASHBOARD_NAME
from nimgen.errors import RunFailed

# TEST-ONLY hook: the run SIGKILLs itself right after the named step ("backup",
# "owned" or "finalizer"), so tests can prove that a re-run finishes an interrupted one.
TEST_KILL_AFTER_ENV = "NIMGEN_TEST_KILL_AFTER"
GONE_TIMEOUT_SECONDS = 60.0
# How long to wait for the garbage collector before leaving it to finish on its own.
SETTLE_SECONDS = 10.0


@dataclass(frozen=True, order=True)
class Need:
    namespace: str
    resource: Resource
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource.kubectl_name} in namespace {self.namespace}"


def permissions_needed(plan: CleanupPlan, carries: list[Carry]) -> list[Need]:
    needs: set[Need] = set()
    for account in plan.accounts:
        for ref in account.deletions:
            needs.add(Need(ref.namespace, ref.resource, "delete"))
        if account.has_finalizer:
            needs.add(Need(account.account.namespace, ACCOUNT, "patch"))
        if not account.being_deleted:
            needs.add(Need(account.account.namespace, ACCOUNT, "delete"))
        needs.add(Need(account.account.namespace, ACCOUNT, "get"))  # re-read before patching
    for carry in carries:
        if carry.configmap is not None:
            needs.add(Need(carry.target.namespace, CONFIGMAP, "create"))
        if carry.patch_dashboard:
            needs.add(Need(carry.target.namespace, DASHBOARD_CONFIG, "patch"))
    return sorted(needs)


def check_permissions(kube: Kubectl, needs: list[Need]) -> None:
    """Raise, naming every missing right, before anything is changed."""
    missing = [need for need in needs if not kube.can_i(need.verb, need.resource, need.namespace)]
    if missing:
        raise RunFailed(
            f"permission denied: your kubeconfig's user may not {missing[0]}"
            + (f" (and {len(missing) - 1} more right(s), below)" if len(missing) > 1 else "")
            + "; nothing was changed. The least rights nimgen needs are in "
            "deploy/rbac/nimgen-cleanup-clusterrole.yaml",
            details=tuple(f"may not {need}" for need in missing),
        )


@dataclass
class Outcome:
    backup: Path | None = None
    done: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _test_hook(step: str) -> None:
    if os.environ.get(TEST_KILL_AFTER_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _carry_over(kube: Kubectl, carry: Carry, outcome: Outcome) -> None:
    if carry.configmap is not None:
        if kube.create(carry.configmap):
            outcome.done.append(f"created {carry.target} ({len(carry.models)} models)")
        else:
            outcome.already_gone.append(f"{carry.target} existed already")
    if carry.patch_dashboard:
        dashboard = Ref(carry.target.namespace, DASHBOARD_NAME, DASHBOARD_CONFIG)
        result = kube.patch(dashboard, dashboard_patch(carry.target), kind="merge")
        nim_config = (result.get("spec") or {}).get("nimConfig") or {}
        if nim_config.get("customConfigMap", {}).get("name") != carry.target.name:
            outcome.warnings.append(
                f"{dashboard} dropped spec.nimConfig (its CRD predates the redesign): the "
                f"dashboard does not use {carry.target} until it is upgraded and patched again"
            )
        else:
            outcome.done.append(f"pointed {dashboard} at {carry.target}")


def clear_finalizer(kube: Kubectl, account: Ref) -> bool:
    """Remove FINALIZER from the Account as it is now; False when it was already gone."""
    current = kube.get(ACCOUNT, account.name, account.namespace)
    if current is None:
        return False
    finalizers = current["metadata"].get("finalizers") or []
    if FINALIZER not in finalizers:
        return False
    index = finalizers.index(FINALIZER)
    patch = [
        {"op": "test", "path": "/metadata/uid", "value": account.uid},
        {"op": "test", "path": f"/metadata/finalizers/{index}", "value": FINALIZER},
        {"op": "remove", "path": f"/metadata/finalizers/{index}"},
    ]
    kube.patch(account, patch)
    return True


def _wait_gone(kube: Kubectl, account: Ref) -> str:
    """Wait (bounded) until the Account is gone, or only the garbage collector's work is
    left (it drops the dependents' owner references, then the Account goes)."""
    start = time.monotonic()
    while True:
        current = kube.get(ACCOUNT, account.name, account.namespace)
        if current is None or current["metadata"].get("uid") != account.uid:
            return f"{account} is gone"
        waited = time.monotonic() - start
        if settling(current) and waited > SETTLE_SECONDS:
            return f"{account} is being removed by the garbage collector (Orphan policy)"
        if waited > GONE_TIMEOUT_SECONDS:
            left = ", ".join(current["metadata"].get("finalizers") or []) or "none"
            raise RunFailed(
                f"{account} is still being deleted after {GONE_TIMEOUT_SECONDS:.0f} s "
                f"(finalizers left: {left}); nimgen removed its own finalizer: whoever owns "
                "the others must clear them. Run 'nimgen cleanup' again to check"
            )
        time.sleep(0.5)


def _retire(kube: Kubectl, plan: AccountPlan, outcome: Outcome) -> None:
    for ref in plan.deletions:
        if kube.delete(ref):
            outcome.done.append(f"deleted {ref}")
        else:
            outcome.already_gone.append(f"{ref} was already gone")
    _test_hook("owned")
    if plan.has_finalizer and clear_finalizer(kube, plan.account):
        outcome.done.append(f"removed the finalizer {FINALIZER} from {plan.account}")
    _test_hook("finalizer")
    if not plan.being_deleted:
        if kube.delete(plan.account, orphan=True):
            outcome.done.append(f"deleted {plan.account}")
        else:
            outcome.already_gone.append(f"{plan.account} was already gone")
    outcome.done.append(_wait_gone(kube, plan.account))


def apply_cleanup(
    kube: Kubectl,
    plan: CleanupPlan,
    carries: list[Carry],
    backup: Path,
    *,
    log: Callable[[str], None],
) -> Outcome:
    """Carry out ``plan``: permissions, backup, carry-over, then each Account in turn."""
    outcome = Outcome()
    check_permissions(kube, permissions_needed(plan, carries))
    deleted = frozenset(r for a in plan.accounts for r in (*a.deletions, a.account))
    write_backup(backup, render_backup(plan.documents, deleted))
    outcome.backup = backup
    log(f"backup of {len(deleted)} object(s) written to {backup}")
    _test_hook("backup")
    try:
        for carry in carries:
            _carry_over(kube, carry, outcome)
        for account in plan.accounts:
            _retire(kube, account, outcome)
    except KubeError as err:
        raise RunFailed(
            f"{err.message}; the backup is in {backup}. Run the same command again to "
            "finish: it re-reads the cluster and does only what is left",
            details=tuple(outcome.done),
        ) from None
    return outcome
