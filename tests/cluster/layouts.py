"""Every Account-era layout upstream ships, built at once on a test cluster, with the
look-alikes nimgen must leave alone. Each object is made as upstream's code makes it:

- odh-dashboard b9d09633 ``backend/src/routes/api/integrations/nim/nimUtils.ts``
  (createNIMAccount, manageNIMSecret): the admin's Account ``odh-nim-account`` and its key
  Secret ``nvidia-nim-access`` (``api_key``, label ``opendatahub.io/managed``);
- odh-model-controller 57b43aad ``internal/controller/nim/handlers/`` (configmap, template
  and pull_secret handlers; ``handlers.go`` createOwnerReferenceCfg and commonBaseLabels;
  ``account_controller.go`` the finalizer), ``internal/controller/utils/nim.go``
  (GetNimServingRuntimeTemplate), ``api/nim/v1/account_types.go`` (the status pointers):
  ``<account>-cm/-template/-pull``, controller owner reference, ``opendatahub.io/managed``;
- odh-model-controller 72385a62^ ``internal/controller/nim/account_controller.go``: the same
  objects under the pre-v2.23 names ``nvidia-nim-images-data``,
  ``nvidia-nim-serving-template``, ``nvidia-nim-image-pull`` (never deleted by later versions);
- odh-dashboard b9d09633 ``packages/nim-serving/src/api/accounts/k8s.ts`` (eca145b97f): a
  per-project Account naming ``nvidia-nim-secrets`` (``api_key`` and ``NGC_API_KEY``);
  ``packages/nim-serving/src/api/deployments/deploy.ts`` (4f9a41520d): NIMService
  ``spec.authSecret`` and ``spec.image.pullSecrets`` from the project's Account;
  ``packages/nim-serving/src/nimKServe/deploy.ts`` (e24ea765b0): a KServe runtime copied
  from the project's Template;
- odh-dashboard b9d09633 ``frontend/src/pages/modelServing/screens/projects/utils.ts``
  (createNIMSecret): the old per-project ``nvidia-nim-secrets`` (Opaque) and ``ngc-secret``.

Pods and pod templates stand for what KServe, the NIM operator and admins run (no
controller here makes them). Everything goes through kubectl as the cluster admin.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import nimgen_runner
from tests.support.kube.cluster import KubeCluster
from tests.support.nimgen_runner import NimgenResult
from tests.support.waiting import wait_until

FINALIZER = "runtimes.opendatahub.io/nim-cleanup-finalizer"
MANAGED = {"opendatahub.io/managed": "true"}
DASHBOARD = {"opendatahub.io/dashboard": "true"}
ACCOUNTS = "accounts.nim.opendatahub.io"
# Every kind the layout holds, as kubectl lists them all at once.
KINDS = "accounts.nim.opendatahub.io,configmaps,secrets,templates.template.openshift.io,"
KINDS += "servingruntimes,inferenceservices,nimservices,pods,deployments,statefulsets,"
KINDS += "replicasets,jobs,cronjobs"
Doc = dict[str, Any]


def personal_key() -> str:
    return "nvapi-" + secrets.token_urlsafe(48)


def legacy_key() -> str:
    return secrets.token_hex(40)  # an old org key: no nvapi- prefix


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def docker_config(key: str) -> str:  # pull_secret_handler.go GetPullSecretData
    return json.dumps({"auths": {"nvcr.io": {"username": "$oauthtoken", "password": key}}})


def apply(cluster: KubeCluster, *documents: Doc) -> None:
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(documents)})
    cluster.kubectl("create", "--validate=false", "-f", "-", input=manifest, check=True)


def get(cluster: KubeCluster, kind: str, name: str, namespace: str) -> Doc | None:
    done = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json")
    if done.returncode != 0:
        assert "NotFound" in done.stderr, done.stderr
        return None
    document: Doc = json.loads(done.stdout)
    return document


def listed(cluster: KubeCluster, kinds: str, namespace: str) -> list[Doc]:
    items: list[Doc] = cluster.get_json(kinds, "-n", namespace)["items"]
    return [i for i in items if not i["metadata"]["name"].startswith("default-token")]


def names(cluster: KubeCluster, kind: str, namespace: str) -> set[str]:
    return {item["metadata"]["name"] for item in listed(cluster, kind, namespace)}


def obj(api: str, kind: str, name: str, namespace: str, body: Doc, **metadata: Any) -> Doc:
    metadata = {"name": name, "namespace": namespace, **metadata}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **body}


def secret(
    name: str, namespace: str, data: dict[str, str], kind: str = "Opaque", **more: Any
) -> Doc:
    body = {"type": kind, "data": {k: b64(v) for k, v in data.items()}}
    return obj("v1", "Secret", name, namespace, body, **more)


def pull_secret(name: str, namespace: str, key: str, **more: Any) -> Doc:
    data = {".dockerconfigjson": docker_config(key)}
    return secret(name, namespace, data, "kubernetes.io/dockerconfigjson", **more)


def configmap(name: str, namespace: str, data: dict[str, str], **more: Any) -> Doc:
    return obj("v1", "ConfigMap", name, namespace, {"data": data}, **more)


def template(name: str, namespace: str, objects: list[Doc], **more: Any) -> Doc:
    return obj(
        "template.openshift.io/v1", "Template", name, namespace, {"objects": objects}, **more
    )


def nim_runtime(name: str, namespace: str, *, key_env_index: int = 1) -> Doc:
    """GetNimServingRuntimeTemplate's runtime, as the dashboard copies it into a project."""
    env: list[Doc] = [
        {"name": "NIM_CACHE_PATH", "value": "/mnt/models/cache"},
        {"name": "OTHER_SETTING", "value": "1"},
    ]
    key = {"secretKeyRef": {"name": "nvidia-nim-secrets", "key": "NGC_API_KEY"}}
    env.insert(key_env_index, {"name": "NGC_API_KEY", "valueFrom": key})
    gpu = {"nvidia.com/gpu": "2", "cpu": "1", "memory": "4Gi"}
    container = {
        "name": "kserve-container",
        "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4",
        "env": env,
        "resources": {"limits": gpu, "requests": gpu},
    }
    spec = {
        "containers": [container],
        "imagePullSecrets": [{"name": "ngc-secret"}],
        "multiModel": False,
        "supportedModelFormats": [{"name": "llama-3.1-8b-instruct"}],
    }
    more = {
        "labels": DASHBOARD,
        "annotations": {"runtimes.opendatahub.io/nvidia-nim": "true"},
    }
    api = "serving.kserve.io/v1alpha1"
    return obj(api, "ServingRuntime", name, namespace, {"spec": spec}, **more)


def inference_service(name: str, namespace: str, runtime: str) -> Doc:
    model = {"runtime": runtime, "modelFormat": {"name": "llama-3.1-8b-instruct"}}
    body = {"spec": {"predictor": {"model": model}}}
    return obj("serving.kserve.io/v1beta1", "InferenceService", name, namespace, body)


def pod_spec(
    *, key: str | None = None, pull: str | None = None, configmap_volume: str | None = None
) -> Doc:
    """A pod spec naming a key Secret (env), a pull Secret and a ConfigMap (a volume)."""
    container: Doc = {"name": "main", "image": "registry.invalid/app:1"}
    spec: Doc = {"containers": [container], "automountServiceAccountToken": False}
    if key:
        key_ref = {"secretKeyRef": {"name": key, "key": "NGC_API_KEY"}}
        container["env"] = [{"name": "NGC_API_KEY", "valueFrom": key_ref}]
    if pull:
        spec["imagePullSecrets"] = [{"name": pull}]
    if configmap_volume:
        spec["volumes"] = [{"name": "data", "configMap": {"name": configmap_volume}}]
    return spec


def workload(kind: str, name: str, namespace: str, spec: Doc) -> Doc:
    """A Pod, or a Deployment, StatefulSet, ReplicaSet, Job or CronJob with that pod spec."""
    labels = {"app": name}
    restart = "Never" if kind in ("Job", "CronJob") else "Always"
    template = {"metadata": {"labels": labels}, "spec": {**spec, "restartPolicy": restart}}
    cron = {"schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": template}}}
    bodies = {"Pod": template["spec"], "Job": {"template": template}, "CronJob": cron}
    replicated = {"replicas": 0, "selector": {"matchLabels": labels}, "template": template}
    body = bodies.get(kind, replicated)
    body |= {"serviceName": name} if kind == "StatefulSet" else {}
    version = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1beta1"}.get(kind, "apps/v1")
    return obj(version, kind, name, namespace, {"spec": body}, labels=labels)


OLD_NAMES = ("nvidia-nim-images-data", "nvidia-nim-serving-template", "nvidia-nim-image-pull")


def make_account(
    cluster: KubeCluster,
    namespace: str,
    *,
    key: str,
    key_secret: str = "nvidia-nim-access",
    old_names: bool = False,
    allowlist: list[str] | None = None,
) -> str:
    """The Account ``odh-nim-account`` (and its key Secret unless it exists) and what the
    controller made for it (``old_names``: also under the pre-v2.23 names); its uid."""
    name = "odh-nim-account"
    if get(cluster, "secret", key_secret, namespace) is None:
        apply(cluster, secret(key_secret, namespace, {"api_key": key}, labels=MANAGED))
    spec: Doc = {"apiKeySecret": {"name": key_secret}}
    if allowlist is not None:
        apply(cluster, configmap(f"{name}-models", namespace, {"models": json.dumps(allowlist)}))
        spec["modelListConfig"] = {"name": f"{name}-models"}
    api = "nim.opendatahub.io/v1"
    body = {"spec": spec}
    apply(
        cluster, obj(api, "Account", name, namespace, body, labels=MANAGED, finalizers=[FINALIZER])
    )
    uid = str((get(cluster, ACCOUNTS, name, namespace) or {})["metadata"]["uid"])
    owner = {"apiVersion": api, "kind": "Account", "name": name, "uid": uid}
    owner |= {"controller": True, "blockOwnerDeletion": True}
    more = {"labels": MANAGED, "ownerReferences": [owner]}
    annotations = {
        "opendatahub.io/apiProtocol": "REST",
        "opendatahub.io/modelServingSupport": '["single"]',
    }
    current = (f"{name}-cm", f"{name}-template", f"{name}-pull")
    models = {"llama-3.1-8b-instruct": json.dumps({"name": "llama-3.1-8b-instruct"})}
    runtime = nim_runtime("nvidia-nim-runtime", namespace)
    for cm, runtimes, pull in [current, OLD_NAMES] if old_names else [current]:
        apply(
            cluster,
            configmap(cm, namespace, models, **more),
            template(runtimes, namespace, [runtime], annotations=annotations, **more),
            pull_secret(pull, namespace, key, **more),
        )
    pointers = zip(("nimConfig", "runtimeTemplate", "nimPullSecret"), current, strict=True)
    condition = {"type": "AccountStatus", "status": "True", "reason": "AccountSuccessful"}
    condition |= {"message": "the account is healthy", "lastTransitionTime": "2025-01-01T00:00:00Z"}
    status: Doc = {k: {"name": v, "namespace": namespace} for k, v in pointers}
    status["conditions"] = [condition]
    patch = ("patch", ACCOUNTS, name, "-n", namespace, "--subresource=status", "--type=merge", "-p")
    cluster.kubectl(*patch, json.dumps({"status": status}), check=True)
    return uid


def make_user_project(
    cluster: KubeCluster, namespace: str, key: str, deployment: str, *, key_env_index: int = 1
) -> None:
    """A project where the old dashboard deployed a NIM: the shared Secrets (unless they
    exist), and the deployment's runtime and InferenceService."""
    for shared in (
        secret("nvidia-nim-secrets", namespace, {"NGC_API_KEY": key}),
        pull_secret("ngc-secret", namespace, key),
    ):
        if get(cluster, "secret", shared["metadata"]["name"], namespace) is None:
            apply(cluster, shared)
    runtime = nim_runtime(deployment, namespace, key_env_index=key_env_index)
    apply(cluster, runtime, inference_service(deployment, namespace, deployment))


@dataclass(frozen=True)
class Layout:
    prefix: str
    apps_key: str  # the admin's key, in the applications namespace
    project_key: str  # the per-project Account's key
    legacy_key: str  # the old dashboard's key in a project without an Account
    user_key: str  # a user's own key, in a project without NIM

    @property
    def namespaces(self) -> tuple[str, str, str, str]:
        """The applications namespace, a project with an Account, one the old dashboard
        deployed into, and one without NIM."""
        apps, team_a, team_b, plain = (
            f"{self.prefix}-{n}" for n in ("apps", "team-a", "team-b", "plain")
        )
        return apps, team_a, team_b, plain

    @property
    def scope(self) -> tuple[str, ...]:
        """The options that name every namespace of the layout: ``-n NS`` for each."""
        return tuple(arg for namespace in self.namespaces for arg in ("-n", namespace))

    def forms(self, key: str) -> list[str]:
        """Every form a key could leak in."""
        return [key, b64(key), b64(docker_config(key)), b64(f"$oauthtoken:{key}")]


def build(cluster: KubeCluster, prefix: str) -> Layout:
    layout = Layout(prefix, personal_key(), personal_key(), personal_key(), personal_key())
    apps, team_a, team_b, plain = layout.namespaces
    for namespace in layout.namespaces:
        cluster.kubectl("create", "namespace", namespace, check=True)
    # The applications namespace: the admin's Account, its objects under both names; an
    # admin's Job pulls with the old pull Secret, a CronJob reads the old ConfigMap. The
    # look-alikes stay, and nimgen's tree is what a reader (status) finds.
    make_account(cluster, apps, key=layout.apps_key, old_names=True)
    shipped = {
        "opendatahub.io/nim-models-schema-version": "1",
        "opendatahub.io/nim-models-revision": "1",
    }
    shipped_labels = {**MANAGED, "opendatahub.io/nim-models-data": "true"}
    report = pod_spec(configmap_volume="nvidia-nim-images-data")
    apply(
        cluster,
        workload("Job", "nim-mirror", apps, pod_spec(pull="nvidia-nim-image-pull")),
        workload("CronJob", "nim-report", apps, report),
        secret("nvidia-nim-access-old", apps, {"api_key": personal_key()}),
        configmap("nim-settings", apps, {"a": "b"}, labels=MANAGED),
        template("vllm-runtime-template", apps, [], labels=MANAGED | DASHBOARD),
        configmap(
            "nim-models-data-0123456789", apps, {}, labels=shipped_labels, annotations=shipped
        ),
        template("nim-http-template", apps, [], labels=MANAGED),
    )
    # A project with its own Account (the nim-serving package): a NIMService, a KServe
    # deployment from the project's Template, a StatefulSet mounting the Account's ConfigMap.
    data = {"api_key": layout.project_key, "NGC_API_KEY": layout.project_key}
    apply(cluster, secret("nvidia-nim-secrets", team_a, data, labels=MANAGED))
    make_account(cluster, team_a, key=layout.project_key, key_secret="nvidia-nim-secrets")
    make_user_project(cluster, team_a, layout.project_key, "llama-ks")
    image = {
        "repository": "nvcr.io/nim/meta/llama-3.1-8b-instruct",
        "tag": "1.8.4",
        "pullSecrets": ["odh-nim-account-pull"],
    }
    service = {"spec": {"authSecret": "nvidia-nim-secrets", "image": image}}
    warmer = pod_spec(configmap_volume="odh-nim-account-cm")
    apply(
        cluster,
        obj("apps.nvidia.com/v1alpha1", "NIMService", "llama-svc", team_a, service),
        workload("StatefulSet", "nim-cache-warmer", team_a, warmer),
    )
    # The dashboard's "disable NIM" deleted the Account: it hangs on the finalizer.
    cluster.kubectl("delete", ACCOUNTS, "odh-nim-account", "-n", team_a, "--wait=false", check=True)
    # A project the old dashboard deployed into: KServe's raw-mode predictor runs on the
    # shared Secrets (its Deployment, ReplicaSet and Pod name them).
    make_user_project(cluster, team_b, layout.legacy_key, "mistral", key_env_index=2)
    predictor = pod_spec(key="nvidia-nim-secrets", pull="ngc-secret")
    cluster.wait_for_service_account(team_b)
    kinds = ("Deployment", "ReplicaSet", "Pod")
    apply(cluster, *(workload(kind, "mistral-predictor", team_b, predictor) for kind in kinds))
    # A project without NIM: the user's own ngc-secret, used by their Deployment.
    apply(
        cluster,
        pull_secret("ngc-secret", plain, layout.user_key),
        workload("Deployment", "my-app", plain, pod_spec(pull="ngc-secret")),
    )
    return layout


def roll_predictor(cluster: KubeCluster, namespace: str, deployment: str) -> None:
    """What KServe does once the runtime changed: a new pod template, the old pods gone."""
    name = f"{deployment}-predictor"
    spec = pod_spec(key=f"nim-api-key-{deployment}", pull=f"nim-image-pull-{deployment}")
    patch = json.dumps({"spec": {"template": {"spec": spec}}})
    cluster.kubectl(
        "patch", "deployment", name, "-n", namespace, "--type=merge", "-p", patch, check=True
    )
    cluster.kubectl("delete", "replicaset,pod", name, "-n", namespace, "--wait=false", check=True)


def run_nimgen(
    cluster: KubeCluster,
    *args: str,
    env: dict[str, str] | None = None,
    context: str = "admin",
    timeout: float = 180,
) -> NimgenResult:
    """``nimgen ARGS`` against the test cluster, as the user of ``context``."""
    full_env = {k: v for k, v in cluster.env().items() if k != "NGC_API_KEY"} | (env or {})
    cluster_args = (f"--kubeconfig={cluster.kubeconfig}", f"--context={context}")
    # In the cluster's work dir: a default backup directory lands there, not in the checkout.
    return nimgen_runner.run_nimgen(
        *args,
        *cluster_args,
        env=full_env,
        cwd=cluster.workdir,
        timeout=timeout,
        eu_decision=False,
    )


def logging_kubectl(directory: Path) -> tuple[Path, Path]:
    """A kubectl that appends each argument list to a log, then runs the real one; and
    the log."""
    log = directory / "argv.log"
    script = directory / "kubectl-logged"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec kubectl "$@"\n')
    script.chmod(0o755)
    return script, log


@contextlib.contextmanager
def nim_config_allowed(cluster: KubeCluster, namespace: str) -> Iterator[None]:
    """For one test, give the OdhDashboardConfig CRD the redesign's ``spec.nimConfig`` (the
    fixture CRD predates it, so the API server prunes it, which other tests rely on). The
    server adopts a changed schema asynchronously: a probe object is written until the
    field survives (bounded)."""
    path = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/nimConfig"
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    crd = ("patch", "crd", "odhdashboardconfigs.opendatahub.io", "--type=json", "-p")
    cluster.kubectl(*crd, json.dumps([{"op": "add", "path": path, "value": schema}]), check=True)
    probe = ("odhdashboardconfig", "nim-config-probe", "-n", namespace)

    def kept() -> bool:
        cluster.kubectl("delete", *probe, "--ignore-not-found", check=True)
        body = {"spec": {"nimConfig": {"probe": True}}}
        apply(
            cluster, obj("opendatahub.io/v1alpha", "OdhDashboardConfig", probe[1], namespace, body)
        )
        return "nimConfig" in (get(cluster, *probe[:2], namespace) or {}).get("spec", {})

    try:
        wait_until(kept, timeout=60, step=0.5, what="the CRD change")
        cluster.kubectl("delete", *probe, check=True)
        yield
    finally:
        cluster.kubectl(*crd, json.dumps([{"op": "remove", "path": path}]), check=True)
