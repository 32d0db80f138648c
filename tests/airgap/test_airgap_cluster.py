"""The air-gap output against a real kube-apiserver with the ITMS/IDMS and dashboard CRDs.

Applies exactly what the printed next steps apply: the kustomization (ConfigMap and
mirror sets), the weights PVCs and loader Pods, and the dashboard's merge patch, which
the OdhDashboardConfig CRD of today (no ``spec.nimConfig``) prunes. Needs the binaries
of tests/support/kube/build.sh; skipped without them, failed under NIMGEN_REQUIRE_KUBE=1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from nimgen.airgap.plan import AirgapPlan, parse_mirror, plan_airgap
from nimgen.airgap.render import (
    AIRGAP_FILES,
    DASHBOARD_PATCH_FILE,
    DSC_PATCH_FILE,
    IDMS_FILE,
    render_airgap,
)
from nimgen.airgap.weights import LOADERS_FILE, PVCS_FILE, WeightsOptions
from nimgen.selection import Selection
from nimgen.snapshot import Loaded, sample_path
from nimgen.tree.write import write_tree
from tests.airgap.conftest import loaded_of, with_digest
from tests.support.kube.cluster import KubeCluster
from tests.support.model_records import make_record
from tests.support.nimgen_runner import kustomize, run_nimgen

APPLICATIONS = "redhat-ods-applications"
MODELS = ("llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3")


def _write(plan: AirgapPlan, directory: Path) -> Path:
    write_tree(directory, render_airgap(plan), owned=AIRGAP_FILES)
    return directory


def _ensure_namespace(cluster: KubeCluster, name: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=True)


def test_the_kustomization_and_the_weights_manifests_apply(
    kube_cluster: KubeCluster, kube_namespace: str, sample: Loaded, tmp_path: Path
) -> None:
    plan = plan_airgap(
        sample,
        mirror=parse_mirror("registry.example.com:5000/nim"),
        selection=Selection(include=MODELS),
        weights=WeightsOptions(kube_namespace, "200Gi", "fast-nvme").checked(),
    )
    out = _write(plan, tmp_path / "airgap")
    _ensure_namespace(kube_cluster, APPLICATIONS)
    applied = kube_cluster.kubectl("apply", "-k", str(out), check=True).stdout
    assert "configmap/custom-nim-models" in applied
    assert "imagetagmirrorset.config.openshift.io/nim-nvcr-io-mirror" in applied

    kube_cluster.kubectl("apply", "-f", str(out / PVCS_FILE), check=True)
    kube_cluster.wait_for_service_account(kube_namespace)
    kube_cluster.kubectl("apply", "-f", str(out / LOADERS_FILE), check=True)
    pvcs = kube_cluster.get_json("pvc", "-n", kube_namespace)["items"]
    pods = kube_cluster.get_json("pods", "-n", kube_namespace)["items"]
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
    kube_cluster.kubectl("delete", "-f", str(out / LOADERS_FILE), "--wait=false", check=True)
    assert len(kube_cluster.get_json("pvc", "-n", kube_namespace)["items"]) == 2


def test_the_image_digest_mirror_set_applies(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    record = make_record("llama-x", namespace="nim/meta", tags=["1.0", "latest"], latestTag="1.0")
    plan = plan_airgap(
        loaded_of(with_digest(record, "sha256:" + "a" * 64)),
        mirror=parse_mirror("registry.example.com:5000/nim"),
        digests=True,
    )
    out = _write(plan, tmp_path / "airgap")
    applied = kube_cluster.kubectl(
        "apply", "--dry-run=server", "-f", str(out / IDMS_FILE), check=True
    ).stdout
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
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(config), check=True)
    patch = ("patch", "odhdashboardconfig", "odh-dashboard-config", "-n", kube_namespace)
    kube_cluster.kubectl(
        *patch, "--type=merge", f"--patch-file={out / DASHBOARD_PATCH_FILE}", check=True
    )
    stored = kube_cluster.get_json(
        "odhdashboardconfig", "odh-dashboard-config", "-n", kube_namespace
    )
    assert "nimConfig" not in stored["spec"]
    assert stored["spec"]["dashboardConfig"] == {"disableNIMModelServing": False}


# --- the Account era's air-gapped route (--account-configmap) -------------------------------

FIXTURES = Path(__file__).with_name("fixtures")


def _nested(document: dict[str, Any], path: list[str]) -> Any:
    """unstructured.NestedBool's walk: None where any step is missing."""
    node: Any = document
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _airgap_cli(tmp_path: Path, namespace: str, *models: str) -> Path:
    out = tmp_path / "airgap"
    options = f"--mirror registry.example.com/nim --account-configmap --namespace {namespace}"
    selected = [option for model in models for option in ("--models", model)]
    result = run_nimgen(
        "airgap", "--from", str(sample_path()), "-o", str(out), *options.split(), *selected, "-q"
    )
    assert result.code == 0, result.output
    return out


def test_the_account_configmap_is_what_the_controller_points_at_and_the_dashboard_reads(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    """Upstream's DSC airGapped route end to end, each reader as its code reads (the
    fixture cites file and commit): the DSC patch sets the flag IsNimAirGapped reads; the
    controller's air-gapped branch points status.nimConfig at ``<account>-cm`` in the
    applications namespace; both dashboards read that ConfigMap; a refill replaces it."""
    facts = yaml.safe_load((FIXTURES / "account_airgap.yaml").read_text(encoding="utf-8"))
    kube_cluster.apply_crds([FIXTURES / "datasciencecluster.stand-in.yaml"])
    out = _airgap_cli(tmp_path, kube_namespace, *MODELS)
    built = yaml.safe_load(kustomize(out).split("---\n")[0])
    assert built["kind"] == "ConfigMap" and "immutable" not in built
    kube_cluster.kubectl("apply", "-k", str(out), check=True)

    dsc = {
        "apiVersion": "datasciencecluster.opendatahub.io/v2",
        "kind": "DataScienceCluster",
        "metadata": {"name": "default-dsc"},
        "spec": {"components": {"kserve": {}}},
    }
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(dsc), check=True)
    patch = ("patch", "datasciencecluster", "default-dsc", "--type", "merge")
    kube_cluster.kubectl(*patch, "--patch-file", str(out / DSC_PATCH_FILE), check=True)
    stored = kube_cluster.get_json("datasciencecluster")
    assert [_nested(d, facts["dsc_air_gapped_path"]) for d in stored["items"]] == [True]

    # The Account as the dashboard creates it, and the controller's air-gapped status.
    account = facts["account"]
    created = {
        "apiVersion": "nim.opendatahub.io/v1",
        "kind": "Account",
        "metadata": {"name": account, "namespace": kube_namespace},
        "spec": {"apiKeySecret": {"name": "nvidia-nim-access"}},
    }
    kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(created), check=True)
    pointer = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "namespace": kube_namespace,
        "name": account + facts["configmap_suffix"],
    }
    status = json.dumps({"status": {"nimConfig": pointer}})
    patch = ("patch", "account", account, "-n", kube_namespace, "--subresource=status")
    kube_cluster.kubectl(*patch, "--type", "merge", "-p", status, check=True)

    def dashboard_reads() -> dict[str, dict[str, Any]]:
        got = kube_cluster.get_json("account", account, "-n", kube_namespace)
        name = got["status"]["nimConfig"]["name"]
        cm = kube_cluster.get_json("configmap", name, "-n", got["metadata"]["namespace"])
        assert facts["required_labels"].items() <= (cm["metadata"].get("labels") or {}).items()
        models = {key: json.loads(value) for key, value in cm["data"].items()}
        for key, value in models.items():
            assert isinstance(value["namespace"], str) and isinstance(value["tags"], list)
            assert value["name"] == key and set(facts["value_fields"]) <= set(value)
        return models

    first = dashboard_reads()
    assert sorted(first) == sorted(MODELS)
    assert first["llama-3.1-8b-instruct"]["tags"] == ["1.15.5", "latest"]
    # The admin refills it: a new run, applied again, replaces the list in place.
    out = _airgap_cli(tmp_path / "again", kube_namespace, MODELS[1])
    kube_cluster.kubectl("apply", "-k", str(out), check=True)
    assert sorted(dashboard_reads()) == [MODELS[1]]
