"""The test cluster itself: RBAC for the unprivileged user, the controller manager at work."""

from __future__ import annotations

import json

from tests.support.kube.cluster import USER, KubeCluster
from tests.support.kube.fixtures import CRD_FILES
from tests.support.waiting import wait_until


def test_crds_are_established(kube_cluster: KubeCluster) -> None:
    crds = json.loads(kube_cluster.kubectl("get", "crd", "-o", "json", check=True).stdout)
    names = {item["metadata"]["name"] for item in crds["items"]}
    assert len(names) >= len(CRD_FILES)
    assert {"servingruntimes.serving.kserve.io", "templates.template.openshift.io"} <= names


def test_unprivileged_user_needs_a_role_binding(
    kube_cluster: KubeCluster, kube_namespace: str
) -> None:
    ns = ("-n", kube_namespace)
    denied = kube_cluster.kubectl("get", "configmaps", *ns, user=USER)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()

    kube_cluster.kubectl(
        "create", "rolebinding", "user-view", "--clusterrole=view", "--user=user", *ns, check=True
    )
    # RBAC caches are updated from a watch: poll, with a generous bound.
    wait_until(
        lambda: kube_cluster.kubectl("get", "configmaps", *ns, user=USER).returncode == 0,
        timeout=60,
        step=0.5,
        what="reading configmaps with the view role",
    )
    create = kube_cluster.kubectl("create", "configmap", "nope", *ns, user=USER)
    assert create.returncode != 0
    assert "forbidden" in create.stderr.lower()


def test_namespace_deletion_finishes(kube_cluster: KubeCluster) -> None:
    """Needs the namespace controller of kube-controller-manager."""
    name = "t-harness-delete"
    kube_cluster.kubectl("create", "namespace", name, check=True)
    kube_cluster.kubectl("create", "configmap", "c", "-n", name, check=True)
    kube_cluster.kubectl("delete", "namespace", name, "--timeout=120s", check=True, timeout=150)
    gone = kube_cluster.kubectl("get", "namespace", name)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
