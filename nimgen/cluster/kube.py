"""``kubectl`` (or ``oc``) as a subprocess, ``-o json``: every kubeconfig login works, no
dependency. Manifests, patches and delete options go on stdin, never as arguments
(process listings show those); errors are classified into one-line exceptions."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from nimgen.errors import BadInput, RunFailed, validation_reason

JsonObject = dict[str, Any]
Event = tuple[str, str]  # (what happened, to what): nimgen.report.cleanup words it
# TEST-ONLY: SIGKILL nimgen right after its N-th change to the cluster (a crash at any point).
TEST_KILL_AFTER_ENV = "NIMGEN_TEST_KILL_AFTER"
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True, order=True)
class Resource:
    """A kind of (namespaced) object: how kubectl names it and where it lives in the API."""

    kind: str
    api_version: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def kubectl_name(self) -> str:
        """Fully qualified (``templates.template.openshift.io``): never ambiguous."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str, name: str) -> str:
        api = f"/apis/{self.api_version}" if self.group else f"/api/{self.api_version}"
        return f"{api}/namespaces/{namespace}/{self.plural}/{name}"


CONFIGMAP = Resource("ConfigMap", "v1", "configmaps")
SECRET = Resource("Secret", "v1", "secrets")
NAMESPACE = Resource("Namespace", "v1", "namespaces")
TEMPLATE = Resource("Template", "template.openshift.io/v1", "templates")
ACCOUNT = Resource("Account", "nim.opendatahub.io/v1", "accounts")
FINALIZER = "runtimes.opendatahub.io/nim-cleanup-finalizer"  # an Account's, its controller's
SERVING_RUNTIME = Resource("ServingRuntime", "serving.kserve.io/v1alpha1", "servingruntimes")
INFERENCE_SERVICE = Resource("InferenceService", "serving.kserve.io/v1beta1", "inferenceservices")
NIM_SERVICE = Resource("NIMService", "apps.nvidia.com/v1alpha1", "nimservices")
DASHBOARD_CONFIG = Resource("OdhDashboardConfig", "opendatahub.io/v1alpha", "odhdashboardconfigs")
DASHBOARD_NAME = "odh-dashboard-config"
# kubectl resolves "cronjobs.batch" to the version the server prefers (v1beta1 before 1.21).
WORKLOADS = (
    Resource("Pod", "v1", "pods"),
    Resource("Deployment", "apps/v1", "deployments"),
    Resource("StatefulSet", "apps/v1", "statefulsets"),
    Resource("ReplicaSet", "apps/v1", "replicasets"),
    Resource("Job", "batch/v1", "jobs"),
    Resource("CronJob", "batch/v1", "cronjobs"),
)
KINDS = {r.kind: r for r in (CONFIGMAP, SECRET, TEMPLATE, ACCOUNT)}  # what a backup holds


@dataclass(frozen=True, order=True)
class Ref:
    """One object: its place, name, kind and (when read) uid."""

    namespace: str
    name: str
    resource: Resource
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.resource.kind} {self.namespace}/{self.name}"

    @classmethod
    def of(cls, resource: Resource, document: JsonObject) -> Ref:
        meta = document.get("metadata") or {}
        namespace, name, uid = (str(meta.get(k, "")) for k in ("namespace", "name", "uid"))
        return cls(namespace, name, resource, uid)


def custom_configmap(name: str, namespace: str) -> JsonObject:
    """The dashboard's ``spec.nimConfig.customConfigMap``: the model list it offers instead."""
    return {"name": name, "namespace": namespace}


def dashboard_patch(target: Ref) -> JsonObject:
    """The merge patch pointing a connected cluster's dashboard at the custom ConfigMap."""
    reference = custom_configmap(target.name, target.namespace)
    return {"spec": {"nimConfig": {"customConfigMap": reference}}}


class ObjectMeta(BaseModel):
    """What nimgen reads of an object, checked: kubectl's output (a wrapper's, a proxy's) is
    input like any other. The documents themselves stay as kubectl printed them."""

    name: str
    namespace: str = ""
    uid: str = ""
    creationTimestamp: str = ""
    deletionTimestamp: str = ""
    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}
    finalizers: list[str] = []
    ownerReferences: list[dict[str, Any]] = []


class KubeObject(BaseModel):
    metadata: ObjectMeta
    spec: dict[str, Any] = {}
    status: dict[str, Any] = {}
    data: dict[str, Any] = {}


class KubeList(BaseModel):
    items: list[KubeObject] = []


def place(document: JsonObject) -> tuple[str, str]:
    """(namespace, name): where an object is."""
    return document["metadata"].get("namespace", ""), document["metadata"]["name"]


def settling(document: JsonObject) -> bool:
    """Deleted, with at most the garbage collector's finalizer left: as good as gone."""
    meta = document["metadata"]
    return bool(meta.get("deletionTimestamp")) and set(meta.get("finalizers") or ()) <= {"orphan"}


def patch_op(op: str, path: str, value: str | None = None) -> JsonObject:
    """One JSON patch operation (``remove`` takes no value)."""
    return {"op": op, "path": path} | ({} if value is None else {"value": value})


def guarded_removal(uid: str, path: str, test: str, value: str) -> list[JsonObject]:
    """A JSON patch removing ``path``, refused unless the uid and ``test`` hold what was read."""
    guards = [patch_op("test", "/metadata/uid", uid), patch_op("test", test, value)]
    return [*guards, patch_op("remove", path)]


def _kind_of(item: JsonObject, kinds: list[Resource]) -> Resource | None:
    group = str(item.get("apiVersion", "")).rpartition("/")[0]
    return next((r for r in kinds if (r.kind, r.group) == (item.get("kind"), group)), None)


class KubeError(RunFailed):
    """kubectl failed; the message is its one-line reason."""


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    """A precondition (uid, JSON-patch ``test``) failed: the object changed since it was read."""


class AlreadyExists(KubeError):
    pass


class NoResourceType(KubeError):
    """The cluster does not serve this kind (its CRD is not installed)."""


# What a missing right is called, and where the roles that grant them are.
DENIED = "permission denied: your kubeconfig's user may not "
ROLES_FILE = "deploy/rbac/nimgen-cleanup-clusterrole.yaml"


class PermissionDenied(KubeError):
    def __init__(self, verb: str, resource: str, namespace: str | None) -> None:
        where = f" in namespace {namespace}" if namespace else " cluster-wide"
        super().__init__(
            f"{DENIED}{verb} {resource}{where}; see {ROLES_FILE} for the roles nimgen needs"
        )


_REASON = re.compile(r"Error from server \((\w+)\)")
_FORBIDDEN = re.compile(
    r'cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?'
)
# client-go's log lines (E1127 06:32:53.898748 12504 file.go:265] ...): skipped when there is more.
_KLOG = re.compile(r"^[EWIF]\d{4} ")


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    meant = [line for line in lines if not _KLOG.match(line)] or lines
    return meant[0].removeprefix("error: ")[:500] if meant else "no error message"


def classify(stderr: str, what: str) -> KubeError:
    """The exception for kubectl's ``stderr`` while doing ``what``."""
    line = _first_line(stderr)
    reason = _REASON.search(stderr)
    kind = reason.group(1) if reason else ""
    if kind == "Forbidden" and (match := _FORBIDDEN.search(stderr)):
        verb, plural, group, namespace = match.groups()
        return PermissionDenied(verb, f"{plural}.{group}" if group else plural, namespace)
    if kind == "Forbidden":
        return KubeError(f"{what}: permission denied: {line}")
    if kind == "NotFound":
        return NotFound(f"{what}: {line}")
    if kind == "Conflict" or "server rejected our request due to an error in our" in stderr:
        return Conflict(f"{what}: the object changed since it was read ({line})")
    if kind == "AlreadyExists":
        return AlreadyExists(f"{what}: {line}")
    if "doesn't have a resource type" in stderr:
        return NoResourceType(f"{what}: {line}")
    if kind == "Unauthorized" or "must be logged in" in stderr:
        return KubeError(f"{what}: the cluster refused your credentials (log in again): {line}")
    if "Unable to connect to the server" in stderr or "connection refused" in stderr:
        return KubeError(f"{what}: cannot reach the cluster: {line}")
    return KubeError(f"{what}: {line}")


def parse(out: bytes, what: str, shape: type[BaseModel] = KubeObject) -> JsonObject:
    """kubectl's JSON, checked against ``shape``; else the one-line error of ``what``."""
    try:
        document: JsonObject = json.loads(out)
        shape.model_validate(document)
    except json.JSONDecodeError:
        raise KubeError(f"{what}: kubectl printed something that is not JSON") from None
    except ValidationError as exc:
        reason = validation_reason(exc)
        raise KubeError(f"{what}: kubectl printed what nimgen cannot read ({reason})") from None
    return document


class Kubectl:
    """kubectl with one kubeconfig and context; every call returns parsed JSON or raises."""

    def __init__(self, binary: str, kubeconfig: Path | None, context: str | None) -> None:
        found = shutil.which(binary)
        if found is None:
            raise BadInput(f"{binary}: not found; install kubectl or oc, or give --kubectl PATH")
        if kubeconfig is not None and not kubeconfig.is_file():
            raise BadInput(f"--kubeconfig {kubeconfig}: no such file")
        self.binary = found
        self.kubeconfig = kubeconfig
        self.context = context
        self.changes = 0
        self.kill_after = int(os.environ.get(TEST_KILL_AFTER_ENV) or 0)

    def run(self, *args: str, what: str, stdin: bytes = b"") -> bytes:
        """kubectl's stdout; raises the classified error on a non-zero exit."""
        argv = [self.binary, f"--request-timeout={REQUEST_TIMEOUT_SECONDS}s"]
        argv += [f"--kubeconfig={self.kubeconfig}"] if self.kubeconfig else []
        argv += [f"--context={self.context}"] if self.context else []
        try:
            done = subprocess.run(
                [*argv, *args],
                input=stdin,
                capture_output=True,
                timeout=REQUEST_TIMEOUT_SECONDS * 3 + 15,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise KubeError(f"{what}: kubectl did not answer in time") from None
        except OSError as exc:
            raise KubeError(f"{what}: cannot run {self.binary}: {exc.strerror or exc}") from None
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace")
            if "error: context" in stderr and "does not exist" in stderr:
                raise BadInput(f"--context {self.context}: {_first_line(stderr)}")
            raise classify(stderr, what)
        return done.stdout

    def _change(self, what: str, body: object, *args: str) -> bytes:
        """A change, its manifest on stdin; the test hook may kill nimgen right after it."""
        out = self.run(*args, stdin=json.dumps(body).encode(), what=what)
        self.changes += 1
        if self.changes == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    def _json(self, *args: str, what: str, shape: type[BaseModel] = KubeObject) -> JsonObject:
        return parse(self.run(*args, "-o", "json", what=what), what, shape)

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> JsonObject | None:
        """The object; None when it does not exist, is left to the collector or its kind is
        not served."""
        args = ["get", resource.kubectl_name, name] + (["-n", namespace] if namespace else [])
        try:
            found = self._json(*args, what=f"get {resource.kind} {namespace or ''}/{name}")
        except (NotFound, NoResourceType):
            return None
        return None if settling(found) else found

    def objects(
        self, *kinds: Resource, namespace: str | None = None, selector: str | None = None
    ) -> list[JsonObject]:
        """The objects of the kinds in ``namespace`` (every namespace when None), sorted."""
        args = ["get", ",".join(r.kubectl_name for r in kinds)]
        args += ["-n", namespace] if namespace else ["-A"]
        args += ["-l", selector] if selector else []
        where = f"in {namespace}" if namespace else "in all namespaces"
        listed = self._json(*args, what=f"list {kinds[0].plural} {where}", shape=KubeList)
        return sorted((i for i in listed.get("items") or () if not settling(i)), key=place)

    def served(
        self, resources: tuple[Resource, ...], namespace: str | None = None
    ) -> list[tuple[Resource, JsonObject]]:
        """The objects of several kinds in one call (every namespace when None); a kind the
        cluster does not serve (its CRD is not installed) has none."""
        wanted = list(resources)
        while wanted:
            try:
                return [
                    (resource, item)
                    for item in self.objects(*wanted, namespace=namespace)
                    if (resource := _kind_of(item, wanted)) is not None
                ]
            except NoResourceType as err:
                missing = [r for r in wanted if f'"{r.plural}"' in err.message]
                if not missing:
                    raise
                wanted = [r for r in wanted if r not in missing]
        return []

    def create(self, document: JsonObject) -> bool:
        """Create from a manifest; False (and kept as it is) when it exists."""
        ref = Ref.of(Resource(document["kind"], document["apiVersion"], ""), document)
        try:
            self._change(f"create {ref}", document, "create", "-f", "-")
        except AlreadyExists:
            return False
        return True

    def patch(self, ref: Ref, patch: object, *, kind: str = "json") -> JsonObject:
        """A JSON patch (``kind='json'``, with ``test`` ops as guards) or a merge patch."""
        args = ("patch", ref.resource.kubectl_name, ref.name, "-n", ref.namespace, "--type", kind)
        out = self._change(f"patch {ref}", patch, *args, "--patch-file", "/dev/stdin", "-o", "json")
        return parse(out, f"patch {ref}")

    def delete(self, ref: Ref) -> bool:
        """Delete exactly ``ref`` (the uid precondition refuses a same-named newer object), with
        the Orphan policy: the garbage collector deletes nothing with it. False when gone."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Orphan"}
        body = {**options, "preconditions": {"uid": ref.uid}} if ref.uid else options
        path = ref.resource.path(ref.namespace, ref.name)
        try:
            self._change(f"delete {ref}", body, "delete", "--raw", path, "-f", "-")
        except NotFound:
            return False
        return True

    def allowed(self, checks: Sequence[tuple[str, Resource, str]]) -> list[bool]:
        """May the user do each (verb, kind, namespace)? SelfSubjectAccessReviews (what
        ``kubectl auth can-i`` sends), all in one kubectl call; they change nothing."""
        asked = (
            {"namespace": n, "verb": v, "group": r.group, "resource": r.plural}
            for v, r, n in checks
        )
        kind = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}
        reviews = [{**kind, "spec": {"resourceAttributes": a}} for a in asked]
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": reviews}).encode()
        # One line per review: "true" or "false".
        jsonpath = 'jsonpath={.status.allowed}{"\\n"}'
        out = self.run("create", "-f", "-", "-o", jsonpath, stdin=manifest, what="check rights")
        answers = [answer == "true" for answer in out.decode("utf-8", "replace").split()]
        if len(answers) != len(checks):
            raise KubeError("check rights: kubectl printed an answer per review, not as many")
        return answers


class Need(NamedTuple):
    verb: str
    resource: Resource
    namespace: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource.kubectl_name} in namespace {self.namespace}"


def check_permissions(kube: Kubectl, needs: list[Need]) -> None:
    """Raise, naming every missing right, before anything is changed."""
    answers = kube.allowed(needs) if needs else []
    missing = [need for need, ok in zip(needs, answers, strict=True) if not ok]
    if missing:
        more = f" (and {len(missing) - 1} more right(s), below)" if len(missing) > 1 else ""
        raise RunFailed(
            f"{DENIED}{missing[0]}{more}; nothing was changed. The roles nimgen needs: "
            + ROLES_FILE,
            details=tuple(f"may not {need}" for need in missing),
        )
