"""What the Account era left on a cluster, and what ``cleanup`` would do about it.

Facts from the removed controller (odh-model-controller, ``internal/controller/nim``):
for each ``Account`` it made ``<account>-cm``, ``<account>-template`` and
``<account>-pull`` in the Account's namespace, each with a controller owner
reference to the Account and pointed at from ``status.nimConfig``,
``status.runtimeTemplate`` and ``status.nimPullSecret``; it put the finalizer
``runtimes.opendatahub.io/nim-cleanup-finalizer`` on the Account, which only it
removed. The dashboard made the key Secret the Account names in
``spec.apiKeySecret`` (``nvidia-nim-access``); the admin may have named an allowlist
ConfigMap in ``spec.modelListConfig`` (``data.models``, a JSON list of names).

The plan deletes an object only when it carries an owner reference to the Account's
uid (a same-named object someone else made is kept and reported), plus the key
Secret the Account names. Everything is read by name: no list of Secrets is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    SECRET,
    TEMPLATE,
    JsonObject,
    Kubectl,
    Ref,
    Resource,
)
from nimgen.cluster.secretdata import protect
from nimgen.cluster.usage import ProjectUsage, RuntimeUse

FINALIZER = "runtimes.opendatahub.io/nim-cleanup-finalizer"
# Set by the API server on a delete with the Orphan policy; the garbage collector removes it.
ORPHAN_FINALIZER = "orphan"
# (kind, what it was, name suffix, the status field that points at it)
OWNED_KINDS: tuple[tuple[Resource, str, str, str], ...] = (
    (CONFIGMAP, "model ConfigMap", "-cm", "nimConfig"),
    (TEMPLATE, "ServingRuntime Template", "-template", "runtimeTemplate"),
    (SECRET, "image pull Secret", "-pull", "nimPullSecret"),
)


@dataclass(frozen=True)
class Owned:
    ref: Ref
    role: str


@dataclass(frozen=True)
class Allowlist:
    """The admin's ``spec.modelListConfig``: kept on the cluster, carried over on request."""

    ref: Ref
    models: tuple[str, ...] = ()
    problem: str | None = None  # why it cannot be carried over (missing, not a JSON list)


@dataclass(frozen=True)
class AccountPlan:
    account: Ref
    has_finalizer: bool
    other_finalizers: tuple[str, ...]
    being_deleted: bool
    owned: tuple[Owned, ...]
    api_key: Ref | None  # the key Secret, when it exists
    keep_api_key: bool
    allowlist: Allowlist | None
    notes: tuple[str, ...] = ()

    @property
    def deletions(self) -> tuple[Ref, ...]:
        """What ``--apply`` deletes before the Account itself, in order."""
        refs = [o.ref for o in self.owned]
        if self.api_key is not None and not self.keep_api_key:
            refs.append(self.api_key)
        return tuple(refs)


@dataclass
class CleanupPlan:
    accounts: tuple[AccountPlan, ...]
    kept_runtimes: tuple[RuntimeUse, ...]
    # Every object --apply deletes (and the allowlists), as read: what the backup holds.
    # Secrets are already protected (values registered, and dropped unless kept).
    documents: dict[Ref, JsonObject] = field(default_factory=dict)
    accounts_served: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return not self.accounts


def settling(document: JsonObject) -> bool:
    """Deleted, with at most the garbage collector's ``orphan`` finalizer left: it is
    going away on its own, nothing is left for nimgen to do."""
    metadata = document.get("metadata") or {}
    finalizers = set(metadata.get("finalizers") or [])
    return bool(metadata.get("deletionTimestamp")) and finalizers <= {ORPHAN_FINALIZER}


def _reference(node: object, default_namespace: str) -> tuple[str, str] | None:
    """(namespace, name) of an ObjectReference field, the namespace defaulting as the
    controller defaulted it."""
    if not isinstance(node, dict) or not isinstance(node.get("name"), str) or not node["name"]:
        return None
    namespace = node.get("namespace")
    return (namespace if isinstance(namespace, str) and namespace else default_namespace), node[
        "name"
    ]


def _owned_by(document: JsonObject, uid: str) -> bool:
    owners = (document.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(o, dict) and o.get("uid") == uid for o in owners)


def _models_of(document: JsonObject) -> tuple[tuple[str, ...], str | None]:
    text = (document.get("data") or {}).get("models")
    if not isinstance(text, str):
        return (), "has no data.models"
    try:
        names = json.loads(text)
    except json.JSONDecodeError:
        return (), "data.models is not JSON"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return (), "data.models is not a JSON list of names"
    return tuple(sorted(set(names))), None


class _Planner:
    def __init__(self, kube: Kubectl, *, keep_api_key: bool, backup_secrets: bool) -> None:
        self.kube = kube
        self.keep_api_key = keep_api_key
        self.backup_secrets = backup_secrets
        self.documents: dict[Ref, JsonObject] = {}
        self.cache: dict[tuple[str, Resource, str], JsonObject | None] = {}

    def prefetch(self, wanted: list[tuple[str, Resource, str]]) -> None:
        """Read every candidate of an Account with one kubectl call per namespace."""
        for namespace in sorted({w[0] for w in wanted}):
            pairs = [(r, n) for ns, r, n in wanted if ns == namespace]
            found = self.kube.get_many(namespace, pairs)
            for resource, name in pairs:
                self.cache[(namespace, resource, name)] = found.get((resource, name))

    def read(self, resource: Resource, namespace: str, name: str) -> JsonObject | None:
        key = (namespace, resource, name)
        if key in self.cache:
            document = self.cache[key]
        else:
            document = self.kube.get(resource, name, namespace)
        if document is not None and resource == SECRET:
            document = protect(document, keep_values=self.backup_secrets)
        return document

    def keep(self, resource: Resource, document: JsonObject) -> Ref:
        ref = Ref.of(resource, document)
        self.documents[ref] = document
        return ref

    def account(self, document: JsonObject) -> AccountPlan:
        metadata = document["metadata"]
        namespace, name, uid = metadata["namespace"], metadata["name"], metadata["uid"]
        spec, status = document.get("spec") or {}, document.get("status") or {}
        account = self.keep(ACCOUNT, document)
        notes: list[str] = []
        owned: list[Owned] = []
        candidates: dict[Resource, set[str]] = {}
        for resource, _role, suffix, status_field in OWNED_KINDS:
            names = candidates.setdefault(resource, {name + suffix})
            pointed = _reference(status.get(status_field), namespace)
            if pointed is not None and pointed[0] != namespace:
                notes.append(
                    f"status.{status_field} points to {pointed[0]}/{pointed[1]}, outside the "
                    "Account's namespace: not owned by it, kept"
                )
            elif pointed is not None:
                names.add(pointed[1])
        key_ref = _reference(spec.get("apiKeySecret"), namespace)
        list_ref = _reference(spec.get("modelListConfig"), namespace)
        wanted = [(namespace, r, n) for r, names in candidates.items() for n in names]
        if key_ref is not None:
            wanted.append((key_ref[0], SECRET, key_ref[1]))
        if list_ref is not None:
            wanted.append((list_ref[0], CONFIGMAP, list_ref[1]))
        self.prefetch(wanted)
        for resource, role, _suffix, _field in OWNED_KINDS:
            for candidate in sorted(candidates[resource]):
                found = self.read(resource, namespace, candidate)
                if found is None:
                    continue
                if _owned_by(found, uid):
                    owned.append(Owned(self.keep(resource, found), role))
                else:
                    notes.append(
                        f"{resource.kind} {namespace}/{candidate} has no owner reference to "
                        "the Account (someone else made it): kept"
                    )
        api_key: Ref | None = None
        if key_ref is not None:
            found = self.read(SECRET, *key_ref)
            if found is not None:
                api_key = Ref.of(SECRET, found) if self.keep_api_key else self.keep(SECRET, found)
        allowlist: Allowlist | None = None
        if list_ref is not None:
            found = self.read(CONFIGMAP, *list_ref)
            if found is None:
                allowlist = Allowlist(
                    Ref(list_ref[0], list_ref[1], CONFIGMAP), problem="does not exist"
                )
            else:
                models, problem = _models_of(found)
                allowlist = Allowlist(self.keep(CONFIGMAP, found), models, problem)
        finalizers = tuple(str(f) for f in metadata.get("finalizers") or ())
        return AccountPlan(
            account=account,
            has_finalizer=FINALIZER in finalizers,
            other_finalizers=tuple(f for f in finalizers if f != FINALIZER),
            being_deleted=bool(metadata.get("deletionTimestamp")),
            owned=tuple(owned),
            api_key=api_key,
            keep_api_key=self.keep_api_key,
            allowlist=allowlist,
            notes=tuple(notes),
        )


def plan_cleanup(
    kube: Kubectl,
    usage: ProjectUsage,
    *,
    namespace: str | None = None,
    keep_api_key: bool = False,
    backup_secrets: bool = False,
) -> CleanupPlan:
    """Read every Account (in ``namespace``, or everywhere) and plan its retirement."""
    planner = _Planner(kube, keep_api_key=keep_api_key, backup_secrets=backup_secrets)
    found = kube.objects_if_served(ACCOUNT, namespace)
    notes = []
    if found is None:
        notes.append("the cluster does not serve the Account kind (accounts.nim.opendatahub.io)")
    accounts = tuple(planner.account(a) for a in found or () if not settling(a))
    notes.extend(
        f"Account {a['metadata']['namespace']}/{a['metadata']['name']} is being removed by "
        "the garbage collector: nothing left to do"
        for a in found or ()
        if settling(a)
    )
    if not usage.runtimes_served:
        notes.append("the cluster does not serve ServingRuntimes: no user project was checked")
    return CleanupPlan(
        accounts=accounts,
        kept_runtimes=usage.legacy_runtimes(),
        documents=planner.documents,
        accounts_served=found is not None,
        notes=notes,
    )
