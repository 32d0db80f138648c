"""``migrate-deployments``: from the shared per-project Secrets to per-deployment ones.

Per deployment still on ``nvidia-nim-secrets`` / ``ngc-secret``: create
``nim-api-key-<deployment>`` and ``nim-image-pull-<deployment>`` (an existing one kept) and
point its runtime at them (the env var found by name; one JSON patch guarded by ``test``
ops), which KServe answers by rolling the predictor. A shared Secret goes, after its
backup, once a fresh read finds nothing naming it (``nimgen.cluster.refs``): old pods do
until replaced, so a later run finishes the job. The key: ``--api-key-file``,
``$NGC_API_KEY``, or a personal key in ``nvidia-nim-secrets``.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nimgen.apikey import PERSONAL_KEY_PREFIX
from nimgen.cluster.backup import render_backup, write_backup
from nimgen.cluster.kube import (
    INFERENCE_SERVICE,
    SECRET,
    SERVING_RUNTIME,
    Event,
    JsonObject,
    Kubectl,
    Need,
    Ref,
    Resource,
    check_permissions,
    patch_op,
    place,
)
from nimgen.cluster.refs import References, read_users
from nimgen.cluster.secretdata import (
    KEY_ENV,
    SHARED_KEY_SECRET,
    SHARED_PULL_SECRET,
    SHARED_SECRETS,
    decode,
    new_secret,
    protect,
)

KEY_SECRET = "nim-api-key-{}"
PULL_SECRET = "nim-image-pull-{}"
GPU = "nvidia.com/gpu"
NIM_RUNTIME_ANNOTATION = "runtimes.opendatahub.io/nvidia-nim"
RESTART_ANNOTATION = "nimgen.opendatahub.io/restarted-at"
CREATED_FOR_ANNOTATION = "nimgen.opendatahub.io/created-for"
Place = tuple[str, str]  # (namespace, name)


def runtime_of(service: JsonObject) -> str | None:
    """The ServingRuntime an InferenceService names (KServe's ``predictor.model.runtime``)."""
    model = ((service.get("spec") or {}).get("predictor") or {}).get("model") or {}
    runtime = model.get("runtime")
    return runtime if isinstance(runtime, str) and runtime else None


def runtime_patch(runtime: JsonObject, deployment: str) -> list[JsonObject]:
    """The JSON patch moving ``runtime`` to ``deployment``'s own Secrets (empty: none needed),
    each change guarded by ``test`` ops on the uid and on what it replaces."""
    spec = runtime.get("spec") or {}
    ops: list[JsonObject] = []
    for c, container in enumerate(spec.get("containers") or []):
        for e, env in enumerate(container.get("env") or []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if env.get("name") == KEY_ENV and ref.get("name") == SHARED_KEY_SECRET:
                path = f"/spec/containers/{c}/env/{e}"
                key_ref = f"{path}/valueFrom/secretKeyRef"
                ops += [
                    patch_op("test", f"{path}/name", KEY_ENV),
                    patch_op("test", f"{key_ref}/name", SHARED_KEY_SECRET),
                    patch_op("replace", f"{key_ref}/name", KEY_SECRET.format(deployment)),
                    patch_op("add", f"{key_ref}/key", KEY_ENV),
                ]
    for p, pull in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(pull, dict) and pull.get("name") == SHARED_PULL_SECRET:
            path = f"/spec/imagePullSecrets/{p}/name"
            ops += [
                patch_op("test", path, SHARED_PULL_SECRET),
                patch_op("replace", path, PULL_SECRET.format(deployment)),
            ]
    return [patch_op("test", "/metadata/uid", runtime["metadata"]["uid"]), *ops] if ops else []


def patched(document: JsonObject, ops: Sequence[JsonObject]) -> JsonObject:
    """``document`` after the replace/add ops of ``runtime_patch``."""
    result = copy.deepcopy(document)
    for op in ops:
        if op["op"] in ("replace", "add"):
            *parents, last = op["path"].strip("/").split("/")
            node: Any = result
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            node[int(last) if isinstance(node, list) else last] = op["value"]
    return result


def gpus_of(service: JsonObject, runtime: JsonObject) -> int | None:
    """The GPUs a predictor holds: the InferenceService's, else the runtime's containers'."""
    model = ((service.get("spec") or {}).get("predictor") or {}).get("model") or {}
    sources = [model.get("resources")] + [
        c.get("resources") for c in (runtime.get("spec") or {}).get("containers") or []
    ]
    for resources in sources:
        for section in ("limits", "requests"):
            value = str(((resources or {}).get(section) or {}).get(GPU))
            if value.isdecimal():
                return int(value)
    return None


@dataclass(frozen=True)
class Deployment:
    namespace: str
    name: str  # the InferenceService
    runtime: str | None
    ops: tuple[JsonObject, ...] = ()
    creates: tuple[str, ...] = ()  # its Secrets, of KEY_SECRET and PULL_SECRET, to create
    gpus: int | None = None  # what the predictor holds: its roll borrows as many again
    problem: str | None = None  # why it is skipped

    @property
    def has_work(self) -> bool:
        return self.problem is None and bool(self.ops or self.creates)


@dataclass(frozen=True)
class SharedSecret:
    """One of a project's shared Secrets, and what still names it once the plan is done."""

    ref: Ref
    users: tuple[str, ...]


@dataclass(frozen=True)
class MigrationPlan:
    deployments: tuple[Deployment, ...]
    shared: tuple[SharedSecret, ...]
    keys: dict[str, str] = field(repr=False)  # namespace -> key
    key_sources: dict[str, str]  # namespace -> where from
    documents: dict[Ref, JsonObject]  # the shared Secrets

    @property
    def nothing_to_do(self) -> bool:
        pending = any(d.has_work or d.problem for d in self.deployments)
        return not pending and all(s.users for s in self.shared)


def shared_key(document: JsonObject | None, where: str) -> tuple[str | None, str]:
    """The personal key in a project's shared Secret, or None and why not. Its values are
    registered for redaction already: ``plan_migration`` protects every shared Secret."""
    data = (document or {}).get("data") or {}
    value = (decode(data.get(KEY_ENV)) or "").strip()
    if not value:
        return None, f"no key given and no {KEY_ENV} in a Secret {where} to reuse"
    if not value.startswith(PERSONAL_KEY_PREFIX):
        return None, (
            f"the key in {where} is a legacy key, not a personal one ({PERSONAL_KEY_PREFIX}...): "
            "nimgen does not reuse it; give a personal key with --api-key-file or $NGC_API_KEY"
        )
    return value, f"reused from {where} (a personal key)"


def _deployment(
    service: JsonObject, runtimes: dict[Place, JsonObject], sharing: Counter[Place]
) -> Deployment:
    namespace, name = place(service)
    runtime_name = runtime_of(service)
    runtime = runtimes.get((namespace, runtime_name or ""))
    if runtime is None:
        problem = "names no ServingRuntime that exists"
        return Deployment(namespace, name, runtime_name, problem=problem)
    ops = tuple(runtime_patch(runtime, name))
    item = Deployment(namespace, name, runtime_name, ops, gpus=gpus_of(service, runtime))
    if ops and (users := sharing[(namespace, runtime_name or "")]) > 1:
        problem = f"its ServingRuntime serves {users} deployments; per-deployment secrets "
        return replace(item, problem=problem + "need one runtime per deployment")
    return item


def plan_migration(
    kube: Kubectl,
    documents: list[tuple[Resource, JsonObject]],
    *,
    deployment: str | None = None,
    key: str | None = None,
    key_origin: str = "",
    keep_shared: bool = False,
    backup_secrets: bool = False,
) -> MigrationPlan:
    """Plan the move of every deployment in ``documents`` (or only ``deployment``) still on a
    shared Secret; ``documents`` are the users of ``nimgen.cluster.refs.read_users``."""
    services = [d for r, d in documents if r == INFERENCE_SERVICE]
    runtimes = {place(d): d for r, d in documents if r == SERVING_RUNTIME}
    sharing = Counter((place(s)[0], runtime_of(s) or "") for s in services)
    chosen = [s for s in services if deployment in (None, place(s)[1])]
    # Projects the old dashboard deployed NIM into: a user's own ngc-secret elsewhere is theirs.
    namespaces = {place(s)[0] for s in chosen} | {
        namespace
        for (namespace, _), r in runtimes.items()
        if (r["metadata"].get("annotations") or {}).get(NIM_RUNTIME_ANNOTATION) == "true"
    }
    existing: dict[Place, JsonObject] = {}
    for namespace in sorted(namespaces):
        existing |= {place(d): d for d in kube.objects(SECRET, namespace=namespace)}
    # The shared Secrets, protected: the key registered, the values kept only to back up.
    shared = {
        Ref.of(SECRET, d): protect(d, keep_values=backup_secrets)
        for (_, name), d in existing.items()
        if name in SHARED_SECRETS
    }
    keys: dict[str, str] = {}
    key_sources: dict[str, str] = {}
    final = []
    for item in (_deployment(s, runtimes, sharing) for s in chosen):
        if deployment is None and not item.ops:
            continue  # a run over projects names only the deployments still on a shared Secret
        wanted = (f.format(item.name) for f in (KEY_SECRET, PULL_SECRET))
        values = {op.get("value") for op in item.ops}
        creates = tuple(n for n in wanted if n in values and (item.namespace, n) not in existing)
        if creates and item.problem is None:
            if item.namespace not in key_sources:
                where = f"{item.namespace}/{SHARED_KEY_SECRET}"
                found = existing.get((item.namespace, SHARED_KEY_SECRET))
                value, key_sources[item.namespace] = (
                    (key, key_origin) if key else shared_key(found, where)
                )
                if value is not None:
                    keys[item.namespace] = value
            problem = None if item.namespace in keys else key_sources[item.namespace]
            item = replace(item, creates=creates, problem=problem)
        final.append(item)
    shared_secrets: tuple[SharedSecret, ...] = ()
    if not keep_shared:
        moving = {(d.namespace, d.runtime): d.ops for d in final if d.has_work}
        after = References.of(
            (r, patched(d, moving[place(d)]) if r == SERVING_RUNTIME and place(d) in moving else d)
            for r, d in documents
        )
        shared_secrets = tuple(SharedSecret(ref, after.of_object(ref)) for ref in sorted(shared))
    return MigrationPlan(tuple(final), shared_secrets, keys, key_sources, shared)


def permissions_needed(plan: MigrationPlan, restart: bool) -> list[Need]:
    needs: set[Need] = set()
    for item in (d for d in plan.deployments if d.has_work):
        if item.creates:
            needs.add(Need("create", SECRET, item.namespace))
        if item.ops:
            needs.add(Need("patch", SERVING_RUNTIME, item.namespace))
        if restart:
            needs.add(Need("patch", INFERENCE_SERVICE, item.namespace))
    needs |= {Need("delete", SECRET, s.ref.namespace) for s in plan.shared if not s.users}
    return sorted(needs)


def _migrate(kube: Kubectl, item: Deployment, key: str, restart: bool) -> list[Event]:
    done: list[Event] = []
    created_for = {CREATED_FOR_ANNOTATION: f"InferenceService/{item.name}"}
    for name in item.creates:
        pull = name == PULL_SECRET.format(item.name)
        made = kube.create(new_secret(name, item.namespace, key, pull, created_for))
        done.append(("created" if made else "existed", f"Secret {item.namespace}/{name}"))
    if item.ops and item.runtime is not None:
        kube.patch(Ref(item.namespace, item.runtime, SERVING_RUNTIME), list(item.ops))
        done.append(("repointed", f"ServingRuntime {item.namespace}/{item.runtime}"))
    if restart:
        moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"predictor": {"annotations": {RESTART_ANNOTATION: moment}}}}
        kube.patch(Ref(item.namespace, item.name, INFERENCE_SERVICE), patch, kind="merge")
        done.append(("restarted", f"InferenceService {item.namespace}/{item.name}"))
    return done


def apply_migration(
    kube: Kubectl, plan: MigrationPlan, *, restart: bool, backup: Path
) -> list[Event]:
    """Carry out ``plan``; what was done, one event per change (or per Secret kept)."""
    check_permissions(kube, permissions_needed(plan, restart))
    done: list[Event] = []
    for item in (d for d in plan.deployments if d.has_work):
        done += _migrate(kube, item, plan.keys.get(item.namespace, ""), restart)
    for namespace in sorted({s.ref.namespace for s in plan.shared if not s.users}):
        planned = [s.ref for s in plan.shared if s.ref.namespace == namespace and not s.users]
        refs = References.of(read_users(kube, (namespace,)))
        now = [SharedSecret(ref, refs.of_object(ref)) for ref in planned]
        if still := [s for s in now if s.users]:
            done += [("still-used", f"{s.ref}: named by {', '.join(s.users)}") for s in still]
        if gone := {s.ref: plan.documents[s.ref] for s in now if not s.users}:
            write_backup(backup, render_backup(gone, frozenset(gone)))
            done += [("deleted" if kube.delete(ref) else "gone", str(ref)) for ref in gone]
    return done
