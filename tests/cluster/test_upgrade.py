"""Upgrades and size limits, applied the way docs/contract.md tells users to, on a real server.

The commands in ``_apply_the_documented_way`` are the ones the contract docs and the README
print; if they change there, they change here.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.snapshot import sample_path
from nimgen.tree.configmap import ANNOTATION_REVISION, MAX_ANNOTATION_BYTES, client_apply_bytes
from tests.support.kube.cluster import KubeCluster
from tests.support.nimgen_runner import NimgenResult, run_nimgen

LABEL = "opendatahub.io/nim-models-data=true"


def _render(*args: str) -> NimgenResult:
    """``nimgen render ARGS``, which must succeed."""
    result = run_nimgen("render", *args, timeout=180, eu_decision=False)
    assert result.code == 0, f"exit {result.code}\n{result.stderr}\n{result.stdout}"
    return result


def _namespaced_overlay(tree: Path, namespace: str) -> Path:
    """An overlay like the shipped ones, for a throwaway namespace of this test."""
    overlay = tree.parent / f"{tree.name}-overlay-{namespace}"
    overlay.mkdir(exist_ok=True)
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"namespace: {namespace}\nresources:\n  - ../{tree.name}/base\n"
    )
    return overlay


def _apply_the_documented_way(cluster: KubeCluster, overlay: Path, namespace: str) -> str:
    script = (
        f'new=$(kubectl apply --server-side -k "$1" -o name | sed -n "s#^configmap/##p")\n'
        f'test -n "$new" && kubectl delete configmap -n "$2" -l {LABEL} '
        '--field-selector "metadata.name!=$new"\n'
        'echo "$new"\n'
    )
    # HOME too: kubectl keeps its discovery cache there (else in the working directory).
    home = overlay.parent / "home"
    env = {"KUBECONFIG": str(cluster.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(home)}
    run = subprocess.run(
        ["sh", "-ec", script, "sh", str(overlay), namespace],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr}\n{run.stdout}"
    return run.stdout.strip().splitlines()[-1]


def _configmaps(cluster: KubeCluster, namespace: str) -> list[dict[str, Any]]:
    listed = cluster.get_json("configmap", "-n", namespace, "-l", LABEL)
    items: list[dict[str, Any]] = listed["items"]
    return items


def test_an_upgrade_ends_with_exactly_the_right_objects(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    tree = tmp_path / "nim"
    _render("--output", str(tree), "--exclude", "llama-3.1-8b*", "-q")
    overlay = _namespaced_overlay(tree, kube_namespace)
    first = _apply_the_documented_way(kube_cluster, overlay, kube_namespace)
    [only] = _configmaps(kube_cluster, kube_namespace)
    assert only["metadata"]["name"] == first
    assert only["metadata"]["annotations"][ANNOTATION_REVISION] == "1"

    # The next catalog: one more model. The tree in --output is the previous one.
    _render("--output", str(tree), "-q")
    second = _apply_the_documented_way(kube_cluster, overlay, kube_namespace)
    assert second != first
    [current] = _configmaps(kube_cluster, kube_namespace)
    assert current["metadata"]["name"] == second
    assert current["metadata"]["annotations"][ANNOTATION_REVISION] == "2"
    templates = kube_cluster.get_json("templates", "-n", kube_namespace)["items"]
    assert [t["metadata"]["name"] for t in templates] == ["nim-http-template"]

    # Applying the same tree again changes nothing.
    assert _apply_the_documented_way(kube_cluster, overlay, kube_namespace) == second
    assert [c["metadata"]["name"] for c in _configmaps(kube_cluster, kube_namespace)] == [second]


def _big_snapshot(path: Path, copies: int) -> Path:
    """The sample's models, ``copies`` times under new names: a catalog past 256 KiB."""
    sample = json.loads(sample_path().read_text(encoding="utf-8"))
    models = []
    for copy in range(copies):
        for model in sample["models"]:
            twin = json.loads(json.dumps(model))
            name = f"{model['record']['name']}-c{copy}"
            twin["record"]["name"] = name
            twin["catalog"]["resourceId"] = f"{model['record']['namespace']}/{name}"
            models.append(twin)
    sample["models"] = sorted(models, key=lambda m: m["record"]["name"])
    path.write_text(json.dumps(sample), encoding="utf-8")
    return path


@pytest.mark.parametrize("copies", [4])
def test_past_256_kib_nimgen_warns_and_only_server_side_apply_works(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path, copies: int
) -> None:
    snapshot = _big_snapshot(tmp_path / "big.json", copies)
    tree = tmp_path / "nim"
    run = _render("--from", str(snapshot), "--output", str(tree), "--json")
    assert "client-side" in run.stderr and "--server-side" in run.stderr, run.stderr
    summary = json.loads(run.stdout)
    assert summary["configMap"]["clientApplyBytes"] > MAX_ANNOTATION_BYTES

    overlay = _namespaced_overlay(tree, kube_namespace)
    refused = kube_cluster.kubectl("apply", "-k", str(overlay))
    assert refused.returncode != 0
    assert "Too long: must have at most 262144 bytes" in refused.stderr
    kube_cluster.kubectl("apply", "--server-side", "-k", str(overlay), check=True)
    [stored] = _configmaps(kube_cluster, kube_namespace)
    rendered = yaml.safe_load((tree / "base" / "nim-models-data.yaml").read_text())
    assert stored["immutable"] is True and stored["data"] == rendered["data"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in stored["metadata"].get(
        "annotations", {}
    )


@pytest.mark.parametrize("annotated", [True, False])
def test_the_computed_apply_size_matches_the_real_limit(
    kube_cluster: KubeCluster, kube_namespace: str, annotated: bool
) -> None:
    """nimgen's figure for the annotation is kubectl's, to the byte: at the limit it fits,
    one byte over it is refused."""

    def document(filler: int) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": f"size-{filler:08d}", "namespace": kube_namespace}
        if annotated:
            metadata["annotations"] = {"a": "b"}
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "data": {"k": "x" * filler},
        }

    at_limit = MAX_ANNOTATION_BYTES - client_apply_bytes(document(0))
    assert client_apply_bytes(document(at_limit)) == MAX_ANNOTATION_BYTES
    for filler, accepted in ((at_limit, True), (at_limit + 1, False)):
        result = kube_cluster.kubectl("apply", "-f", "-", input=json.dumps(document(filler)))
        assert (result.returncode == 0) is accepted, result.stderr
        if not accepted:
            assert "Too long: must have at most 262144 bytes" in result.stderr
