"""The air-gap output against a real kube-apiserver with the ITMS/IDMS and dashboard CRDs.

Applies exactly what the printed next steps apply: the kustomization (ConfigMap and
mirror sets), the weights PVCs and loader Pods, and the dashboard's merge patch, which
the OdhDashboardConfig CRD of today (no ``spec.nimConfig``) prunes. Needs the binaries
of tests/support/kube/build.sh; skipped without them, failed under NIMGEN_REQUIRE_KUBE=1.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nimgen.airgap.plan import AirgapPlan, parse_mirror, plan_airgap
from nimgen.airgap.render import (
    DASHBOARD_PATCH_FILE,
    IDMS_FILE,
    render_airgap,
)
from nimgen.airgap.render_weights import LOADERS_FILE, PVCS_FILE
from nimgen.airgap.weights import parse_weights_options
from nimgen.catalog import CatalogFacts, ImageDigest, SnapshotModel
from nimgen.selection import Selection
from nimgen.snapshot import Loaded, load_models, sample_path
from tests.support.kube.cluster import KubeCluster
from tests.support.model_records import make_record

APPLICATIONS = "redhat-ods-applications"
MODELS = ("llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3")
_SERVICE_ACCOUNT_WAIT = 60.0


def _ok(result: Any) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr}\n{result.stdout}"
    out: str = result.stdout
    return out


def _write(plan: AirgapPlan, directory: Path) -> Path:
    for name, content in render_airgap(plan).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return directory


def _ensure_namespace(cluster: KubeCluster, name: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    _ok(cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest)))


def _apply_pods(cluster: KubeCluster, path: Path) -> str:
    """Pods need the namespace's default ServiceAccount, which the controller manager
    creates a moment after the namespace: retry within a generous bound."""
    deadline = time.monotonic() + _SERVICE_ACCOUNT_WAIT
    while True:
        result = cluster.kubectl("apply", "-f", str(path))
        if result.returncode == 0 or "serviceaccount" not in result.stderr.lower():
            return _ok(result)
        if time.monotonic() > deadline:
            return _ok(result)
        time.sleep(0.5)


@pytest.fixture(scope="module")
def sample() -> Loaded:
    return load_models(sample_path())


def test_the_kustomization_and_the_weights_manifests_apply(
    kube_cluster: KubeCluster, kube_namespace: str, sample: Loaded, tmp_path: Path
) -> None:
    plan = plan_airgap(
        sample,
        mirror=parse_mirror("registry.example.com:5000/nim"),
        selection=Selection(include=MODELS),
        weights=parse_weights_options(
            project=kube_namespace, pvc_size="200Gi", storage_class="fast-nvme"
        ),
    )
    out = _write(plan, tmp_path / "airgap")
    _ensure_namespace(kube_cluster, APPLICATIONS)
    applied = _ok(kube_cluster.kubectl("apply", "-k", str(out)))
    assert "configmap/custom-nim-models" in applied
    assert "imagetagmirrorset.config.openshift.io/nim-nvcr-io-mirror" in applied

    _ok(kube_cluster.kubectl("apply", "-f", str(out / PVCS_FILE)))
    _apply_pods(kube_cluster, out / LOADERS_FILE)
    ns = ("-n", kube_namespace)
    pvcs = json.loads(_ok(kube_cluster.kubectl("get", "pvc", *ns, "-o", "json")))["items"]
    pods = json.loads(_ok(kube_cluster.kubectl("get", "pods", *ns, "-o", "json")))["items"]
    assert sorted(p["metadata"]["name"] for p in pvcs) == [
        "nim-pvc-llama-3-1-8b-instruct",
        "nim-pvc-mistral-7b-instruct-v0-3",
    ]
    for pvc in pvcs:
        assert pvc["spec"]["resources"]["requests"]["storage"] == "200Gi"
        assert pvc["spec"]["storageClassName"] == "fast-nvme"
        assert pvc["metadata"]["labels"]["opendatahub.io/nim-model-cache"] == "true"
    claims = {
        pod["metadata"]["name"]: pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
        for pod in pods
    }
    assert claims == {
        "nim-cache-loader-llama-3-1-8b-instruct": "nim-pvc-llama-3-1-8b-instruct",
        "nim-cache-loader-mistral-7b-instruct-v0-3": "nim-pvc-mistral-7b-instruct-v0-3",
    }
    images = sorted(pod["spec"]["containers"][0]["image"] for pod in pods)
    assert images == [
        "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.15.5",  # pinned beside 'latest'
        "nvcr.io/nim/mistralai/mistral-7b-instruct-v0.3:1.12.0",
    ]
    # The printed clean-up step removes exactly the loaders, and keeps the filled PVCs.
    _ok(kube_cluster.kubectl("delete", "-f", str(out / LOADERS_FILE), "--wait=false"))
    left = json.loads(_ok(kube_cluster.kubectl("get", "pvc", *ns, "-o", "json")))["items"]
    assert len(left) == 2


def test_the_image_digest_mirror_set_applies(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    record = make_record("llama-x", namespace="nim/meta", tags=["1.0", "latest"], latestTag="1.0")
    model = SnapshotModel(
        record=record,
        catalog=CatalogFacts(resourceId="nim/meta/llama-x"),
        digests=(
            ImageDigest(tag="1.0", os="linux", architecture="amd64", digest="sha256:" + "a" * 64),
        ),
    )
    plan = plan_airgap(
        Loaded(Path("snapshot.json"), "snapshot", (model,)),
        mirror=parse_mirror("registry.example.com:5000/nim"),
        digests=True,
    )
    out = _write(plan, tmp_path / "airgap")
    applied = _ok(kube_cluster.kubectl("apply", "--dry-run=server", "-f", str(out / IDMS_FILE)))
    assert "imagedigestmirrorset.config.openshift.io/nim-nvcr-io-mirror created" in applied


def test_todays_dashboard_crd_prunes_the_nim_config_patch(
    kube_cluster: KubeCluster, kube_namespace: str, sample: Loaded, tmp_path: Path
) -> None:
    """What the next steps warn about: the merge patch is accepted and has no effect."""
    plan = plan_airgap(
        sample,
        mirror=parse_mirror("registry.example.com:5000/nim"),
        selection=Selection(include=MODELS[:1]),
        namespace=kube_namespace,
    )
    out = _write(plan, tmp_path / "airgap")
    config = {
        "apiVersion": "opendatahub.io/v1alpha",
        "kind": "OdhDashboardConfig",
        "metadata": {"name": "odh-dashboard-config", "namespace": kube_namespace},
        "spec": {"dashboardConfig": {"disableNIMModelServing": False}},
    }
    _ok(kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(config)))
    _ok(
        kube_cluster.kubectl(
            "patch",
            "odhdashboardconfig",
            "odh-dashboard-config",
            "-n",
            kube_namespace,
            "--type",
            "merge",
            "--patch-file",
            str(out / DASHBOARD_PATCH_FILE),
        )
    )
    stored = json.loads(
        _ok(
            kube_cluster.kubectl(
                "get",
                "odhdashboardconfig",
                "odh-dashboard-config",
                "-n",
                kube_namespace,
                "-o",
                "json",
            )
        )
    )
    assert "nimConfig" not in stored["spec"]
    assert stored["spec"]["dashboardConfig"] == {"disableNIMModelServing": False}
