"""``cleanup``: what the Account era left, and its retirement (docs/upgrade.md).

Owned objects are found by owner uid, whatever their name (odh-model-controller's
``<account>-cm/-template/-pull``, before 72385a62 ``nvidia-nim-images-data``,
``-serving-template``, ``-image-pull``). Each, and the key Secret, is deleted when nothing
names it (``refs``; Accounts retired in the same run are no users), else kept: an owned
one without its owner reference. ``--apply`` checks rights, writes the backup, then per
Account deletes (uid precondition, Orphan policy) or unowns each, and only then clears the
finalizer and deletes the Account; each step tolerates one already done, so a re-run
after any interruption finishes the job."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen.cluster.backup import read_backup, render_backup, write_backup
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    DASHBOARD_CONFIG,
    DASHBOARD_NAME,
    FINALIZER,
    SECRET,
    SERVING_RUNTIME,
    TEMPLATE,
    Event,
    JsonObject,
    Kubectl,
    KubeError,
    Need,
    Ref,
    check_permissions,
    dashboard_patch,
    guarded_removal,
)
from nimgen.cluster.refs import ACCOUNT_FIELDS, References, account_pointer, read_users
from nimgen.cluster.secretdata import SHARED_SECRETS, protect
from nimgen.errors import RunFailed

if TYPE_CHECKING:
    from nimgen.cluster.allowlist import Carry

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


@dataclass(frozen=True)
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
        steps = (s for a in self.accounts for s in a.steps)
        return [s for s in steps if s.ref.resource == SECRET and s.action != "delete"]


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
        wanted = (ref.resource, ref.name)
        listed = self.listed[ref.namespace]
        return next(((r, d) for r, d in listed if (r.resource, r.name) == wanted), None)

    def step(self, ref: Ref, document: JsonObject, uid: str, *, forced: bool = False) -> Step:
        users = self.refs.of_object(ref, self.retiring)
        step = Step(ref, owner_index(document, uid), users, forced)
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
                where = "/".join(pointer)
                notes.append(f"status.{pointer_field} names {where}, not owned by it: kept")
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
    kube: Kubectl, scope: tuple[str, ...] | None, *, keep_api_key: bool, backup_secrets: bool
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


GONE_TIMEOUT_SECONDS = 60.0


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
            guard = guarded_removal(step.ref.uid, path, f"{path}/uid", plan.account.uid)
            kube.patch(step.ref, guard)
            outcome.events.append(("unowned", str(step.ref)))
    if plan.has_finalizer and clear_finalizer(kube, plan.account):
        outcome.events.append(("finalizer", str(plan.account)))
    # Also when it is already being deleted: the Orphan policy then replaces a cascade.
    outcome.events.append(("deleted" if kube.delete(plan.account) else "gone", str(plan.account)))
    _wait_gone(kube, plan.account)


def apply_cleanup(kube: Kubectl, plan: CleanupPlan, carries: list[Carry], backup: Path) -> Outcome:
    """Carry out ``plan``: permissions, backup, carry-over, then each Account in turn."""
    check_permissions(kube, permissions_needed(plan, carries))
    deleted = {s.ref for a in plan.accounts for s in a.steps if s.action == "delete"}
    deleted |= {a.account for a in plan.accounts}
    write_backup(backup, render_backup(plan.documents, frozenset(deleted)))
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


def restore(kube: Kubectl, directory: Path) -> tuple[list[Event], list[str]]:
    """Create every object of a backup that does not exist; the Secrets saved without values
    are returned (they cannot be)."""
    objects, omitted = read_backup(directory)
    check_permissions(kube, sorted({Need("create", r.resource, r.namespace) for r, _ in objects}))
    done = [
        ("restored" if kube.create(document) else "existed", str(ref)) for ref, document in objects
    ]
    return done, omitted
