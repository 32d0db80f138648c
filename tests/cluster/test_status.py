"""``nimgen status``, the reference reader, against a real kube-apiserver: ConfigMaps of
two revisions (rendered by nimgen itself), look-alikes it must ignore, the dashboard's
customConfigMap, the Template and Account leftovers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from nimgen.snapshot import load_models, sample_path
from nimgen.tree.configmap import PreviousConfigMap, render_configmap
from tests.cluster.layouts import (
    FINALIZER,
    apply,
    configmap,
    nim_config_allowed,
    run_nimgen,
)
from tests.support.kube.cluster import KubeCluster

LABEL = {"opendatahub.io/nim-models-data": "true"}


def _shipped(namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two shipped ConfigMaps as nimgen renders them: revision 1, then 2 after a change."""
    records = [m.record for m in load_models(sample_path()).models]
    first = render_configmap(records[:3], namespace=namespace, revisioned=True)
    second = render_configmap(
        records[:4],
        namespace=namespace,
        revisioned=True,
        previous=PreviousConfigMap(revision=first.revision, digest=first.digest),
    )
    assert (first.revision, second.revision) == (1, 2)
    return yaml.safe_load(first.text), yaml.safe_load(second.text)


def _status(cluster: KubeCluster, namespace: str) -> tuple[int, dict[str, Any], str]:
    done = run_nimgen(cluster, "status", "-n", namespace, "--json")
    return done.code, json.loads(done.stdout), done.stderr


def test_the_reader_picks_the_highest_known_revision(
    kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    ns = kube_namespace
    first, second = _shipped(ns)
    annotations = {"opendatahub.io/nim-models-schema-version": "1"}
    apply(
        kube_cluster,
        second,
        first,
        # a newer revision of a schema this reader does not know: ignored
        configmap(
            "nim-models-data-future",
            ns,
            {},
            labels=LABEL,
            annotations={
                "opendatahub.io/nim-models-schema-version": "99",
                "opendatahub.io/nim-models-revision": "7",
            },
        ),
        # no revision (counts as 0) and an unreadable one (ignored)
        configmap("nim-models-data-norev", ns, {}, labels=LABEL, annotations=annotations),
        configmap(
            "nim-models-data-badrev",
            ns,
            {},
            labels=LABEL,
            annotations={**annotations, "opendatahub.io/nim-models-revision": "v3"},
        ),
        # not labelled: not a candidate at all
        configmap(
            "nim-models-data-unlabelled",
            ns,
            {},
            annotations={**annotations, "opendatahub.io/nim-models-revision": "9"},
        ),
    )
    code, found, stderr = _status(kube_cluster, ns)
    assert found["pickedByLabel"] == second["metadata"]["name"]
    assert found["readerUses"] == f"{ns}/{second['metadata']['name']}"
    listed = {c["name"]: c for c in found["configMaps"]}
    assert "nim-models-data-unlabelled" not in listed
    assert listed[first["metadata"]["name"]]["revision"] == 1
    assert listed["nim-models-data-norev"]["revision"] == 0
    assert "schema version '99'" in listed["nim-models-data-future"]["ignoredBecause"]
    assert "not a decimal" in listed["nim-models-data-badrev"]["ignoredBecause"]
    # No Template yet: a reader would miss it.
    assert code == 1 and f"no Template {ns}/nim-http-template" in found["problems"]
    assert "Traceback" not in stderr
    apply(
        kube_cluster,
        {
            "apiVersion": "template.openshift.io/v1",
            "kind": "Template",
            "metadata": {"name": "nim-http-template", "namespace": ns},
            "objects": [],
        },
    )
    code, found, stderr = _status(kube_cluster, ns)
    assert code == 0, stderr
    assert found["template"] == {"name": "nim-http-template", "found": True}
    assert "* " + second["metadata"]["name"] in stderr


def test_the_dashboard_custom_configmap_wins_and_leftovers_exit_3(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    with nim_config_allowed(kube_cluster, kube_namespace):
        _custom_configmap_wins(kube_cluster, kube_namespace, tmp_path)


def _custom_configmap_wins(kube_cluster: KubeCluster, ns: str, tmp_path: Path) -> None:
    _, second = _shipped(ns)
    apply(
        kube_cluster,
        second,
        {
            "apiVersion": "template.openshift.io/v1",
            "kind": "Template",
            "metadata": {"name": "nim-http-template", "namespace": ns},
            "objects": [],
        },
        {
            "apiVersion": "opendatahub.io/v1alpha",
            "kind": "OdhDashboardConfig",
            "metadata": {"name": "odh-dashboard-config", "namespace": ns},
            "spec": {"nimConfig": {"customConfigMap": {"name": "my-models"}}},
        },
    )
    code, found, _ = _status(kube_cluster, ns)
    assert found["readerUses"] == f"{ns}/my-models"
    assert code == 1 and any("does not exist" in p for p in found["problems"])
    apply(kube_cluster, configmap("my-models", ns, {}))
    code, found, _ = _status(kube_cluster, ns)
    assert code == 0 and found["customConfigMap"]["exists"] is True
    apply(
        kube_cluster,
        {
            "apiVersion": "nim.opendatahub.io/v1",
            "kind": "Account",
            "metadata": {"name": "odh-nim-account", "namespace": ns, "finalizers": [FINALIZER]},
            "spec": {"apiKeySecret": {"name": "nvidia-nim-access"}},
        },
    )
    code, found, stderr = _status(kube_cluster, ns)
    assert code == 3
    assert found["accountLeftovers"] == [
        {
            "namespace": ns,
            "name": "odh-nim-account",
            "finalizer": True,
            "beingDeleted": False,
        }
    ]
    assert "nimgen cleanup" in stderr
    cleaned = run_nimgen(
        kube_cluster, "cleanup", "-n", ns, "--apply", "--backup", str(tmp_path / "b")
    )
    assert cleaned.code == 0, cleaned.stderr
    assert _status(kube_cluster, ns)[0] == 0
