"""``migrate-deployments``: from the shared per-project secrets to per-deployment ones.

Deployments the old dashboard made use, per project, ``nvidia-nim-secrets`` (key
``NGC_API_KEY``) and ``ngc-secret`` (the ``nvcr.io`` pull secret). They keep working
on them, but rotating one deployment's key, or giving deployments different keys,
needs ``nim-api-key-<deployment>`` (Opaque, ``NGC_API_KEY``) and
``nim-image-pull-<deployment>`` (``kubernetes.io/dockerconfigjson`` for ``nvcr.io``,
user ``$oauthtoken``). For each deployment (an InferenceService and the
ServingRuntime it names) this plans: create the two Secrets, point the runtime's
``NGC_API_KEY`` env var (found by **name**, in every container, guarded by JSON-patch
``test`` ops) and its ``imagePullSecrets`` entry at them, and, once no runtime or
InferenceService of the project refers to the shared Secrets any more, delete those.

The key comes from ``--api-key-file`` or ``$NGC_API_KEY``; failing that, it is reused
from the project's ``nvidia-nim-secrets`` only if it is a personal (``nvapi-``) key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nimgen.apikey import PERSONAL_KEY_PREFIX
from nimgen.cluster.kube import SECRET, JsonObject, Kubectl, Ref
from nimgen.cluster.secretdata import decode, protect
from nimgen.cluster.usage import (
    KEY_ENV,
    SHARED_KEY_SECRET,
    SHARED_PULL_SECRET,
    SHARED_SECRETS,
    ProjectUsage,
    runtime_of,
    secrets_used,
)

KEY_SECRET = "nim-api-key-{}"
PULL_SECRET = "nim-image-pull-{}"


def runtime_patch(runtime: JsonObject, deployment: str) -> list[JsonObject]:
    """The JSON patch moving ``runtime`` to ``deployment``'s own secrets.

    The env var is found by its name in every container, never assumed to sit at a
    fixed index; each change is preceded by ``test`` ops on the uid and on the very
    values it replaces, so a runtime edited since it was read is refused by the API
    server instead of being patched in the wrong place. Empty when nothing to change.
    """
    spec = runtime.get("spec") or {}
    ops: list[JsonObject] = []
    for c, container in enumerate(spec.get("containers") or []):
        for e, env in enumerate(container.get("env") or []):
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if env.get("name") != KEY_ENV or ref.get("name") != SHARED_KEY_SECRET:
                continue
            base = f"/spec/containers/{c}/env/{e}"
            ops += [
                {"op": "test", "path": f"{base}/name", "value": KEY_ENV},
                {"op": "test", "path": f"{base}/valueFrom/secretKeyRef/name", "value": ref["name"]},
                {
                    "op": "replace",
                    "path": f"{base}/valueFrom/secretKeyRef/name",
                    "value": KEY_SECRET.format(deployment),
                },
                {"op": "add", "path": f"{base}/valueFrom/secretKeyRef/key", "value": KEY_ENV},
            ]
    for p, pull in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(pull, dict) and pull.get("name") == SHARED_PULL_SECRET:
            path = f"/spec/imagePullSecrets/{p}/name"
            ops += [
                {"op": "test", "path": path, "value": SHARED_PULL_SECRET},
                {"op": "replace", "path": path, "value": PULL_SECRET.format(deployment)},
            ]
    if not ops:
        return []
    uid = runtime["metadata"]["uid"]
    return [{"op": "test", "path": "/metadata/uid", "value": uid}, *ops]


def patched(document: JsonObject, ops: list[JsonObject]) -> JsonObject:
    """``document`` after ``ops`` (the replace/add ops of ``runtime_patch``), to check
    what it would still refer to."""
    import copy

    result = copy.deepcopy(document)
    for op in ops:
        if op["op"] not in ("replace", "add"):
            continue
        *parents, last = op["path"].strip("/").split("/")
        node: Any = result
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = op["value"]
        else:
            node[last] = op["value"]
    return result


@dataclass(frozen=True)
class Deployment:
    namespace: str
    name: str  # the InferenceService
    runtime: str | None
    ops: tuple[JsonObject, ...] = ()
    create_key_secret: bool = False
    create_pull_secret: bool = False
    problem: str | None = None  # why it is skipped
    leftover: tuple[str, ...] = ()  # shared secrets the runtime would still name

    @property
    def has_work(self) -> bool:
        return self.problem is None and bool(
            self.ops or self.create_key_secret or self.create_pull_secret
        )

    @property
    def key_secret(self) -> str:
        return KEY_SECRET.format(self.name)

    @property
    def pull_secret(self) -> str:
        return PULL_SECRET.format(self.name)

    def as_json(self) -> JsonObject:
        return {
            "namespace": self.namespace,
            "deployment": self.name,
            "servingRuntime": self.runtime,
            "createSecrets": [
                name
                for name, create in (
                    (self.key_secret, self.create_key_secret),
                    (self.pull_secret, self.create_pull_secret),
                )
                if create
            ],
            "patchServingRuntime": bool(self.ops),
            "problem": self.problem,
            "stillNamesShared": list(self.leftover),
        }


@dataclass(frozen=True)
class SharedSecrets:
    """One project's shared Secrets and what still uses them after the plan."""

    namespace: str
    existing: tuple[Ref, ...]
    still_used_by: tuple[str, ...]

    @property
    def deletable(self) -> bool:
        return bool(self.existing) and not self.still_used_by


@dataclass
class MigrationPlan:
    deployments: tuple[Deployment, ...]
    shared: tuple[SharedSecrets, ...]
    keys: dict[str, str] = field(default_factory=dict, repr=False)  # namespace -> key
    key_sources: dict[str, str] = field(default_factory=dict)  # namespace -> where from

    @property
    def nothing_to_do(self) -> bool:
        return not any(d.has_work or d.problem for d in self.deployments) and not any(
            s.deletable for s in self.shared
        )


class _Secrets:
    """Which Secrets exist, read with one kubectl call per project (values dropped)."""

    def __init__(self, kube: Kubectl, wanted: dict[str, set[str]]) -> None:
        self.found: dict[tuple[str, str], Ref] = {}
        for namespace in sorted(wanted):
            pairs = [(SECRET, name) for name in sorted(wanted[namespace])]
            for (_, name), document in kube.get_many(namespace, pairs).items():
                self.found[(namespace, name)] = Ref.of(SECRET, protect(document, keep_values=False))

    def get(self, namespace: str, name: str) -> Ref | None:
        return self.found.get((namespace, name))


def shared_key(kube: Kubectl, namespace: str) -> tuple[str | None, str]:
    """The personal key in the project's shared Secret, or None and why not."""
    document = kube.get(SECRET, SHARED_KEY_SECRET, namespace)
    where = f"{namespace}/{SHARED_KEY_SECRET}"
    if document is None:
        return None, f"no key given and no Secret {where} to reuse it from"
    value = decode((protect(document, keep_values=True).get("data") or {}).get(KEY_ENV))
    if value is None or not value.strip():
        return None, f"no key given and {where} holds no {KEY_ENV}"
    if not value.strip().startswith(PERSONAL_KEY_PREFIX):
        return None, (
            f"the key in {where} is a legacy key, not a personal one ({PERSONAL_KEY_PREFIX}...): "
            "nimgen does not reuse it; give a personal key with --api-key-file or $NGC_API_KEY"
        )
    return value.strip(), f"reused from {where} (a personal key)"


def _deployment(
    secrets: _Secrets, usage: ProjectUsage, service: JsonObject, users: dict[tuple[str, str], int]
) -> Deployment:
    namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
    runtime_name = runtime_of(service)
    if runtime_name is None:
        return Deployment(namespace, name, None, problem="names no ServingRuntime")
    runtime = next(
        (
            r
            for r in usage.runtimes
            if r["metadata"]["namespace"] == namespace and r["metadata"]["name"] == runtime_name
        ),
        None,
    )
    if runtime is None:
        return Deployment(namespace, name, runtime_name, problem="its ServingRuntime is missing")
    ops = runtime_patch(runtime, name)
    if ops and users[(namespace, runtime_name)] > 1:
        return Deployment(
            namespace,
            name,
            runtime_name,
            ops=tuple(ops),
            problem=f"its ServingRuntime serves {users[(namespace, runtime_name)]} deployments; "
            "per-deployment secrets need one runtime per deployment",
        )
    wants_key = any(op.get("value") == KEY_SECRET.format(name) for op in ops)
    wants_pull = any(op.get("value") == PULL_SECRET.format(name) for op in ops)
    leftover = tuple(sorted(secrets_used(patched(runtime, ops)) & set(SHARED_SECRETS)))
    return Deployment(
        namespace,
        name,
        runtime_name,
        ops=tuple(ops),
        create_key_secret=wants_key and secrets.get(namespace, KEY_SECRET.format(name)) is None,
        create_pull_secret=wants_pull and secrets.get(namespace, PULL_SECRET.format(name)) is None,
        leftover=leftover,
    )


def plan_migration(
    kube: Kubectl,
    usage: ProjectUsage,
    *,
    deployment: str | None = None,
    key: str | None = None,
    key_origin: str = "",
    keep_shared: bool = False,
) -> MigrationPlan:
    """Plan the migration of every deployment in ``usage`` (or only ``deployment``)
    whose runtime still uses a shared Secret; ``key`` is the given key, if any."""
    users: dict[tuple[str, str], int] = {}
    for service in usage.services:
        runtime = runtime_of(service)
        if runtime is not None:
            place = (service["metadata"]["namespace"], runtime)
            users[place] = users.get(place, 0) + 1
    chosen = [
        s for s in usage.services if deployment is None or s["metadata"]["name"] == deployment
    ]
    wanted: dict[str, set[str]] = {}
    for service in chosen:
        namespace, name = service["metadata"]["namespace"], service["metadata"]["name"]
        wanted.setdefault(namespace, set(SHARED_SECRETS)).update(
            (KEY_SECRET.format(name), PULL_SECRET.format(name))
        )
    secrets = _Secrets(kube, wanted)
    planned = [_deployment(secrets, usage, s, users) for s in chosen]
    # Every run names only the deployments it concerns: those still on a shared Secret.
    planned = [d for d in planned if deployment is not None or d.ops]
    plan = MigrationPlan(deployments=(), shared=())
    final: list[Deployment] = []
    for item in planned:
        if item.has_work and (item.create_key_secret or item.create_pull_secret):
            if item.namespace not in plan.keys and item.namespace not in plan.key_sources:
                value, origin = (key, key_origin) if key else shared_key(kube, item.namespace)
                plan.key_sources[item.namespace] = origin
                if value is not None:
                    plan.keys[item.namespace] = value
            if item.namespace not in plan.keys:
                item = replace(item, problem=plan.key_sources[item.namespace])
        final.append(item)
    plan.deployments = tuple(final)
    if not keep_shared:
        plan.shared = tuple(
            _shared(secrets, usage, ns, final) for ns in sorted({d.namespace for d in final})
        )
    return plan


def _shared(
    secrets: _Secrets, usage: ProjectUsage, namespace: str, deployments: list[Deployment]
) -> SharedSecrets:
    """The project's shared Secrets, and who would still use them after the plan."""
    migrating = {
        d.runtime: list(d.ops)
        for d in deployments
        if d.namespace == namespace and d.has_work and d.ops and not d.leftover
    }
    after = []
    for runtime in usage.runtimes:
        if runtime["metadata"]["namespace"] == namespace:
            name = runtime["metadata"]["name"]
            after.append(patched(runtime, migrating[name]) if name in migrating else runtime)
    services = [s for s in usage.services if s["metadata"]["namespace"] == namespace]
    still = ProjectUsage(runtimes=tuple(after), services=tuple(services))
    existing = tuple(r for n in SHARED_SECRETS if (r := secrets.get(namespace, n)) is not None)
    return SharedSecrets(namespace, existing, still.shared_secret_users(namespace))
