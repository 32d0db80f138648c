"""Who uses what in users' projects: NIM ServingRuntimes, their secrets, their deployments.

The old dashboard made, per project, the Secrets ``nvidia-nim-secrets`` (the key,
``NGC_API_KEY``) and ``ngc-secret`` (the ``nvcr.io`` pull secret), and for each
deployment a ServingRuntime copied from the Account's Template that references them,
used by an InferenceService (``spec.predictor.model.runtime``). Those serve running
models: ``cleanup`` only reports them, ``migrate-deployments`` moves them to
per-deployment secrets. Reading usage needs no Secret at all, only the runtimes and
the InferenceServices.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nimgen.cluster.kube import (
    INFERENCE_SERVICE,
    SERVING_RUNTIME,
    JsonObject,
    Kubectl,
)

SHARED_KEY_SECRET = "nvidia-nim-secrets"
SHARED_PULL_SECRET = "ngc-secret"
SHARED_SECRETS = (SHARED_KEY_SECRET, SHARED_PULL_SECRET)
KEY_ENV = "NGC_API_KEY"
NIM_RUNTIME_ANNOTATION = "runtimes.opendatahub.io/nvidia-nim"


def _secret_names(node: Any) -> Iterator[str]:
    """Every Secret name a pod-like spec refers to, wherever it sits: env
    ``secretKeyRef``, ``envFrom`` ``secretRef``, ``imagePullSecrets``, secret volumes
    and projected sources."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
                if isinstance(value.get("name"), str):
                    yield value["name"]
            elif key == "secret" and isinstance(value, dict):
                name = value.get("secretName", value.get("name"))
                if isinstance(name, str):
                    yield name
            elif key == "imagePullSecrets" and isinstance(value, list):
                yield from (i["name"] for i in value if isinstance(i, dict) and "name" in i)
            else:
                yield from _secret_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _secret_names(item)


def secrets_used(document: JsonObject) -> frozenset[str]:
    """The Secret names an object's ``spec`` refers to."""
    return frozenset(_secret_names(document.get("spec") or {}))


def runtime_of(service: JsonObject) -> str | None:
    """The ServingRuntime an InferenceService names (KServe's ``predictor.model.runtime``)."""
    predictor = (service.get("spec") or {}).get("predictor") or {}
    model = predictor.get("model") if isinstance(predictor, dict) else None
    runtime = model.get("runtime") if isinstance(model, dict) else None
    return runtime if isinstance(runtime, str) and runtime else None


@dataclass(frozen=True)
class RuntimeUse:
    """One ServingRuntime in a user's project, what shared secrets it uses, who uses it."""

    namespace: str
    name: str
    is_nim: bool
    shared_secrets: tuple[str, ...]  # which of SHARED_SECRETS it references
    deployments: tuple[str, ...]  # the InferenceServices that name it

    def as_json(self) -> JsonObject:
        return {
            "namespace": self.namespace,
            "servingRuntime": self.name,
            "nim": self.is_nim,
            "sharedSecrets": list(self.shared_secrets),
            "deployments": list(self.deployments),
        }


@dataclass(frozen=True)
class ProjectUsage:
    """The runtimes and InferenceServices of one or every namespace."""

    runtimes: tuple[JsonObject, ...]
    services: tuple[JsonObject, ...]
    runtimes_served: bool = True
    services_served: bool = True

    def deployments_of(self, namespace: str, runtime: str) -> tuple[str, ...]:
        return tuple(
            sorted(
                s["metadata"]["name"]
                for s in self.services
                if s["metadata"].get("namespace") == namespace and runtime_of(s) == runtime
            )
        )

    def shared_secret_users(self, namespace: str) -> tuple[str, ...]:
        """Names of the runtimes and InferenceServices in ``namespace`` still using a
        shared secret (``kind/name``)."""
        users = []
        for kind, documents in (
            ("ServingRuntime", self.runtimes),
            ("InferenceService", self.services),
        ):
            for document in documents:
                if document["metadata"].get("namespace") != namespace:
                    continue
                if secrets_used(document) & set(SHARED_SECRETS):
                    users.append(f"{kind}/{document['metadata']['name']}")
        return tuple(users)

    def legacy_runtimes(self) -> tuple[RuntimeUse, ...]:
        """Runtimes that are NIM runtimes or use a shared secret, with their deployments."""
        found = []
        for runtime in self.runtimes:
            metadata = runtime["metadata"]
            annotations = metadata.get("annotations") or {}
            is_nim = annotations.get(NIM_RUNTIME_ANNOTATION) == "true"
            shared = tuple(s for s in SHARED_SECRETS if s in secrets_used(runtime))
            if not (is_nim or shared):
                continue
            namespace, name = metadata.get("namespace", ""), metadata["name"]
            found.append(
                RuntimeUse(namespace, name, is_nim, shared, self.deployments_of(namespace, name))
            )
        return tuple(found)


def read_usage(kube: Kubectl, namespace: str | None = None) -> ProjectUsage:
    """ServingRuntimes and InferenceServices of ``namespace`` (every namespace when None).

    A cluster without KServe's kinds has no usage (and says so in ``*_served``).
    """
    runtimes = kube.objects_if_served(SERVING_RUNTIME, namespace)
    services = kube.objects_if_served(INFERENCE_SERVICE, namespace)
    return ProjectUsage(
        runtimes=tuple(runtimes or ()),
        services=tuple(services or ()),
        runtimes_served=runtimes is not None,
        services_served=services is not None,
    )
