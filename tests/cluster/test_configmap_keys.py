"""nimgen's ConfigMap-key rule is the API server's own: checked against a real kube-apiserver."""

from __future__ import annotations

import json

from nimgen.names import configmap_key_problem
from tests.support.kube.cluster import KubeCluster
from tests.test_names import KEYS


def test_the_key_rule_is_the_real_servers(kube_cluster: KubeCluster, kube_namespace: str) -> None:
    # The server (not kubectl, which checks client-side too) judges each key: a server-side
    # dry run of a ConfigMap holding it. The empty key cannot be sent as a map key at all.
    verdicts = {}
    for index, key in enumerate(k for k in KEYS if k):
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"key-{index}", "namespace": kube_namespace},
            "data": {key: "v"},
        }
        created = kube_cluster.kubectl(
            "create", "--dry-run=server", "--validate=false", "-f", "-", input=json.dumps(manifest)
        )
        verdicts[key] = created.returncode == 0
    assert {key: configmap_key_problem(key) is None for key in verdicts} == verdicts
    assert not all(verdicts.values()) and any(verdicts.values())  # both kinds were asked
