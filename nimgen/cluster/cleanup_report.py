"""How ``cleanup`` shows its plan: a table for people (stderr), a document for ``--json``.

Only names are shown, never a value: Secret data is not part of any plan.
"""

from __future__ import annotations

from nimgen.cluster.allowlist import Carry
from nimgen.cluster.kube import JsonObject, Ref
from nimgen.cluster.legacy import FINALIZER, AccountPlan, CleanupPlan
from nimgen.cluster.reader import DASHBOARD_NAME

CARRY_FLAG = "--carry-allowlist"


def _ref_json(ref: Ref, **extra: object) -> JsonObject:
    return {"kind": ref.resource.kind, "namespace": ref.namespace, "name": ref.name, **extra}


def account_json(plan: AccountPlan, carry: Carry | None, carrying: bool) -> JsonObject:
    deletions = [_ref_json(o.ref, role=o.role) for o in plan.owned]
    if plan.api_key is not None and not plan.keep_api_key:
        deletions.append(_ref_json(plan.api_key, role="NGC API key Secret (spec.apiKeySecret)"))
    allowlist: JsonObject | None = None
    if plan.allowlist is not None:
        allowlist = {
            **_ref_json(plan.allowlist.ref, action="keep"),
            "models": list(plan.allowlist.models),
            "problem": plan.allowlist.problem,
            "carryOver": carry.as_json() if carry is not None and carrying else None,
            "carryCommand": None if carrying else f"nimgen cleanup --apply {CARRY_FLAG}",
        }
    return {
        **_ref_json(plan.account),
        "finalizer": plan.has_finalizer,
        "otherFinalizers": list(plan.other_finalizers),
        "beingDeleted": plan.being_deleted,
        "delete": deletions,
        "apiKeySecret": (
            _ref_json(plan.api_key, action="keep" if plan.keep_api_key else "delete")
            if plan.api_key is not None
            else None
        ),
        "allowlist": allowlist,
        "notes": list(plan.notes),
    }


def plan_json(plan: CleanupPlan, carries: dict[Ref, Carry], carrying: bool) -> JsonObject:
    return {
        "nothingToDo": plan.nothing_to_do,
        "accounts": [account_json(a, carries.get(a.account), carrying) for a in plan.accounts],
        "keptInUserProjects": [r.as_json() for r in plan.kept_runtimes],
        "notes": list(plan.notes),
    }


def _row(action: str, kind: str, where: str, why: str = "") -> str:
    return f"  {action:<8} {kind:<18} {where:<52} {why}".rstrip()


def plan_lines(plan: CleanupPlan, carries: dict[Ref, Carry], carrying: bool) -> list[str]:
    """The plan as a table, one line per action, in the order ``--apply`` takes them."""
    lines: list[str] = []
    if plan.nothing_to_do:
        lines.append("No Account is left on this cluster: nothing to clean up.")
    for account in plan.accounts:
        ref = account.account
        lines.append(f"Account {ref.namespace}/{ref.name}:")
        carry = carries.get(ref)
        if carrying and carry is not None and carry.problem is None:
            target = _where(carry.target)
            if carry.configmap is not None:
                why = f"{len(carry.models)} allowlisted models, from {carry.source}"
                lines.append(_row("create", "ConfigMap", target, why))
            if carry.patch_dashboard:
                where = f"{ref.namespace}/{DASHBOARD_NAME}"
                why = f"customConfigMap: {carry.target.name}"
                lines.append(_row("patch", "OdhDashboardConfig", where, why))
        for owned in account.owned:
            lines.append(_row("delete", owned.ref.resource.kind, _where(owned.ref), owned.role))
        if account.api_key is not None:
            action = "keep" if account.keep_api_key else "delete"
            why = "the NGC API key at rest" + (
                " (--keep-api-key-secret)" if account.keep_api_key else ""
            )
            lines.append(_row(action, "Secret", _where(account.api_key), why))
        if account.has_finalizer:
            lines.append(_row("clear", "finalizer", FINALIZER))
        if account.other_finalizers:
            others = ", ".join(account.other_finalizers)
            why = "not nimgen's: their owner clears them"
            lines.append(_row("wait", "finalizers", others, why))
        if account.being_deleted:
            lines.append(_row("(gone)", "Account", _where(ref), "already being deleted"))
        else:
            why = "dependents orphaned, not cascaded"
            lines.append(_row("delete", "Account", _where(ref), why))
        if account.allowlist is not None:
            lines.extend(_allowlist_lines(account, carry, carrying))
        lines.extend(f"  note: {note}" for note in account.notes)
    if plan.kept_runtimes:
        lines.append("Kept in users' projects (they serve running models; never deleted):")
        for use in plan.kept_runtimes:
            secrets = ", ".join(use.shared_secrets) or "none shared"
            deployments = ", ".join(use.deployments) or "none"
            why = f"secrets: {secrets}; deployments: {deployments}"
            lines.append(_row("keep", "ServingRuntime", f"{use.namespace}/{use.name}", why))
        namespaces = sorted({u.namespace for u in plan.kept_runtimes if u.shared_secrets})
        for namespace in namespaces:
            lines.append(
                f"  per-deployment secrets: nimgen migrate-deployments --namespace {namespace}"
            )
    lines.extend(f"note: {note}" for note in plan.notes)
    return lines


def _where(ref: Ref) -> str:
    return f"{ref.namespace}/{ref.name}"


def _allowlist_lines(account: AccountPlan, carry: Carry | None, carrying: bool) -> list[str]:
    allowlist = account.allowlist
    assert allowlist is not None
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
