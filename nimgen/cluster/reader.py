"""The reference reader (``nimgen status``): which NIM ConfigMap and Template a consumer
finds, by the rule docs/upgrade.md states, and Account leftovers in every namespace."""

from __future__ import annotations

from dataclasses import dataclass

from nimgen.catalog import SCHEMA_VERSION
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    DASHBOARD_CONFIG,
    DASHBOARD_NAME,
    FINALIZER,
    NAMESPACE,
    TEMPLATE,
    JsonObject,
    Kubectl,
    KubeError,
    PermissionDenied,
)
from nimgen.tree.configmap import ANNOTATION_REVISION, ANNOTATION_SCHEMA, LABEL_MODELS_DATA
from nimgen.tree.revision import MAX_REVISION_DIGITS
from nimgen.tree.template import TEMPLATE_NAME

DEFAULT_NAMESPACES = ("redhat-ods-applications", "opendatahub")


@dataclass(frozen=True)
class Candidate:
    """One labelled ConfigMap as a reader judges it."""

    name: str
    schema: str | None
    revision: int | None  # None when the annotation is unreadable
    models: int
    created: str
    problem: str | None = None  # why a reader ignores it

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def rank(self) -> tuple[int, str, str]:
        """The highest wins: revision, then the newest, then the name."""
        return self.revision or 0, self.created, self.name


def judge(document: JsonObject) -> Candidate:
    metadata = document["metadata"]
    annotations = metadata.get("annotations") or {}
    schema = annotations.get(ANNOTATION_SCHEMA)
    text = annotations.get(ANNOTATION_REVISION)
    problem = None
    revision: int | None = 0
    if text is not None:
        ok = text.isascii() and text.isdecimal() and len(text) <= MAX_REVISION_DIGITS
        revision = int(text) if ok else None
        if revision is None:
            problem = f"revision {text!r} is not a decimal number"
    if schema != SCHEMA_VERSION:
        shown = "missing" if schema is None else repr(schema)
        problem = f"schema version {shown} is not one this reader knows ({SCHEMA_VERSION!r})"
    return Candidate(
        name=metadata["name"],
        schema=schema,
        revision=revision,
        models=len(document.get("data") or {}),
        created=metadata.get("creationTimestamp", ""),
        problem=problem,
    )


def pick(candidates: list[Candidate]) -> Candidate | None:
    """The reader's choice among labelled ConfigMaps (steps 2 and 3 of the rule)."""
    return max((c for c in candidates if c.usable), key=lambda c: c.rank, default=None)


@dataclass(frozen=True)
class ClusterStatus:
    namespace: str
    candidates: tuple[Candidate, ...]
    picked: Candidate | None
    custom: tuple[str, str] | None  # (namespace, name) from the OdhDashboardConfig
    custom_exists: bool
    dashboard_found: bool
    nim_config: JsonObject | None
    template_found: bool
    accounts: tuple[JsonObject, ...]  # Account leftovers: {namespace, name, finalizer, ...}
    unread: tuple[str, ...] = ()  # namespaces whose Accounts could not be read ("*": any other)

    @property
    def reader_uses(self) -> str | None:
        if self.custom is not None:
            return f"{self.custom[0]}/{self.custom[1]}"
        return f"{self.namespace}/{self.picked.name}" if self.picked else None

    def problems(self) -> list[str]:
        found = []
        if self.custom is not None and not self.custom_exists:
            found.append(f"the dashboard names ConfigMap {self.reader_uses}, which does not exist")
        if self.reader_uses is None:
            found.append(f"no usable NIM model ConfigMap in {self.namespace}")
        if not self.template_found:
            found.append(f"no Template {self.namespace}/{TEMPLATE_NAME}")
        return found


def choose_namespace(kube: Kubectl, namespace: str | None) -> str:
    """``namespace``, else the first of DEFAULT_NAMESPACES that exists (the first when
    neither exists or namespaces may not be read)."""
    if namespace:
        return namespace
    for candidate in DEFAULT_NAMESPACES:
        try:
            if kube.get(NAMESPACE, candidate) is not None:
                return candidate
        except KubeError:
            break
    return DEFAULT_NAMESPACES[0]


def _custom_of(nim_config: JsonObject | None, namespace: str) -> tuple[str, str] | None:
    custom = (nim_config or {}).get("customConfigMap")
    if not isinstance(custom, dict) or not isinstance(custom.get("name"), str):
        return None
    other = custom.get("namespace")
    return (other if isinstance(other, str) and other else namespace), custom["name"]


def labelled_configmaps(kube: Kubectl, namespace: str) -> list[JsonObject]:
    return kube.objects(CONFIGMAP, namespace=namespace, selector=f"{LABEL_MODELS_DATA}=true")


def read_status(kube: Kubectl, namespace: str) -> ClusterStatus:
    candidates = sorted(
        (judge(d) for d in labelled_configmaps(kube, namespace)), key=lambda c: c.rank, reverse=True
    )
    dashboard = kube.get(DASHBOARD_CONFIG, DASHBOARD_NAME, namespace)
    nim_config = (dashboard or {}).get("spec", {}).get("nimConfig")
    nim_config = nim_config if isinstance(nim_config, dict) else None
    custom = _custom_of(nim_config, namespace)
    found, unread = accounts_everywhere(kube)
    accounts = tuple(
        {
            "namespace": m.get("namespace", ""),
            "name": m["name"],
            "finalizer": FINALIZER in (m.get("finalizers") or ()),
            "beingDeleted": bool(m.get("deletionTimestamp")),
        }
        for m in (a["metadata"] for a in found)
    )
    return ClusterStatus(
        namespace=namespace,
        candidates=tuple(candidates),
        picked=pick(candidates),
        custom=custom,
        custom_exists=custom is not None and kube.get(CONFIGMAP, custom[1], custom[0]) is not None,
        dashboard_found=dashboard is not None,
        nim_config=nim_config,
        template_found=kube.get(TEMPLATE, TEMPLATE_NAME, namespace) is not None,
        accounts=accounts,
        unread=unread,
    )


def accounts_everywhere(kube: Kubectl) -> tuple[list[JsonObject], tuple[str, ...]]:
    """Every Account the user may read, and the namespaces it may not: listed cluster-wide,
    else namespace by namespace ("*" when namespaces may not be listed either)."""
    try:
        return [d for _, d in kube.served((ACCOUNT,))], ()
    except PermissionDenied:
        pass
    try:
        namespaces = [n["metadata"]["name"] for n in kube.objects(NAMESPACE)]
    except PermissionDenied:
        return [], ("*",)
    found = []
    unread = []
    for namespace in namespaces:
        try:
            found += kube.objects(ACCOUNT, namespace=namespace)
        except PermissionDenied:
            unread.append(namespace)
    return found, tuple(unread)
