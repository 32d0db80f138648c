"""What the Account era left, and what ``cleanup`` does about it (docs/upgrade.md).

Owned objects are found by owner uid, whatever their name (odh-model-controller's
``<account>-cm/-template/-pull``, before 72385a62 ``nvidia-nim-images-data``,
``-serving-template``, ``-image-pull``). Each, and the key Secret, is deleted when nothing
names it (``refs``; Accounts retired in the same run are no users), else kept: an owned
one without its owner reference."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    SECRET,
    SERVING_RUNTIME,
    TEMPLATE,
    JsonObject,
    Kubectl,
    Ref,
)
from nimgen.cluster.refs import ACCOUNT_FIELDS, References, account_pointer, read_users
from nimgen.cluster.secretdata import SHARED_SECRETS, protect

FINALIZER = "runtimes.opendatahub.io/nim-cleanup-finalizer"
OWNED_KINDS = (CONFIGMAP, SECRET, TEMPLATE)
STATUS_POINTERS = tuple(name for section, name, _ in ACCOUNT_FIELDS if section == "status")


@dataclass(frozen=True)
class Step:
    """One object an Account leaves: its owned objects and its key Secret."""

    ref: Ref
    owner_index: int | None  # where its owner reference to the Account sits; None: not owned
    users: tuple[str, ...] = ()  # who names it (other than Accounts being retired)
    forced: bool = False  # --keep-api-key-secret

    @property
    def action(self) -> str:
        """``delete``; ``unown`` (kept, its owner reference removed); ``keep``."""
        if not (self.users or self.forced):
            return "delete"
        return "keep" if self.owner_index is None else "unown"

    @property
    def key_stays(self) -> bool:
        return self.ref.resource == SECRET and self.action != "delete"


@dataclass(frozen=True)
class Allowlist:
    """The admin's ``spec.modelListConfig``: kept on the cluster, carried over on request."""

    ref: Ref
    models: tuple[str, ...] = ()
    problem: str | None = None  # why it cannot be carried over


@dataclass(frozen=True)
class AccountPlan:
    account: Ref
    finalizers: tuple[str, ...]
    being_deleted: bool
    steps: tuple[Step, ...]
    allowlist: Allowlist | None = None
    notes: tuple[str, ...] = ()

    @property
    def has_finalizer(self) -> bool:
        return FINALIZER in self.finalizers


@dataclass
class CleanupPlan:
    accounts: tuple[AccountPlan, ...]
    # What the backup holds: every object --apply deletes, and the allowlists. Secrets
    # are protected (values registered for redaction, dropped unless backed up).
    documents: dict[Ref, JsonObject] = field(default_factory=dict)
    migrate_namespaces: tuple[str, ...] = ()  # projects whose runtimes use shared secrets

    @property
    def nothing_to_do(self) -> bool:
        return not self.accounts

    @property
    def keys_left(self) -> list[Step]:
        """The NGC keys that stay on the cluster: said loudly."""
        return [s for a in self.accounts for s in a.steps if s.key_stays]


def owner_index(document: JsonObject, uid: str) -> int | None:
    owners = document["metadata"].get("ownerReferences") or []
    return next((i for i, owner in enumerate(owners) if owner.get("uid") == uid), None)


def models_of(document: JsonObject) -> tuple[tuple[str, ...], str | None]:
    text = (document.get("data") or {}).get("models")
    try:
        names = json.loads(text) if isinstance(text, str) else None
    except json.JSONDecodeError:
        return (), "data.models is not JSON"
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return (), "has no data.models list of names"
    return tuple(sorted(set(names))), None


@dataclass
class _Planner:
    kube: Kubectl
    refs: References
    retiring: frozenset[str]  # the Accounts retired in this run: they are no users
    keep_key: bool
    backup_secrets: bool
    scope: tuple[str, ...] | None
    listed: dict[str, list[tuple[Ref, JsonObject]]] = field(default_factory=dict)
    documents: dict[Ref, JsonObject] = field(default_factory=dict)

    def namespace(self, namespace: str) -> list[tuple[Ref, JsonObject]]:
        """The kinds an Account may own, in its namespace (read once per namespace). The
        values of Secrets nimgen does not delete are never used, nor registered: names
        (a service account token holds its namespace's) must stay readable."""
        if namespace not in self.listed:
            listed = self.kube.served(OWNED_KINDS, namespace)
            self.listed[namespace] = [(Ref.of(r, d), d) for r, d in listed]
        return self.listed[namespace]

    def find(self, ref: Ref) -> tuple[Ref, JsonObject] | None:
        if ref.namespace not in self.listed:
            document = self.kube.get(ref.resource, ref.name, ref.namespace)
            return None if document is None else (Ref.of(ref.resource, document), document)
        same = (
            (r, d)
            for r, d in self.listed[ref.namespace]
            if (r.resource, r.name) == (ref.resource, ref.name)
        )
        return next(same, None)

    def step(self, ref: Ref, document: JsonObject, uid: str, *, forced: bool = False) -> Step:
        step = Step(
            ref, owner_index(document, uid), self.refs.of_object(ref, self.retiring), forced
        )
        if step.action == "delete" and ref.resource == SECRET:  # its values registered first
            document = protect(document, keep_values=self.backup_secrets)
        if step.action == "delete":  # into the backup
            self.documents[ref] = document
        return step

    def account(self, document: JsonObject) -> AccountPlan:
        account = Ref.of(ACCOUNT, document)
        self.documents[account] = document
        steps = [
            self.step(r, d, account.uid)
            for r, d in self.namespace(account.namespace)
            if owner_index(d, account.uid) is not None
        ]
        notes = []
        owned = {(s.ref.namespace, s.ref.name) for s in steps}
        for pointer_field in STATUS_POINTERS:
            pointer = account_pointer(document, "status", pointer_field)
            if pointer is not None and pointer not in owned:
                notes.append(
                    f"status.{pointer_field} names {'/'.join(pointer)}, not owned by it: kept"
                )
        key = account_pointer(document, "spec", "apiKeySecret")
        if key and self.scope and key[0] not in self.scope:  # who uses it there is unread
            notes.append(f"the key Secret {key[0]}/{key[1]} is outside --namespace: kept")
            key = None
        found = self.find(Ref(*key, SECRET)) if key else None
        if found is not None and not any(s.ref == found[0] for s in steps):
            steps.append(self.step(*found, account.uid, forced=self.keep_key))
        return AccountPlan(
            account=account,
            finalizers=tuple(document["metadata"].get("finalizers") or ()),
            being_deleted=bool(document["metadata"].get("deletionTimestamp")),
            steps=tuple(steps),
            allowlist=self.allowlist(document),
            notes=tuple(notes),
        )

    def allowlist(self, document: JsonObject) -> Allowlist | None:
        pointer = account_pointer(document, "spec", "modelListConfig")
        if pointer is None:
            return None
        found = self.find(Ref(*pointer, CONFIGMAP))
        if found is None:
            return Allowlist(Ref(*pointer, CONFIGMAP), problem="does not exist")
        self.documents[found[0]] = found[1]
        return Allowlist(found[0], *models_of(found[1]))


def plan_cleanup(
    kube: Kubectl,
    scope: tuple[str, ...] | None,
    *,
    keep_api_key: bool = False,
    backup_secrets: bool = False,
) -> CleanupPlan:
    """Read every Account in ``scope`` (every namespace when None) and plan its retirement."""
    users = read_users(kube, scope)
    refs = References.of(users)
    accounts = [d for r, d in users if r == ACCOUNT]
    retiring = frozenset(str(Ref.of(ACCOUNT, a)) for a in accounts)
    planner = _Planner(kube, refs, retiring, keep_api_key, backup_secrets, scope)
    plans = tuple(planner.account(a) for a in accounts)
    migrate = {
        namespace
        for (kind, namespace, name), named in refs.users.items()
        if kind == SECRET
        and name in SHARED_SECRETS
        and any(u.startswith(SERVING_RUNTIME.kind) for u in named)
    }
    return CleanupPlan(plans, planner.documents, tuple(sorted(migrate)))
