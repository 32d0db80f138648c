"""The rendered tree against a real kube-apiserver (1.20.2) with the real CRDs installed.

Needs the binaries of tests/support/kube/build.sh; skipped without them, failed under
NIMGEN_REQUIRE_KUBE=1 (CI).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kube.cluster import KubeCluster
from tests.support.nimgen_runner import run_nimgen

OVERLAY_NAMESPACES = {"odh": "opendatahub", "rhoai": "redhat-ods-applications"}
IMAGE = "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.8.4"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``nimgen render`` of the built-in 186-model sample: the kustomize tree."""
    out = tmp_path_factory.mktemp("render") / "nim"
    result = run_nimgen("render", "--output", str(out), "--quiet", eu_decision=False)
    assert result.code == 0, result.stderr
    return out


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


def _ensure_namespace(cluster: KubeCluster, name: str) -> None:
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest), check=True)


@pytest.mark.parametrize("overlay", sorted(OVERLAY_NAMESPACES))
@pytest.mark.parametrize("mode", ["server-side", "client-side"])
def test_overlay_applies(
    kube_cluster: KubeCluster, rendered: Path, overlay: str, mode: str
) -> None:
    namespace = OVERLAY_NAMESPACES[overlay]
    _ensure_namespace(kube_cluster, namespace)
    tree = str(rendered / "overlays" / overlay)
    apply = (
        ["apply", "--server-side", "-k", tree] if mode == "server-side" else ["apply", "-k", tree]
    )
    try:
        first = kube_cluster.kubectl(*apply, check=True).stdout
        assert "configmap/nim-models-data-" in first
        assert "template.template.openshift.io/nim-http-template" in first
        # Applying the same tree again is a no-op, not an error (immutable ConfigMap included).
        kube_cluster.kubectl(*apply, check=True)

        by_kind = {item["kind"]: item for item in kube_cluster.get_json("-k", tree)["items"]}
        assert set(by_kind) == {"ConfigMap", "Template"}
        configmap = by_kind["ConfigMap"]
        assert configmap["metadata"]["namespace"] == namespace
        assert configmap["immutable"] is True
        assert len(configmap["data"]) == 186
        template = by_kind["Template"]
        assert template["metadata"]["namespace"] == namespace
        runtime = template["objects"][0]
        assert runtime["kind"] == "ServingRuntime"
        assert runtime["spec"]["containers"][0]["name"] == "kserve-container"
    finally:
        # The overlays name fixed namespaces: leave them empty for the next mode.
        kube_cluster.kubectl("delete", "-k", tree, "--ignore-not-found", "--wait=true")


@pytest.mark.parametrize("mode", ["server-side", "client-side"])
def test_immutable_configmap_refuses_a_change(
    kube_cluster: KubeCluster, kube_namespace: str, rendered: Path, mode: str
) -> None:
    side = ["--server-side"] if mode == "server-side" else []
    configmap = _load(rendered / "base" / "nim-models-data.yaml")
    configmap["metadata"]["namespace"] = kube_namespace
    kube_cluster.kubectl("apply", *side, "-f", "-", input=json.dumps(configmap), check=True)

    changed = copy.deepcopy(configmap)
    key = sorted(changed["data"])[0]
    entry = json.loads(changed["data"][key])
    entry["displayName"] = entry["displayName"] + " (edited)"
    changed["data"][key] = json.dumps(entry, indent=2) + "\n"
    result = kube_cluster.kubectl("apply", *side, "-f", "-", input=json.dumps(changed))

    assert result.returncode != 0, result.stdout
    assert "field is immutable when `immutable` is set" in result.stderr
    stored = kube_cluster.get_json("configmap", configmap["metadata"]["name"], "-n", kube_namespace)
    assert stored["data"][key] == configmap["data"][key]


def _runtime_from_template(rendered: Path, namespace: str) -> dict[str, Any]:
    template = _load(rendered / "base" / "nim-http-template.yaml")
    runtime: dict[str, Any] = copy.deepcopy(template["objects"][0])
    runtime["metadata"]["namespace"] = namespace
    runtime["spec"]["containers"][0]["image"] = IMAGE
    return runtime


def test_template_servingruntime_accepted_by_kserve_crd(
    kube_cluster: KubeCluster, kube_namespace: str, rendered: Path
) -> None:
    runtime = _runtime_from_template(rendered, kube_namespace)
    kube_cluster.kubectl("create", "-f", "-", input=json.dumps(runtime), check=True)

    name = runtime["metadata"]["name"]
    stored = kube_cluster.get_json("servingruntimes.serving.kserve.io", name, "-n", kube_namespace)
    # Nothing pruned by the CRD's structural schema: what was sent is what is stored.
    assert stored["spec"] == runtime["spec"]
    assert stored["metadata"]["labels"] == runtime["metadata"]["labels"]


def test_kserve_crd_schema_is_enforced(
    kube_cluster: KubeCluster, kube_namespace: str, rendered: Path
) -> None:
    """A control for the test above: the CRD's schema does reject a malformed runtime."""
    runtime = _runtime_from_template(rendered, kube_namespace)
    runtime["metadata"]["name"] = "malformed"
    runtime["spec"]["containers"] = "kserve-container"
    result = kube_cluster.kubectl("create", "-f", "-", input=json.dumps(runtime))
    assert result.returncode != 0, result.stdout
    assert "spec.containers" in result.stderr


def test_dashboard_generic_selector_does_not_match_the_template(
    kube_cluster: KubeCluster, kube_namespace: str, rendered: Path
) -> None:
    base = str(rendered / "base")
    kube_cluster.kubectl("apply", "--server-side", "-n", kube_namespace, "-k", base, check=True)
    templates = ("get", "templates.template.openshift.io", "-n", kube_namespace, "-o", "name")
    assert kube_cluster.kubectl(*templates, check=True).stdout.strip()
    matched = kube_cluster.kubectl(
        *templates, "-l", "opendatahub.io/dashboard=true", check=True
    ).stdout
    assert matched.strip() == ""
