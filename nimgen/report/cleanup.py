"""How ``cleanup`` shows its plan, what ``--apply`` and ``--restore`` did, and its ``--json``.

Names only: no Secret value is part of a plan (the values were never kept, or are
registered for redaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from nimgen.cluster.accounts import FINALIZER, AccountPlan, CleanupPlan, Step
from nimgen.cluster.allowlist import Carry
from nimgen.cluster.cleanup import Event
from nimgen.cluster.kube import JsonObject, Ref
from nimgen.cluster.reader import DASHBOARD_NAME

CARRY_FLAG = "--carry-allowlist"
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
}


def events(done: Iterable[Event]) -> list[str]:
    return [EVENTS[what].format(subject) for what, subject in done]


def _where(ref: Ref) -> str:
    return f"{ref.namespace}/{ref.name}"


def _row(action: str, kind: str, where: str, why: str = "") -> str:
    return f"  {action:<8} {kind:<18} {where:<52} {why}".rstrip()


def _users(step: Step) -> str:
    shown = ", ".join(step.users[:4]) + (
        f" and {len(step.users) - 4} more" if len(step.users) > 4 else ""
    )
    return f"used by {shown}" if step.users else "--keep-api-key-secret"


def _why(step: Step) -> str:
    what = (
        "owned by the Account"
        if step.owner_index is not None
        else "the NGC API key (spec.apiKeySecret)"
    )
    if step.action == "delete":
        return f"{what}, unused"
    return f"KEPT, {_users(step)}" + (
        "; its owner reference is removed" if step.action == "unown" else ""
    )


def key_warnings(plan: CleanupPlan) -> list[str]:
    """Said loudly, in the plan and the summary: every NGC key that stays on the cluster."""
    return [
        f"the NGC key stays in {s.ref} ({_users(s)}): it is deleted only once nothing names it"
        for a in plan.accounts
        for s in a.steps
        if s.key_stays
    ]


def plan_lines(plan: CleanupPlan, carries: dict[Ref, Carry], carrying: bool) -> list[str]:
    """The plan as a table, one line per action, in the order ``--apply`` takes them."""
    lines = [] if plan.accounts else ["No Account is left on this cluster: nothing to clean up."]
    for account in plan.accounts:
        ref = account.account
        lines.append(f"Account {_where(ref)}:")
        carry = carries.get(ref)
        if carrying and carry is not None and carry.problem is None:
            if carry.configmap is not None:
                why = f"{len(carry.models)} allowlisted models, from {carry.source}"
                lines.append(_row("create", "ConfigMap", _where(carry.target), why))
            if carry.patch_dashboard:
                where = f"{ref.namespace}/{DASHBOARD_NAME}"
                lines.append(
                    _row(
                        "patch",
                        "OdhDashboardConfig",
                        where,
                        f"customConfigMap: {carry.target.name}",
                    )
                )
        lines += [
            _row(s.action, s.ref.resource.kind, _where(s.ref), _why(s)) for s in account.steps
        ]
        if account.has_finalizer:
            lines.append(_row("clear", "finalizer", FINALIZER))
        if others := [f for f in account.finalizers if f != FINALIZER]:
            lines.append(
                _row(
                    "wait", "finalizers", ", ".join(others), "not nimgen's: their owner clears them"
                )
            )
        why = "already being deleted; " if account.being_deleted else ""
        lines.append(
            _row("delete", "Account", _where(ref), why + "Orphan policy: nothing goes with it")
        )
        lines += _allowlist_lines(account, carry, carrying)
        lines += [f"  note: {note}" for note in account.notes]
    lines += [
        f"Per-deployment secrets: nimgen migrate-deployments --namespace {ns}"
        for ns in plan.migrate_namespaces
    ]
    return lines


def _allowlist_lines(account: AccountPlan, carry: Carry | None, carrying: bool) -> list[str]:
    allowlist = account.allowlist
    if allowlist is None:
        return []
    if allowlist.problem is not None:
        return [_row("keep", "ConfigMap", _where(allowlist.ref), f"allowlist {allowlist.problem}")]
    why = f"allowlist of {len(allowlist.models)} model(s), saved in the backup"
    lines = [_row("keep", "ConfigMap", _where(allowlist.ref), why)]
    if not carrying:
        lines.append(f"    carry it over as a custom ConfigMap: add {CARRY_FLAG}")
    elif carry is not None and carry.problem is not None:
        lines.append(f"    not carried over: {carry.problem}")
    if carrying and carry is not None and carry.unmatched:
        lines.append(f"    not in the catalog, left out: {', '.join(carry.unmatched)}")
    return lines


def _ref_json(ref: Ref) -> JsonObject:
    return {"kind": ref.resource.kind, "namespace": ref.namespace, "name": ref.name}


def plan_json(plan: CleanupPlan, carries: dict[Ref, Carry], carrying: bool) -> JsonObject:
    accounts = []
    for account in plan.accounts:
        allowlist = account.allowlist
        carry = carries.get(account.account)
        accounts.append(
            {
                **_ref_json(account.account),
                "finalizer": account.has_finalizer,
                "otherFinalizers": [f for f in account.finalizers if f != FINALIZER],
                "beingDeleted": account.being_deleted,
                "steps": [
                    {
                        **_ref_json(s.ref),
                        "action": s.action,
                        "owned": s.owner_index is not None,
                        "usedBy": list(s.users),
                    }
                    for s in account.steps
                ],
                "allowlist": None
                if allowlist is None
                else {
                    **_ref_json(allowlist.ref),
                    "models": list(allowlist.models),
                    "problem": allowlist.problem,
                    "carryOver": carry.as_json() if carry is not None and carrying else None,
                    "carryCommand": None if carrying else f"nimgen cleanup --apply {CARRY_FLAG}",
                },
                "notes": list(account.notes),
            }
        )
    return {
        "nothingToDo": plan.nothing_to_do,
        "accounts": accounts,
        "keysLeft": [_ref_json(s.ref) for a in plan.accounts for s in a.steps if s.key_stays],
        "migrateNamespaces": list(plan.migrate_namespaces),
    }
