"""The one reference rule: nothing is deleted while anything names it.

Users: ServingRuntimes, InferenceServices, NIMServices (``spec.authSecret``,
``spec.image.pullSecrets``), Pods and the pod templates of Deployments, StatefulSets,
ReplicaSets, Jobs and CronJobs (env, envFrom, volumes, imagePullSecrets: anywhere in the
spec), and Accounts (``spec.apiKeySecret``, ``spec.modelListConfig``, the ``status``
pointers dashboards read; these may name another namespace)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    INFERENCE_SERVICE,
    NIM_SERVICE,
    SECRET,
    SERVING_RUNTIME,
    TEMPLATE,
    WORKLOADS,
    JsonObject,
    Kubectl,
    Ref,
    Resource,
)

USERS = (ACCOUNT, SERVING_RUNTIME, INFERENCE_SERVICE, NIM_SERVICE, *WORKLOADS)
# The fields of a pod spec that name a Secret or ConfigMap (``name``, or a volume's
# ``secretName``); ``secret`` and ``configMap`` also in projected volumes.
_POD_FIELDS = dict.fromkeys(("secretKeyRef", "secretRef", "secret"), SECRET)
_POD_FIELDS |= dict.fromkeys(("configMapKeyRef", "configMapRef", "configMap"), CONFIGMAP)
ACCOUNT_FIELDS = (
    ("spec", "apiKeySecret", SECRET),
    ("spec", "modelListConfig", CONFIGMAP),
    ("status", "nimConfig", CONFIGMAP),
    ("status", "runtimeTemplate", TEMPLATE),
    ("status", "nimPullSecret", SECRET),
)
Named = tuple[Resource, str, str]  # (kind, namespace, name)


def _in_spec(node: object) -> Iterator[tuple[Resource, str]]:
    if isinstance(node, list):
        for item in node:
            yield from _in_spec(item)
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        kind = _POD_FIELDS.get(key)
        if kind is not None and isinstance(value, dict):
            name = value.get("secretName", value.get("name"))
            if isinstance(name, str) and name:
                yield kind, name
        elif key in ("imagePullSecrets", "pullSecrets") and isinstance(value, list):
            for item in value:  # pod specs hold {name: ...}, NIMService plain names
                name = item.get("name") if isinstance(item, dict) else item
                if isinstance(name, str) and name:
                    yield SECRET, name
        elif key == "authSecret" and isinstance(value, str) and value:
            yield SECRET, value
        else:
            yield from _in_spec(value)


def account_pointer(account: JsonObject, section: str, field: str) -> tuple[str, str] | None:
    """(namespace, name) of an Account's ObjectReference, the namespace defaulting to its own."""
    node = (account.get(section) or {}).get(field)
    if not isinstance(node, dict) or not isinstance(node.get("name"), str) or not node["name"]:
        return None
    namespace = node.get("namespace")
    own = str(account["metadata"].get("namespace", ""))
    return (namespace if isinstance(namespace, str) and namespace else own), node["name"]


def named_by(resource: Resource, document: JsonObject) -> Iterator[Named]:
    """Every object ``document`` (of kind ``resource``) names."""
    if resource == ACCOUNT:
        for section, field, kind in ACCOUNT_FIELDS:
            pointer = account_pointer(document, section, field)
            if pointer is not None:
                yield kind, *pointer
        return
    namespace = str(document["metadata"].get("namespace", ""))
    for kind, name in _in_spec(document.get("spec") or {}):
        yield kind, namespace, name


@dataclass(frozen=True)
class References:
    """Who names what: (kind, namespace, name) -> the users, as ``Kind ns/name``."""

    users: dict[Named, tuple[str, ...]]

    @classmethod
    def of(cls, documents: Iterable[tuple[Resource, JsonObject]]) -> References:
        users: dict[Named, set[str]] = {}
        for resource, document in documents:
            user = str(Ref.of(resource, document))
            for named in named_by(resource, document):
                users.setdefault(named, set()).add(user)
        return cls({k: tuple(sorted(v)) for k, v in users.items()})

    def of_object(self, ref: Ref, ignoring: frozenset[str] = frozenset()) -> tuple[str, ...]:
        found = self.users.get((ref.resource, ref.namespace, ref.name), ())
        return tuple(u for u in found if u not in ignoring)


def read_users(kube: Kubectl, scope: tuple[str, ...] | None) -> list[tuple[Resource, JsonObject]]:
    """Every object of the user kinds in ``scope`` (the namespaces; every one when None).
    A kind the cluster does not serve has none; a namespace that may not be read fails."""
    return [found for namespace in scope or (None,) for found in kube.served(USERS, namespace)]
