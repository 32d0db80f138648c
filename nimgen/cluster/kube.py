"""A small client over ``kubectl`` (or ``oc``) run as a subprocess with ``-o json``.

Why kubectl and not a Python client: it honours every authentication an admin's
kubeconfig uses (tokens, certificates, exec plugins, OIDC, ``oc login``), it is on
every admin's machine, and it adds no dependency. The price is care with secrets:
manifests and delete options go on **stdin**, never as arguments (process listings
show arguments to every user), and every value read from a Secret is registered
with ``nimgen.apikey.register_secret`` by its reader so that no output can show it.

Errors are classified from kubectl's ``Error from server (Reason)`` line into the
exceptions below; each is one line, and a permission error names the verb and the
resource that was lacking.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nimgen.errors import BadInput, RunFailed

JsonObject = dict[str, Any]


@dataclass(frozen=True, order=True)
class Resource:
    """A kind of object: how kubectl names it and where it lives in the API."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def kubectl_name(self) -> str:
        """Fully qualified (``templates.template.openshift.io``): never ambiguous."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str, name: str) -> str:
        """The object's URL path, for ``kubectl delete --raw``."""
        prefix = f"/apis/{self.api_version}" if self.group else f"/api/{self.api_version}"
        scope = f"/namespaces/{namespace}" if self.namespaced else ""
        return f"{prefix}{scope}/{self.plural}/{name}"


CONFIGMAP = Resource("ConfigMap", "v1", "configmaps")
SECRET = Resource("Secret", "v1", "secrets")
NAMESPACE = Resource("Namespace", "v1", "namespaces", namespaced=False)
TEMPLATE = Resource("Template", "template.openshift.io/v1", "templates")
ACCOUNT = Resource("Account", "nim.opendatahub.io/v1", "accounts")
SERVING_RUNTIME = Resource("ServingRuntime", "serving.kserve.io/v1alpha1", "servingruntimes")
INFERENCE_SERVICE = Resource("InferenceService", "serving.kserve.io/v1beta1", "inferenceservices")
DASHBOARD_CONFIG = Resource("OdhDashboardConfig", "opendatahub.io/v1alpha", "odhdashboardconfigs")


@dataclass(frozen=True, order=True)
class Ref:
    """One object, as planned: its kind, place, name and (when read) its uid."""

    namespace: str
    name: str
    resource: Resource
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.resource.kind} {self.namespace}/{self.name}"

    @classmethod
    def of(cls, resource: Resource, document: JsonObject) -> Ref:
        metadata = document.get("metadata") or {}
        return cls(
            str(metadata.get("namespace", "")),
            str(metadata.get("name", "")),
            resource,
            str(metadata.get("uid", "")),
        )


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


class PermissionDenied(KubeError):
    def __init__(self, verb: str, resource: str, namespace: str | None, why: str = "") -> None:
        where = f" in namespace {namespace}" if namespace else " cluster-wide"
        super().__init__(
            f"permission denied: your kubeconfig's user may not {verb} {resource}{where}"
            + (f" ({why})" if why else "")
            + "; see deploy/rbac/nimgen-cleanup-clusterrole.yaml for the roles nimgen needs"
        )
        self.verb, self.resource, self.namespace = verb, resource, namespace


_REASON = re.compile(r"Error from server \((\w+)\)")
_FORBIDDEN = re.compile(
    r'cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?'
)


# client-go's log lines (E1127 06:32:53.898748 12504 file.go:265] ...) come before the
# error kubectl means to show: they are skipped when there is anything else.
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
    if kind == "Forbidden":
        match = _FORBIDDEN.search(stderr)
        if match:
            verb, plural, group, namespace = match.groups()
            return PermissionDenied(verb, f"{plural}.{group}" if group else plural, namespace)
        return KubeError(f"{what}: permission denied: {line}")
    if kind == "NotFound":
        return NotFound(f"{what}: {line}")
    if kind == "Conflict" or "the server rejected our request due to an error in our request" in (
        stderr
    ):
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


class Kubectl:
    """kubectl with one kubeconfig and context; every call returns parsed JSON or raises."""

    def __init__(
        self,
        binary: str = "kubectl",
        *,
        kubeconfig: Path | None = None,
        context: str | None = None,
        request_timeout: float = 30.0,
    ) -> None:
        found = shutil.which(binary)
        if found is None:
            raise BadInput(f"{binary}: not found; install kubectl or oc, or give --kubectl PATH")
        if kubeconfig is not None and not kubeconfig.is_file():
            raise BadInput(f"--kubeconfig {kubeconfig}: no such file")
        self.binary = found
        self.kubeconfig = kubeconfig
        self.context = context
        self.request_timeout = request_timeout

    def _argv(self, args: tuple[str, ...]) -> list[str]:
        argv = [self.binary]
        if self.kubeconfig is not None:
            argv.append(f"--kubeconfig={self.kubeconfig}")
        if self.context:
            argv.append(f"--context={self.context}")
        argv.append(f"--request-timeout={int(self.request_timeout)}s")
        return [*argv, *args]

    def _exec(
        self, args: tuple[str, ...], stdin: bytes | None, what: str
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                self._argv(args),
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=self.request_timeout * 3 + 15,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise KubeError(f"{what}: kubectl did not answer in time") from None
        except OSError as exc:
            raise KubeError(f"{what}: cannot run {self.binary}: {exc.strerror or exc}") from None

    def run(self, *args: str, stdin: bytes | None = None, what: str = "") -> bytes:
        """kubectl's stdout; raises the classified error on a non-zero exit."""
        what = what or f"kubectl {args[0]}"
        done = self._exec(args, stdin, what)
        if done.returncode != 0:
            stderr = done.stderr.decode("utf-8", "replace")
            if "error: context" in stderr and "does not exist" in stderr:
                raise BadInput(f"--context {self.context}: {_first_line(stderr)}")
            raise classify(stderr, what)
        return done.stdout

    def _json(self, *args: str, what: str) -> JsonObject:
        out = self.run(*args, "-o", "json", what=what)
        try:
            document = json.loads(out)
        except json.JSONDecodeError:
            raise KubeError(f"{what}: kubectl printed something that is not JSON") from None
        if not isinstance(document, dict):
            raise KubeError(f"{what}: kubectl printed JSON that is not an object")
        return document

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> JsonObject | None:
        """The object, or None when it does not exist."""
        args = ["get", resource.kubectl_name, name]
        if resource.namespaced and namespace:
            args += ["-n", namespace]
        try:
            return self._json(*args, what=f"get {resource.kind} {namespace or ''}/{name}")
        except NotFound:
            return None

    def get_many(
        self, namespace: str, wanted: list[tuple[Resource, str]]
    ) -> dict[tuple[Resource, str], JsonObject]:
        """Several named objects of one namespace in one kubectl call; those that exist.

        A kind the cluster does not serve is skipped (asked for one at a time).
        """
        if not wanted:
            return {}
        unique = sorted(set(wanted))
        args = ["get", *(f"{r.kubectl_name}/{n}" for r, n in unique), "-n", namespace]
        args += ["--ignore-not-found", "-o", "json"]
        try:
            out = self.run(*args, what=f"get {len(unique)} object(s) in {namespace}")
        except NoResourceType:
            if len(unique) == 1:
                return {}
            found: dict[tuple[Resource, str], JsonObject] = {}
            for item in unique:
                found.update(self.get_many(namespace, [item]))
            return found
        if not out.strip():
            return {}
        try:
            document = json.loads(out)
        except json.JSONDecodeError:
            raise KubeError(f"get in {namespace}: kubectl printed something not JSON") from None
        items = document.get("items", [document]) if isinstance(document, dict) else []
        by_kind = {(r.kind, r.group): r for r, _ in unique}
        found = {}
        for item in items:
            group = str(item.get("apiVersion", "")).rpartition("/")[0]
            resource = by_kind.get((item.get("kind"), group))
            if resource is not None:
                found[(resource, item["metadata"]["name"])] = item
        return found

    def objects(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[JsonObject]:
        """The objects of one kind in ``namespace`` (all namespaces when None), sorted."""
        args = ["get", resource.kubectl_name]
        args += ["-n", namespace] if namespace else (["-A"] if resource.namespaced else [])
        if selector:
            args += ["-l", selector]
        if field_selector:
            args += ["--field-selector", field_selector]
        where = f"in {namespace}" if namespace else "in all namespaces"
        items = self._json(*args, what=f"list {resource.plural} {where}").get("items") or []
        return sorted(
            (i for i in items if isinstance(i, dict)),
            key=lambda i: (i["metadata"].get("namespace", ""), i["metadata"]["name"]),
        )

    def objects_if_served(
        self, resource: Resource, namespace: str | None = None, **selectors: str | None
    ) -> list[JsonObject] | None:
        """Like ``objects``, but None when the cluster does not serve the kind at all."""
        try:
            return self.objects(resource, namespace, **selectors)
        except NoResourceType:
            return None

    def create(self, document: JsonObject) -> bool:
        """Create from a manifest sent on stdin (its values never appear in ``ps``). False
        when it exists already: kept as it is, never replaced."""
        ref = Ref.of(Resource(document["kind"], document["apiVersion"], ""), document)
        try:
            self.run("create", "-f", "-", stdin=json.dumps(document).encode(), what=f"create {ref}")
        except AlreadyExists:
            return False
        return True

    def patch(self, ref: Ref, patch: object, *, kind: str = "json") -> JsonObject:
        """A JSON patch (``kind='json'``, with ``test`` ops as guards) or a merge patch."""
        args = ["patch", ref.resource.kubectl_name, ref.name, "--type", kind, "--patch-file"]
        args += ["/dev/stdin", "-o", "json"]
        if ref.resource.namespaced:
            args += ["-n", ref.namespace]
        out = self.run(*args, stdin=json.dumps(patch).encode(), what=f"patch {ref}")
        result = json.loads(out)
        return result if isinstance(result, dict) else {}

    def delete(self, ref: Ref, *, orphan: bool = False) -> bool:
        """Delete exactly ``ref``: the uid precondition refuses a same-named newer object.

        ``orphan`` keeps the object's dependents (the garbage collector drops their owner
        reference) so nothing that was not planned is deleted with it. False when it was
        already gone.
        """
        options: JsonObject = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if ref.uid:
            options["preconditions"] = {"uid": ref.uid}
        if orphan:
            options["propagationPolicy"] = "Orphan"
        path = ref.resource.path(ref.namespace, ref.name)
        try:
            body = json.dumps(options).encode()
            self.run("delete", "--raw", path, "-f", "-", stdin=body, what=f"delete {ref}")
        except NotFound:
            return False
        return True

    def can_i(self, verb: str, resource: Resource, namespace: str | None) -> bool:
        """``kubectl auth can-i``: it prints yes (exit 0) or no (exit 1)."""
        args: tuple[str, ...] = ("auth", "can-i", verb, resource.kubectl_name)
        args += ("-n", namespace) if namespace else ("--all-namespaces",)
        done = self._exec(args, None, f"auth can-i {verb} {resource.kubectl_name}")
        answer = done.stdout.decode("utf-8", "replace").strip()
        if answer in ("yes", "no"):
            return answer == "yes"
        raise classify(done.stderr.decode("utf-8", "replace"), f"auth can-i {verb}")


@dataclass(frozen=True)
class ClusterAccess:
    """``--kubectl``, ``--kubeconfig`` and ``--context``: how to reach the cluster."""

    kubectl: str = "kubectl"
    kubeconfig: Path | None = None
    context: str | None = None

    def client(self) -> Kubectl:
        return Kubectl(self.kubectl, kubeconfig=self.kubeconfig, context=self.context)
