"""``cleanup --carry-allowlist``: an Account's allowlist (``spec.modelListConfig``) as a custom
ConfigMap of just those models, rendered as ``nimgen airgap`` renders one (every tag), from
the shipped ConfigMap the reader picks (or ``--from``), and the OdhDashboardConfig's
``nimConfig.customConfigMap`` pointed at it. Opt-in: it freezes the offered models."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from nimgen.airgap.plan import Mirror, TagChoice, plan_airgap
from nimgen.airgap.render import render_custom_configmap
from nimgen.cluster.kube import (
    CONFIGMAP,
    DASHBOARD_CONFIG,
    DASHBOARD_NAME,
    JsonObject,
    Kubectl,
    Ref,
    custom_configmap,
)
from nimgen.cluster.reader import judge, labelled_configmaps, pick
from nimgen.errors import BadInput
from nimgen.selection import Selection
from nimgen.snapshot import Loaded, configmap_models

if TYPE_CHECKING:
    from nimgen.cluster.cleanup import AccountPlan

# plan_airgap names mirror images; a carried-over ConfigMap uses none of them.
_NO_MIRROR = Mirror("mirror.invalid")


@dataclass(frozen=True)
class Carry:
    """What carrying one Account's allowlist over does (or why it cannot)."""

    account: Ref
    target: Ref  # the custom ConfigMap
    models: tuple[str, ...] = ()  # carried over
    unmatched: tuple[str, ...] = ()  # in the allowlist, not in the catalog source
    source: str = ""
    configmap: JsonObject | None = None  # None when it already exists as rendered
    patch_dashboard: bool = False
    problem: str | None = None


def _catalog(kube: Kubectl, namespace: str, given: Loaded | None) -> tuple[Loaded, str]:
    if given is not None:
        return given, str(given.path)
    documents = {d["metadata"]["name"]: d for d in labelled_configmaps(kube, namespace)}
    chosen = pick([judge(d) for d in documents.values()])
    if chosen is None:
        raise BadInput(
            f"no shipped NIM model ConfigMap in {namespace} to take the models from; "
            "give one with --from (a snapshot, ConfigMap or tree)"
        )
    loaded = configmap_models(Path(f"{namespace}/{chosen.name}"), [documents[chosen.name]])
    return loaded, f"ConfigMap {namespace}/{chosen.name} (revision {chosen.revision})"


def plan_carry(kube: Kubectl, plan: AccountPlan, name: str, catalog: Loaded | None) -> Carry | None:
    """How ``plan``'s allowlist would be carried over; None when it has none. The models
    come from ``catalog`` (``--from``, read by the caller) or the cluster's shipped
    ConfigMap."""
    allowlist = plan.allowlist
    if allowlist is None:
        return None
    namespace = plan.account.namespace
    target = Ref(namespace, name, CONFIGMAP)
    if allowlist.problem is not None:
        return Carry(plan.account, target, problem=f"{allowlist.ref} {allowlist.problem}")
    try:
        loaded, source = _catalog(kube, namespace, catalog)
        if not set(allowlist.models) & {m.record.name for m in loaded.models}:
            problem = f"none of its {len(allowlist.models)} model(s) is in {source}"
            return Carry(plan.account, target, unmatched=allowlist.models, problem=problem)
        airgap = plan_airgap(
            loaded,
            mirror=_NO_MIRROR,
            selection=Selection(include=allowlist.models),
            tags=TagChoice(kind="all"),
            name=name,
            namespace=namespace,
        )
    except BadInput as err:
        return Carry(plan.account, target, problem=err.message)
    models = tuple(r.name for r in airgap.records)
    carry = Carry(plan.account, target, models, airgap.unmatched_patterns, source)
    document = yaml.safe_load(render_custom_configmap(airgap).text)
    existing = kube.get(CONFIGMAP, name, namespace)
    if existing is not None and existing.get("data") != document.get("data"):
        return replace(carry, problem=f"{target} exists with other models: not overwritten")
    dashboard = kube.get(DASHBOARD_CONFIG, DASHBOARD_NAME, namespace)
    if dashboard is None:
        return replace(carry, problem=f"no OdhDashboardConfig {namespace}/{DASHBOARD_NAME}")
    current = ((dashboard.get("spec") or {}).get("nimConfig") or {}).get("customConfigMap")
    wanted = custom_configmap(target.name, target.namespace)
    if current and current != wanted:
        return replace(carry, problem=f"the dashboard already uses custom ConfigMap {current}")
    configmap = document if existing is None else None
    return replace(carry, configmap=configmap, patch_dashboard=current != wanted)
