"""What ``cleanup`` says: its plan, what ``--apply`` and ``--restore`` did (and what
``migrate-deployments --apply`` did), its ``--json``. Names only, never a Secret value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from nimgen.cluster.cleanup import AccountPlan, CleanupPlan, Step
from nimgen.cluster.kube import DASHBOARD_NAME, FINALIZER, Event, JsonObject, Ref

if TYPE_CHECKING:
    from nimgen.cluster.allowlist import Carry

CARRY_FLAG = "--carry-allowlist"
PLAN_ONLY = "This is a plan: nothing was changed. Run again with --apply to do it."
DONE = "Done. The backup is in {}. Check the result with: nimgen status"
NOT_RESTORED = "not restored: {0} (its values were not backed up; see {0}.omitted.txt)"
EVENTS = {
    "deleted": "deleted {}",
    "gone": "{} was already gone",
    "unowned": "kept {} (in use) without its owner reference to the Account",
    "finalizer": f"removed the finalizer {FINALIZER} from {{}}",
    "created": "created {}",
    "existed": "{} existed already: kept as it is",
    "pointed": "pointed {}",
    "restored": "restored {}",
    "dropped-nim-config": "{} dropped spec.nimConfig (its CRD predates the redesign): the "
    "dashboard uses the custom ConfigMap only once it is upgraded and patched again",
    # migrate-deployments
    "repointed": "pointed {} at its own secrets (KServe now rolls its predictor)",
    "restarted": "annotated the predictor of {} to restart it",
    "still-used": "kept {} (a later run deletes it once nothing names it)",
}


def events(done: Iterable[Event]) -> list[str]:
    return [EVENTS[what].format(subject) for what, subject in done]


def _row(action: str, kind: str, where: str | Ref, why: str = "") -> str:
    where = f"{where.namespace}/{where.name}" if isinstance(where, Ref) else where
    return f"  {action:<8} {kind:<18} {where:<52} {why}".rstrip()


def _users(step: Step) -> str:
    more = f" and {len(step.users) - 4} more" if len(step.users) > 4 else ""
    return f"used by {', '.join(step.users[:4])}{more}" if step.users else "--keep-api-key-secret"


def _why(step: Step) -> str:
    if step.action == "delete" and step.owner_index is not None:
        return "owned by the Account, unused"
    if step.action == "delete":
        return "the NGC API key (spec.apiKeySecret), unused"
    unowned = "; its owner reference is removed" if step.action == "unown" else ""
    return f"KEPT, {_users(step)}{unowned}"


def key_warnings(plan: CleanupPlan) -> list[str]:
    """Said loudly, in the plan and the summary: every NGC key that stays on the cluster."""
    return [
        f"the NGC key stays in {s.ref} ({_users(s)}); once nothing names it: "
        f"kubectl delete secret {s.ref.name} -n {s.ref.namespace}"
        for s in plan.keys_left
    ]


def plan_lines(plan: CleanupPlan, carries: dict[Ref, Carry]) -> list[str]:
    """The plan as a table, one line per action, in the order ``--apply`` takes them.
    ``carries`` has an account's carry-over only under --carry-allowlist."""
    lines = [] if plan.accounts else ["No Account is left on this cluster: nothing to clean up."]
    for account in plan.accounts:
        ref = account.account
        carry = carries.get(ref)
        lines.append(f"Account {ref.namespace}/{ref.name}:")
        if carry is not None and carry.problem is None:
            if carry.configmap is not None:
                why = f"{len(carry.models)} allowlisted models, from {carry.source}"
                lines.append(_row("create", "ConfigMap", carry.target, why))
            if carry.patch_dashboard:
                where = f"{ref.namespace}/{DASHBOARD_NAME}"
                why = f"customConfigMap: {carry.target.name}"
                lines.append(_row("patch", "OdhDashboardConfig", where, why))
        lines += [_row(s.action, s.ref.resource.kind, s.ref, _why(s)) for s in account.steps]
        if account.has_finalizer:
            lines.append(_row("clear", "finalizer", FINALIZER))
        if others := [f for f in account.finalizers if f != FINALIZER]:
            lines.append(_row("wait", "finalizers", ", ".join(others), "their owners clear them"))
        why = "already being deleted; " if account.being_deleted else ""
        lines.append(_row("delete", "Account", ref, why + "Orphan policy: nothing goes with it"))
        lines += _allowlist_lines(account, carry) + [f"  note: {n}" for n in account.notes]
    command = "Per-deployment secrets: nimgen migrate-deployments --namespace {}"
    return lines + [command.format(ns) for ns in plan.migrate_namespaces]


def _allowlist_lines(account: AccountPlan, carry: Carry | None) -> list[str]:
    allowlist = account.allowlist
    if allowlist is None:
        return []
    if allowlist.problem is not None:
        return [_row("keep", "ConfigMap", allowlist.ref, f"allowlist {allowlist.problem}")]
    why = f"allowlist of {len(allowlist.models)} model(s), saved in the backup"
    lines = [_row("keep", "ConfigMap", allowlist.ref, why)]
    if carry is None:
        lines.append(f"    carry it over as a custom ConfigMap: add {CARRY_FLAG}")
    elif carry.problem is not None:
        lines.append(f"    not carried over: {carry.problem}")
    if carry is not None and carry.unmatched:
        lines.append(f"    not in the catalog, left out: {', '.join(carry.unmatched)}")
    return lines


def _ref_json(ref: Ref, **more: object) -> JsonObject:
    return {"kind": ref.resource.kind, "namespace": ref.namespace, "name": ref.name, **more}


def _carry_json(carry: Carry) -> JsonObject:
    return {
        "account": f"{carry.account.namespace}/{carry.account.name}",
        "configMap": f"{carry.target.namespace}/{carry.target.name}",
        "models": list(carry.models),
        "notInCatalog": list(carry.unmatched),
        "catalogSource": carry.source,
        "create": carry.configmap is not None,
        "patchDashboard": carry.patch_dashboard,
        "problem": carry.problem,
    }


def _account_json(account: AccountPlan, carry: Carry | None) -> JsonObject:
    steps = [
        _ref_json(s.ref, action=s.action, owned=s.owner_index is not None, usedBy=list(s.users))
        for s in account.steps
    ]
    allowlist = account.allowlist and _ref_json(
        account.allowlist.ref,
        models=list(account.allowlist.models),
        problem=account.allowlist.problem,
        carryOver=carry and _carry_json(carry),
        carryCommand=None if carry else f"nimgen cleanup --apply {CARRY_FLAG}",
    )
    return _ref_json(
        account.account,
        finalizer=account.has_finalizer,
        otherFinalizers=[f for f in account.finalizers if f != FINALIZER],
        beingDeleted=account.being_deleted,
        steps=steps,
        allowlist=allowlist,
        notes=list(account.notes),
    )


def plan_json(plan: CleanupPlan, carries: dict[Ref, Carry]) -> JsonObject:
    return {
        "nothingToDo": plan.nothing_to_do,
        "accounts": [_account_json(a, carries.get(a.account)) for a in plan.accounts],
        "keysLeft": [_ref_json(s.ref) for s in plan.keys_left],
        "migrateNamespaces": list(plan.migrate_namespaces),
    }
