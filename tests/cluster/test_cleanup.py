"""``nimgen cleanup`` on a real kube-apiserver, beyond the layouts of test_layouts.py: the
allowlist carried over, and a backup without Secret values."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cluster.layouts import (
    ACCOUNTS,
    apply,
    get,
    make_account,
    names,
    nim_config_allowed,
    personal_key,
    run_nimgen,
)
from tests.support import nimgen_runner
from tests.support.kube.cluster import KubeCluster
from tests.support.waiting import wait_until


def test_carry_allowlist_makes_the_custom_configmap_and_patches_the_dashboard(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    make_account(
        kube_cluster, ns, key=personal_key(), allowlist=["llama-3.1-8b-instruct", "gone-model"]
    )
    tree = tmp_path / "tree"
    rendered = nimgen_runner.run_nimgen("render", "--output", str(tree), "-q", eu_decision=False)
    assert rendered.code == 0, rendered.stderr
    kube_cluster.kubectl(
        "create", "-n", ns, "-f", str(tree / "base" / "nim-models-data.yaml"), check=True
    )
    dashboard = {
        "apiVersion": "opendatahub.io/v1alpha",
        "kind": "OdhDashboardConfig",
        "metadata": {"name": "odh-dashboard-config", "namespace": ns},
        "spec": {"dashboardConfig": {"disableTracking": True}},
    }
    with nim_config_allowed(kube_cluster, ns):
        apply(kube_cluster, dashboard)
        plan = run_nimgen(kube_cluster, "cleanup", "-n", ns, "--json")
        assert plan.code == 3 and "add --carry-allowlist" in plan.stderr
        allowlist = json.loads(plan.stdout)["accounts"][0]["allowlist"]
        assert allowlist["models"] == ["gone-model", "llama-3.1-8b-instruct"]
        args = (
            "cleanup",
            "-n",
            ns,
            "--apply",
            "--carry-allowlist",
            "--backup",
            str(tmp_path / "b"),
        )
        done = run_nimgen(kube_cluster, *args)
        assert done.code == 0, done.stderr
        assert "gone-model" in done.stderr  # named as not in the catalog
        carried = get(kube_cluster, "configmap", "custom-nim-models", ns)
        assert carried is not None and sorted(carried["data"]) == ["llama-3.1-8b-instruct"]
        patched = get(kube_cluster, "odhdashboardconfig", "odh-dashboard-config", ns)
        assert patched is not None and patched["spec"]["dashboardConfig"] == {
            "disableTracking": True
        }
        assert patched["spec"]["nimConfig"]["customConfigMap"] == {
            "name": "custom-nim-models",
            "namespace": ns,
        }
        status = run_nimgen(kube_cluster, "status", "-n", ns, "--json")
        assert json.loads(status.stdout)["readerUses"] == f"{ns}/custom-nim-models"
    # The allowlist stays, and is in the backup for the record.
    assert "odh-nim-account-models" in names(kube_cluster, "configmaps", ns)
    assert (tmp_path / "b" / f"configmap_{ns}_odh-nim-account-models.yaml").is_file()


def test_without_backup_secrets_a_secret_is_recorded_not_saved(
    kube_cluster: KubeCluster, kube_namespace: str, tmp_path: Path
) -> None:
    ns = kube_namespace
    key = personal_key()
    make_account(kube_cluster, ns, key=key)
    backup = tmp_path / "backup"
    done = run_nimgen(kube_cluster, "cleanup", "-n", ns, "--apply", "--backup", str(backup))
    assert done.code == 0, done.stderr
    note = (backup / f"secret_{ns}_nvidia-nim-access.yaml.omitted.txt").read_text()
    assert "keys: api_key" in note and "label: opendatahub.io/managed=true" in note
    saved = "".join(p.read_text() for p in backup.iterdir())
    assert key not in saved and key not in done.stderr + done.stdout

    def gone() -> bool:  # the collector finishes the Orphan deletes
        key_secret = get(kube_cluster, "secret", "nvidia-nim-access", ns)
        return key_secret is None and not names(kube_cluster, ACCOUNTS, ns)

    wait_until(gone, timeout=90, step=0.5, what="the Account and its key gone")
    restored = run_nimgen(kube_cluster, "cleanup", "--restore", str(backup))
    assert restored.code == 0, restored.stderr
    assert f"not restored: secret_{ns}_nvidia-nim-access.yaml" in restored.stderr
    assert get(kube_cluster, ACCOUNTS, "odh-nim-account", ns) is not None
    assert get(kube_cluster, "secret", "nvidia-nim-access", ns) is None
    # No Account left behind for the other tests of this cluster.
    kube_cluster.kubectl("delete", ACCOUNTS, "--all", "-n", ns, check=True)
