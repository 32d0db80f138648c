"""Build, on the test cluster, what the Account era left: exactly as the old controller
(odh-model-controller, internal/controller/nim) and the old dashboard made it.

- the dashboard: the key Secret ``nvidia-nim-access`` (Opaque, ``api_key``, label
  ``opendatahub.io/managed``) and the ``Account`` naming it; per deployment, in the
  user's project, ``nvidia-nim-secrets`` (Opaque, ``NGC_API_KEY``), ``ngc-secret``
  (dockerconfigjson) and a ServingRuntime copied from the Account's Template;
- the controller: the finalizer, and ``<account>-cm``, ``<account>-template``,
  ``<account>-pull``, each labelled ``opendatahub.io/managed: "true"`` with a
  controller owner reference to the Account, pointed at from the Account's status.

Also look-alikes nimgen must leave alone. Everything goes through kubectl as the
cluster admin, manifests on stdin.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.kube.cluster import KubeCluster

FINALIZER = "runtimes.opendatahub.io/nim-cleanup-finalizer"
MANAGED = {"opendatahub.io/managed": "true"}
CRD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "crds"
ISVC_CRD = CRD_DIR / "serving.kserve.io_inferenceservices.stand-in.yaml"


def personal_key() -> str:
    return "nvapi-" + secrets.token_urlsafe(48)


def legacy_key() -> str:
    return secrets.token_hex(40)  # an old org key: no nvapi- prefix


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def docker_config(key: str) -> str:
    auth = b64(f"$oauthtoken:{key}")
    return json.dumps(
        {"auths": {"nvcr.io": {"username": "$oauthtoken", "password": key, "auth": auth}}}
    )


def apply(cluster: KubeCluster, *documents: dict[str, Any]) -> None:
    manifest = {"apiVersion": "v1", "kind": "List", "items": list(documents)}
    cluster.kubectl("create", "--validate=false", "-f", "-", input=json.dumps(manifest), check=True)


def get(cluster: KubeCluster, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    done = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    if done.returncode != 0:
        assert "NotFound" in done.stderr, done.stderr
        return None
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def names(cluster: KubeCluster, kind: str, namespace: str) -> set[str]:
    done = cluster.kubectl("get", kind, "-n", namespace, "-o", "json", check=True)
    return {item["metadata"]["name"] for item in json.loads(done.stdout)["items"]}


def secret(
    name: str,
    namespace: str,
    data: dict[str, str],
    kind: str = "Opaque",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": kind,
        "data": {k: b64(v) for k, v in data.items()},
    }


def configmap(name: str, namespace: str, data: dict[str, str], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **metadata},
        "data": data,
    }


def old_runtime(
    name: str, namespace: str, *, key_env_index: int = 1, key_secret: str = "nvidia-nim-secrets"
) -> dict[str, Any]:
    """The ServingRuntime the old Template held (utils.GetNimServingRuntimeTemplate), as
    the dashboard copied it into a project: NGC_API_KEY at ``key_env_index``."""
    env: list[dict[str, Any]] = [
        {"name": "NIM_CACHE_PATH", "value": "/mnt/models/cache"},
        {"name": "OTHER_SETTING", "value": "1"},
    ]
    key = {
        "name": "NGC_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": key_secret, "key": "NGC_API_KEY"}},
    }
    env.insert(key_env_index, key)
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"opendatahub.io/dashboard": "true"},
            "annotations": {
                "runtimes.opendatahub.io/nvidia-nim": "true",
                "openshift.io/display-name": "NVIDIA NIM",
            },
        },
        "spec": {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4",
                    "env": env,
                    "ports": [{"containerPort": 8000, "protocol": "TCP"}],
                }
            ],
            "imagePullSecrets": [{"name": "ngc-secret"}],
            "multiModel": False,
            "supportedModelFormats": [{"name": "llama-3.1-8b-instruct"}],
        },
    }


def inference_service(name: str, namespace: str, runtime: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "predictor": {
                "model": {"runtime": runtime, "modelFormat": {"name": "llama-3.1-8b-instruct"}}
            }
        },
    }


@dataclass
class AccountEra:
    """One Account and everything around it, as made on the cluster."""

    namespace: str
    name: str
    key: str
    uid: str = ""
    owned: dict[str, str] = field(default_factory=dict)  # kind -> name
    allowlist: str | None = None


def make_account(
    cluster: KubeCluster,
    namespace: str,
    name: str = "odh-nim-account",
    *,
    key: str | None = None,
    allowlist: list[str] | None = None,
    key_secret: str = "nvidia-nim-access",
) -> AccountEra:
    era = AccountEra(namespace, name, key or personal_key())
    apply(cluster, secret(key_secret, namespace, {"api_key": era.key}, labels=MANAGED))
    spec: dict[str, Any] = {"apiKeySecret": {"name": key_secret}}
    if allowlist is not None:
        era.allowlist = f"{name}-models"
        apply(cluster, configmap(era.allowlist, namespace, {"models": json.dumps(allowlist)}))
        spec["modelListConfig"] = {"name": era.allowlist}
    apply(
        cluster,
        {
            "apiVersion": "nim.opendatahub.io/v1",
            "kind": "Account",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": MANAGED,
                "finalizers": [FINALIZER],
            },
            "spec": spec,
        },
    )
    account = get(cluster, "accounts.nim.opendatahub.io", name, namespace)
    assert account is not None
    era.uid = account["metadata"]["uid"]
    owner = [
        {
            "apiVersion": "nim.opendatahub.io/v1",
            "kind": "Account",
            "name": name,
            "uid": era.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    models = {"llama-3.1-8b-instruct": json.dumps({"name": "llama-3.1-8b-instruct"})}
    apply(
        cluster,
        configmap(f"{name}-cm", namespace, models, labels=MANAGED, ownerReferences=owner),
        {
            "apiVersion": "template.openshift.io/v1",
            "kind": "Template",
            "metadata": {
                "name": f"{name}-template",
                "namespace": namespace,
                "labels": MANAGED,
                "ownerReferences": owner,
            },
            "objects": [old_runtime("nvidia-nim-runtime", namespace)],
        },
        {
            **secret(
                f"{name}-pull",
                namespace,
                {".dockerconfigjson": docker_config(era.key)},
                kind="kubernetes.io/dockerconfigjson",
                labels=MANAGED,
            ),
            "metadata": {
                "name": f"{name}-pull",
                "namespace": namespace,
                "labels": MANAGED,
                "ownerReferences": owner,
            },
        },
    )
    era.owned = {
        "ConfigMap": f"{name}-cm",
        "Template": f"{name}-template",
        "Secret": f"{name}-pull",
    }
    status = {
        "status": {
            "nimConfig": {"name": f"{name}-cm", "namespace": namespace},
            "runtimeTemplate": {"name": f"{name}-template", "namespace": namespace},
            "nimPullSecret": {"name": f"{name}-pull", "namespace": namespace},
            "conditions": [
                {
                    "type": "AccountStatus",
                    "status": "True",
                    "reason": "AccountSuccessful",
                    "message": "the account is healthy",
                    "lastTransitionTime": "2025-01-01T00:00:00Z",
                    "observedGeneration": 1,
                }
            ],
        }
    }
    cluster.kubectl(
        "patch",
        "accounts.nim.opendatahub.io",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
        check=True,
    )
    return era


def make_user_project(
    cluster: KubeCluster,
    namespace: str,
    key: str,
    deployments: tuple[str, ...] = ("llama",),
    *,
    key_env_index: int = 1,
) -> None:
    """A project where the old dashboard deployed NIMs: shared secrets, one runtime and one
    InferenceService per deployment."""
    apply(
        cluster,
        secret("nvidia-nim-secrets", namespace, {"NGC_API_KEY": key}),
        secret(
            "ngc-secret",
            namespace,
            {".dockerconfigjson": docker_config(key)},
            kind="kubernetes.io/dockerconfigjson",
        ),
    )
    for deployment in deployments:
        apply(
            cluster,
            old_runtime(deployment, namespace, key_env_index=key_env_index),
            inference_service(deployment, namespace, deployment),
        )


def run_nimgen(
    cluster: KubeCluster,
    *args: str,
    env: dict[str, str] | None = None,
    context: str = "admin",
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``nimgen ARGS`` against the test cluster, as the user of ``context``."""
    import sys

    full_env = cluster.env()
    full_env.pop("NGC_API_KEY", None)
    full_env.update(env or {})
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nimgen",
            *args,
            f"--kubeconfig={cluster.kubeconfig}",
            f"--context={context}",
        ],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def nim_config_allowed(cluster: KubeCluster, namespace: str) -> Iterator[None]:
    """For the duration of a test, give the test cluster's OdhDashboardConfig CRD the
    redesign's ``spec.nimConfig`` (the fixture CRD predates it, so the API server prunes
    it, which other tests rely on), then take it away again.

    The API server adopts a changed CRD schema asynchronously: a probe object in
    ``namespace`` is written until the field survives (bounded), then deleted.
    """
    import time

    path = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/nimConfig"
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    crd = ("patch", "crd", "odhdashboardconfigs.opendatahub.io", "--type=json", "-p")
    cluster.kubectl(*crd, json.dumps([{"op": "add", "path": path, "value": schema}]), check=True)
    try:
        probe = {
            "apiVersion": "opendatahub.io/v1alpha",
            "kind": "OdhDashboardConfig",
            "metadata": {"name": "nim-config-probe", "namespace": namespace},
            "spec": {"nimConfig": {"probe": True}},
        }
        deadline = time.monotonic() + 60
        while True:
            cluster.kubectl(
                "delete",
                "odhdashboardconfig",
                "nim-config-probe",
                "-n",
                namespace,
                "--ignore-not-found",
                check=True,
            )
            apply(cluster, probe)
            stored = get(cluster, "odhdashboardconfig", "nim-config-probe", namespace)
            if stored is not None and "nimConfig" in stored["spec"]:
                break
            assert time.monotonic() < deadline, "the CRD change never took effect"
            time.sleep(0.5)
        cluster.kubectl(
            "delete", "odhdashboardconfig", "nim-config-probe", "-n", namespace, check=True
        )
        yield
    finally:
        cluster.kubectl(*crd, json.dumps([{"op": "remove", "path": path}]), check=True)


def wait_no_accounts(cluster: KubeCluster, namespace: str, timeout: float = 120) -> None:
    """Wait until the namespace holds no Account. ``cleanup`` deletes with the Orphan policy
    and may leave the last step to the garbage collector, which on a fresh test cluster
    notices a new CRD only at its next discovery resync (every 30 s)."""
    import time

    deadline = time.monotonic() + timeout
    while names(cluster, "accounts.nim.opendatahub.io", namespace):
        assert time.monotonic() < deadline, f"Accounts left in {namespace} after {timeout} s"
        time.sleep(0.5)
