"""``nimgen migrate-deployments`` against a real kube-apiserver: from the shared per-project
secrets the old dashboard made to per-deployment ones."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from tests.cluster.layouts import (
    b64,
    docker_config,
    get,
    legacy_key,
    logging_kubectl,
    make_user_project,
    names,
    personal_key,
    run_nimgen,
)
from tests.support.kube.cluster import KubeCluster
from tests.support.waiting import wait_until


def _runtime(cluster: KubeCluster, namespace: str, name: str, kind: str = "servingruntime") -> Any:
    document = get(cluster, kind, name, namespace)
    assert document is not None, name
    return document


def test_two_deployments_one_after_the_other(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    """NGC_API_KEY is the 2nd env var of one runtime and the 3rd of the other; the shared
    secrets go only after the second deployment moved; the key never is an argument."""
    ns = kube_namespace
    shared_key = personal_key()
    new_key = personal_key()
    make_user_project(kube_cluster, ns, shared_key, "llama", key_env_index=1)
    make_user_project(kube_cluster, ns, shared_key, "mistral", key_env_index=2)
    kubectl, argv_log = logging_kubectl(tmp_path)
    env = {"NGC_API_KEY": new_key}

    migrate = ("migrate-deployments", "-n", ns, "--kubectl", str(kubectl))
    plan = run_nimgen(kube_cluster, *migrate, "llama", "--json", env=env)
    assert plan.code == 3, plan.stderr
    document = json.loads(plan.stdout)
    assert [d["deployment"] for d in document["deployments"]] == ["llama"]
    assert {s["name"]: s["usedBy"] for s in document["sharedSecrets"]} == {
        "ngc-secret": [f"ServingRuntime {ns}/mistral"],
        "nvidia-nim-secrets": [f"ServingRuntime {ns}/mistral"],
    }
    assert document["keySources"] == {ns: "$NGC_API_KEY"}

    first = run_nimgen(kube_cluster, *migrate, "llama", "--apply", env=env)
    assert first.code == 0, first.stderr
    key_secret = _runtime(kube_cluster, ns, "nim-api-key-llama", "secret")
    assert key_secret["type"] == "Opaque"
    assert key_secret["data"] == {"NGC_API_KEY": b64(new_key)}
    pull = _runtime(kube_cluster, ns, "nim-image-pull-llama", "secret")
    assert pull["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(pull["data"][".dockerconfigjson"]))
    assert config["auths"]["nvcr.io"]["username"] == "$oauthtoken"
    assert config["auths"]["nvcr.io"]["password"] == new_key
    env_vars = _runtime(kube_cluster, ns, "llama")["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env_vars] == ["NIM_CACHE_PATH", "NGC_API_KEY", "OTHER_SETTING"]
    assert env_vars[1]["valueFrom"]["secretKeyRef"] == {
        "name": "nim-api-key-llama",
        "key": "NGC_API_KEY",
    }
    pulls = _runtime(kube_cluster, ns, "llama")["spec"]["imagePullSecrets"]
    assert pulls == [{"name": "nim-image-pull-llama"}]
    assert {"nvidia-nim-secrets", "ngc-secret"} <= names(kube_cluster, "secrets", ns)
    untouched = _runtime(kube_cluster, ns, "mistral")["spec"]
    assert untouched["imagePullSecrets"] == [{"name": "ngc-secret"}]

    second = run_nimgen(kube_cluster, *migrate, "mistral", "--apply", env=env)
    assert second.code == 0, second.stderr
    env_vars = _runtime(kube_cluster, ns, "mistral")["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env_vars] == ["NIM_CACHE_PATH", "OTHER_SETTING", "NGC_API_KEY"]
    assert env_vars[2]["valueFrom"]["secretKeyRef"]["name"] == "nim-api-key-mistral"
    shared = {"nvidia-nim-secrets", "ngc-secret"}  # deleted: the collector finishes the delete
    wait_until(
        lambda: not shared & names(kube_cluster, "secrets", ns),
        timeout=90,
        step=0.5,
        what="shared gone",
    )

    again = run_nimgen(kube_cluster, "migrate-deployments", "-n", ns, "--json", env=env)
    assert again.code == 0 and json.loads(again.stdout)["nothingToDo"], again.stderr
    logged = argv_log.read_text()
    assert "create -f -" in logged  # the manifests went on stdin
    for text in (logged, first.stdout, first.stderr, second.stdout, second.stderr, plan.stdout):
        for form in (new_key, shared_key, b64(new_key), b64(docker_config(new_key))):
            assert form not in text


def test_a_personal_shared_key_is_reused(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    key = personal_key()
    make_user_project(kube_cluster, ns, key, "llama")
    done = run_nimgen(kube_cluster, "migrate-deployments", "-n", ns, "--apply", "--json")
    assert done.code == 0, done.stderr
    assert "reused from" in json.loads(done.stdout)["keySources"][ns]
    created = _runtime(kube_cluster, ns, "nim-api-key-llama", "secret")
    assert created["data"]["NGC_API_KEY"] == b64(key)
    assert key not in done.stdout + done.stderr


def test_a_legacy_shared_key_is_refused_for_reuse(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    key = legacy_key()
    make_user_project(kube_cluster, ns, key, "llama")
    before = _runtime(kube_cluster, ns, "llama")
    plan = run_nimgen(kube_cluster, "migrate-deployments", "-n", ns, "--json")
    assert plan.code == 3, plan.stderr
    skipped = json.loads(plan.stdout)["deployments"][0]
    assert "legacy key" in skipped["problem"]
    applied = run_nimgen(kube_cluster, "migrate-deployments", "-n", ns, "--apply")
    assert applied.code == 1
    assert "legacy key" in applied.stderr and "--api-key-file" in applied.stderr
    assert key not in plan.stdout + plan.stderr + applied.stderr
    after = _runtime(kube_cluster, ns, "llama")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert "nim-api-key-llama" not in names(kube_cluster, "secrets", ns)
    # With a personal key given in a file, it goes through.
    key_file = tmp_path / "ngc-key"
    key_file.write_text(personal_key())
    key_file.chmod(0o600)
    given = ("--apply", "--api-key-file", str(key_file))
    done = run_nimgen(kube_cluster, "migrate-deployments", "-n", ns, *given)
    assert done.code == 0, done.stderr
    assert "nim-api-key-llama" in names(kube_cluster, "secrets", ns)


def test_all_namespaces_and_restart(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    ns = kube_namespace
    other = f"t-{uuid.uuid4().hex[:12]}"
    kube_cluster.kubectl("create", "namespace", other, check=True)
    try:
        make_user_project(kube_cluster, ns, personal_key(), "llama")
        make_user_project(kube_cluster, other, personal_key(), "phi")
        plan = run_nimgen(kube_cluster, "migrate-deployments", "-A", "--json")
        assert plan.code == 3, plan.stderr
        deployments = json.loads(plan.stdout)["deployments"]
        planned = {(d["namespace"], d["deployment"]) for d in deployments}
        assert {(ns, "llama"), (other, "phi")} <= planned
        done = run_nimgen(kube_cluster, "migrate-deployments", "-n", other, "--apply", "--restart")
        assert done.code == 0, done.stderr
        assert "twice the predictor's GPUs" in done.stderr
        service = get(kube_cluster, "inferenceservice", "phi", other)
        assert service is not None
        assert "nimgen.opendatahub.io/restarted-at" in service["spec"]["predictor"]["annotations"]
        assert service["spec"]["predictor"]["model"]["runtime"] == "phi"
        # The other project was left as it was.
        assert {"nvidia-nim-secrets", "ngc-secret"} <= names(kube_cluster, "secrets", ns)
    finally:
        kube_cluster.kubectl("delete", "namespace", other, "--wait=false", "--ignore-not-found")


def test_bad_usage_is_one_line_exit_2(kube_cluster: KubeCluster) -> None:
    for args in (
        ("migrate-deployments",),
        ("migrate-deployments", "llama", "-A"),
        ("migrate-deployments", "-n", "default", "no-such-deployment"),
    ):
        done = run_nimgen(kube_cluster, *args)
        assert done.code == 2, (args, done.stderr)
        assert done.stderr.count("nimgen: error:") == 1 and "Traceback" not in done.stderr
