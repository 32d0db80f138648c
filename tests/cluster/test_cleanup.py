"""``nimgen cleanup`` against a real kube-apiserver (1.20) holding what the Account era left.

The objects are made as the old controller and dashboard made them (tests/cluster/
legacy_era.py), with look-alikes nimgen must not touch. Skipped without the server
binaries (tests/support/kube/build.sh), failed under NIMGEN_REQUIRE_KUBE=1.
"""

from __future__ import annotations

import json
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.legacy_era import (
    FINALIZER,
    ISVC_CRD,
    AccountEra,
    apply,
    b64,
    configmap,
    docker_config,
    get,
    make_account,
    make_user_project,
    names,
    nim_config_allowed,
    run_nimgen,
    secret,
    wait_no_accounts,
)
from tests.support.kube.cluster import USER, KubeCluster

ACCOUNTS = "accounts.nim.opendatahub.io"
TEMPLATES = "templates.template.openshift.io"
RBAC_FILE = (
    Path(__file__).resolve().parents[2] / "deploy" / "rbac" / "nimgen-cleanup-clusterrole.yaml"
)


@pytest.fixture(scope="module", autouse=True)
def isvc_crd(kube_cluster: KubeCluster) -> None:
    """The InferenceService stand-in CRD (tests/fixtures/crds), added by these tests."""
    kube_cluster.apply_crds([ISVC_CRD])


@dataclass
class Era:
    apps: str
    project: str
    account: AccountEra
    other: AccountEra  # an Account whose Template someone else owns

    @property
    def secrets_of_key(self) -> list[str]:
        """Every form the key could leak in."""
        key = self.account.key
        return [key, b64(key), b64(docker_config(key)), b64(f"$oauthtoken:{key}")]


def _namespace(cluster: KubeCluster) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    cluster.kubectl("create", "namespace", name, check=True)
    return name


@pytest.fixture
def era(kube_cluster: KubeCluster, kube_namespace: str) -> Iterator[Era]:
    cluster, apps = kube_cluster, kube_namespace
    project = _namespace(cluster)
    account = make_account(cluster, apps, allowlist=["llama-3.1-8b-instruct", "gone-model"])
    other = make_account(cluster, apps, "acct-b", key=account.key, key_secret="acct-b-key")
    # acct-b's Template was re-made by someone else: no owner reference, so it is kept.
    cluster.kubectl(
        "patch",
        TEMPLATES,
        "acct-b-template",
        "-n",
        apps,
        "--type=json",
        "-p",
        '[{"op": "remove", "path": "/metadata/ownerReferences"}]',
        check=True,
    )
    owner = [
        {
            "apiVersion": "nim.opendatahub.io/v1",
            "kind": "Account",
            "name": account.name,
            "uid": account.uid,
        }
    ]
    apply(
        cluster,
        # look-alikes in the applications namespace
        configmap("odh-nim-account-cm-old", apps, {"a": "b"}),
        secret("nvidia-nim-access-backup", apps, {"api_key": "unrelated-value-1234"}),
        # owned by the Account but not something the controller made: must survive (orphaned)
        configmap("extra-owned-by-account", apps, {"a": "b"}, ownerReferences=owner),
        # look-alikes in the user's project
        secret("nvidia-nim-secrets-old", project, {"NGC_API_KEY": "unrelated-value-5678"}),
        configmap("ngc-secret", project, {"not": "a secret"}),
    )
    make_user_project(cluster, project, account.key, ("llama",))
    yield Era(apps, project, account, other)
    cluster.kubectl("delete", "namespace", project, "--wait=false", "--ignore-not-found")


def _snapshot(cluster: KubeCluster, *namespaces: str) -> dict[str, Any]:
    """Every object of the kinds nimgen touches, with uid and resourceVersion."""
    found: dict[str, Any] = {}
    for namespace in namespaces:
        for kind in (
            "configmaps",
            "secrets",
            TEMPLATES,
            ACCOUNTS,
            "servingruntimes",
            "inferenceservices",
        ):
            listed = cluster.kubectl("get", kind, "-n", namespace, "-o", "json", check=True)
            for item in json.loads(listed.stdout)["items"]:
                meta = item["metadata"]
                if meta["name"].startswith("default-token"):
                    continue
                found[f"{namespace}/{kind}/{meta['name']}"] = (meta["uid"], meta["resourceVersion"])
    return found


def _no_key(era: Era, *texts: str) -> None:
    for text in texts:
        for form in era.secrets_of_key:
            assert form not in text


def _files_text(directory: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.iterdir()))


def test_plan_lists_exactly_the_right_objects_and_changes_nothing(
    kube_cluster: KubeCluster, era: Era
) -> None:
    before = _snapshot(kube_cluster, era.apps, era.project)
    done = run_nimgen(kube_cluster, "cleanup", "--namespace", era.apps, "--json")
    assert done.returncode == 3, done.stderr
    _no_key(era, done.stdout, done.stderr)
    plan = json.loads(done.stdout)
    assert plan["mode"] == "plan" and not plan["nothingToDo"]
    accounts = {a["name"]: a for a in plan["accounts"]}
    assert sorted(accounts) == ["acct-b", "odh-nim-account"]
    main = accounts["odh-nim-account"]
    assert main["finalizer"] is True
    assert sorted((d["kind"], d["name"]) for d in main["delete"]) == [
        ("ConfigMap", "odh-nim-account-cm"),
        ("Secret", "nvidia-nim-access"),
        ("Secret", "odh-nim-account-pull"),
        ("Template", "odh-nim-account-template"),
    ]
    assert main["allowlist"]["models"] == ["gone-model", "llama-3.1-8b-instruct"]
    assert main["allowlist"]["carryCommand"].endswith("--carry-allowlist")
    other = accounts["acct-b"]
    assert sorted((d["kind"], d["name"]) for d in other["delete"]) == [
        ("ConfigMap", "acct-b-cm"),
        ("Secret", "acct-b-key"),
        ("Secret", "acct-b-pull"),
    ]
    assert any("acct-b-template" in note and "kept" in note for note in other["notes"])
    kept = [k for k in plan["keptInUserProjects"] if k["namespace"] == era.project]
    assert kept == [
        {
            "namespace": era.project,
            "servingRuntime": "llama",
            "nim": True,
            "sharedSecrets": ["nvidia-nim-secrets", "ngc-secret"],
            "deployments": ["llama"],
        }
    ]
    assert "clear    finalizer" in done.stderr
    assert _snapshot(kube_cluster, era.apps, era.project) == before


def test_apply_retires_everything_and_keeps_the_rest(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path
) -> None:
    project_before = _snapshot(kube_cluster, era.project)
    backup = tmp_path / "backup"
    done = run_nimgen(kube_cluster, "cleanup", "-n", era.apps, "--apply", "--backup", str(backup))
    assert done.returncode == 0, done.stderr
    _no_key(era, done.stdout, done.stderr, _files_text(backup))
    wait_no_accounts(kube_cluster, era.apps)
    assert names(kube_cluster, TEMPLATES, era.apps) == {"acct-b-template"}
    assert names(kube_cluster, "configmaps", era.apps) == {
        "odh-nim-account-cm-old",
        "extra-owned-by-account",
        "odh-nim-account-models",
    }
    assert {n for n in names(kube_cluster, "secrets", era.apps) if "token" not in n} == {
        "nvidia-nim-access-backup"
    }
    orphan = get(kube_cluster, "configmap", "extra-owned-by-account", era.apps)
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")
    assert _snapshot(kube_cluster, era.project) == project_before
    # What the backup holds, and that Secrets are recorded without their values.
    files = sorted(p.name for p in backup.iterdir())
    assert f"account_{era.apps}_odh-nim-account.yaml" in files
    assert f"secret_{era.apps}_nvidia-nim-access.yaml.omitted.txt" in files
    assert f"secret_{era.apps}_odh-nim-account-pull.yaml.omitted.txt" in files
    assert f"configmap_{era.apps}_odh-nim-account-models.yaml" in files
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in backup.iterdir())
    account = yaml.safe_load((backup / f"account_{era.apps}_odh-nim-account.yaml").read_text())
    assert "status" not in account and "finalizers" not in account["metadata"]
    assert not {"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"} & set(
        account["metadata"]
    )
    # A second run finds nothing to do.
    again = run_nimgen(kube_cluster, "cleanup", "-n", era.apps, "--apply", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["nothingToDo"] is True
    assert "nothing to clean up" in again.stderr


def test_backup_restores_the_deleted_objects(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    done = run_nimgen(
        kube_cluster,
        "cleanup",
        "-n",
        era.apps,
        "--apply",
        "--backup",
        str(backup),
        "--backup-secrets",
    )
    assert done.returncode == 0, done.stderr
    _no_key(era, done.stdout, done.stderr)
    assert b64(era.account.key) in _files_text(backup)  # --backup-secrets keeps them
    restored = kube_cluster.kubectl("apply", "-f", str(backup), check=True)
    assert "account.nim.opendatahub.io/odh-nim-account created" in restored.stdout
    key_secret = get(kube_cluster, "secret", "nvidia-nim-access", era.apps)
    assert key_secret is not None and key_secret["data"]["api_key"] == b64(era.account.key)
    for kind, name in (
        ("configmap", "odh-nim-account-cm"),
        (TEMPLATES, "odh-nim-account-template"),
        ("secret", "odh-nim-account-pull"),
        (ACCOUNTS, "acct-b"),
    ):
        assert get(kube_cluster, kind, name, era.apps) is not None, name
    account = get(kube_cluster, ACCOUNTS, "odh-nim-account", era.apps)
    assert account is not None
    assert account["spec"]["modelListConfig"] == {"name": "odh-nim-account-models"}
    assert FINALIZER not in (account["metadata"].get("finalizers") or [])
    # The restored objects are plain (no owner): cleaning again deletes the Accounts and
    # the key Secrets, and keeps what no longer proves it was the controller's.
    again = run_nimgen(
        kube_cluster, "cleanup", "-n", era.apps, "--apply", "--backup", str(tmp_path / "second")
    )
    assert again.returncode == 0, again.stderr
    wait_no_accounts(kube_cluster, era.apps)


@pytest.mark.parametrize("step", ["backup", "owned", "finalizer"])
def test_an_interrupted_run_is_finished_by_the_next(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path, step: str
) -> None:
    backup = tmp_path / "backup"
    args = ("cleanup", "-n", era.apps, "--apply", "--backup", str(backup))
    killed = run_nimgen(kube_cluster, *args, env={"NIMGEN_TEST_KILL_AFTER": step})
    assert killed.returncode == -9, killed.stderr  # SIGKILL, as a crash or kill -9
    assert (backup / f"account_{era.apps}_odh-nim-account.yaml").is_file()
    # Accounts are retired in name order: acct-b first. It is still there, half done.
    first = get(kube_cluster, ACCOUNTS, "acct-b", era.apps)
    assert first is not None
    owned_left = get(kube_cluster, "configmap", "acct-b-cm", era.apps) is not None
    assert owned_left == (step == "backup")
    assert (FINALIZER in (first["metadata"].get("finalizers") or [])) == (step != "finalizer")
    finished = run_nimgen(kube_cluster, *args)
    assert finished.returncode == 0, finished.stderr
    wait_no_accounts(kube_cluster, era.apps)
    # The first run's backup is still whole: the second added to it, removed nothing.
    assert (backup / f"template_{era.apps}_odh-nim-account-template.yaml").is_file()
    again = run_nimgen(kube_cluster, "cleanup", "-n", era.apps)
    assert again.returncode == 0 and "nothing to clean up" in again.stderr


def _grant(cluster: KubeCluster, apps: str, project: str, *, drop_secret_delete: bool) -> str:
    """Bind the roles of deploy/rbac to ``user`` (the cleanup role optionally without
    ``delete`` on secrets); returns the suffix of the cluster-scoped names to remove."""
    suffix = uuid.uuid4().hex[:8]
    roles = [d for d in yaml.safe_load_all(RBAC_FILE.read_text()) if d]
    for role in roles:
        if role["metadata"]["name"] == "nimgen-cleanup" and drop_secret_delete:
            for rule in role["rules"]:
                if rule["resources"] == ["secrets"]:
                    rule["verbs"] = [v for v in rule["verbs"] if v != "delete"]
        role["metadata"]["name"] += f"-{suffix}"
    apply(cluster, *roles)
    cluster.kubectl(
        "create",
        "clusterrolebinding",
        f"reader-{suffix}",
        f"--clusterrole=nimgen-cluster-reader-{suffix}",
        f"--user={USER}",
        check=True,
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        f"cleanup-{suffix}",
        "-n",
        apps,
        f"--clusterrole=nimgen-cleanup-{suffix}",
        f"--user={USER}",
        check=True,
    )
    # RBAC is served from a watch cache: wait (bounded) until the grant is visible.
    deadline = time.monotonic() + 60
    for check in (("patch", ACCOUNTS, "-n", apps), ("list", "servingruntimes", "-A")):
        while cluster.kubectl("auth", "can-i", *check, user=USER).returncode:
            assert time.monotonic() < deadline, f"the grant to {check} never took effect"
            time.sleep(0.5)
    return suffix


def _revoke(cluster: KubeCluster, suffix: str) -> None:
    cluster.kubectl("delete", "clusterrolebinding", f"reader-{suffix}", "--ignore-not-found")
    for role in ("nimgen-cluster-reader", "nimgen-cleanup", "nimgen-migrate-deployments"):
        cluster.kubectl("delete", "clusterrole", f"{role}-{suffix}", "--ignore-not-found")


def test_a_user_without_delete_on_secrets_fails_by_name_with_nothing_done(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path
) -> None:
    suffix = _grant(kube_cluster, era.apps, era.project, drop_secret_delete=True)
    try:
        before = _snapshot(kube_cluster, era.apps, era.project)
        backup = tmp_path / "backup"
        done = run_nimgen(
            kube_cluster,
            "cleanup",
            "-n",
            era.apps,
            "--apply",
            "--backup",
            str(backup),
            context=USER,
        )
        assert done.returncode == 1, done.stderr
        assert f"may not delete secrets in namespace {era.apps}" in done.stderr
        assert "nothing was changed" in done.stderr
        assert "Traceback" not in done.stderr
        assert not backup.exists()
        assert _snapshot(kube_cluster, era.apps, era.project) == before
    finally:
        _revoke(kube_cluster, suffix)


def test_the_documented_roles_are_enough(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path
) -> None:
    suffix = _grant(kube_cluster, era.apps, era.project, drop_secret_delete=False)
    try:
        done = run_nimgen(
            kube_cluster,
            "cleanup",
            "-n",
            era.apps,
            "--apply",
            "--backup",
            str(tmp_path / "backup"),
            context=USER,
        )
        assert done.returncode == 0, done.stderr
        wait_no_accounts(kube_cluster, era.apps)
        status = run_nimgen(kube_cluster, "status", "-n", era.apps, "--json", context=USER)
        assert json.loads(status.stdout)["accountLeftovers"] == [], status.stderr
    finally:
        _revoke(kube_cluster, suffix)


def test_an_account_already_being_deleted_is_released(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path
) -> None:
    """``oc delete account`` hung on the finalizer: cleanup finishes it."""
    kube_cluster.kubectl(
        "delete", ACCOUNTS, "odh-nim-account", "-n", era.apps, "--wait=false", check=True
    )
    stuck = get(kube_cluster, ACCOUNTS, "odh-nim-account", era.apps)
    assert stuck is not None and stuck["metadata"].get("deletionTimestamp")
    done = run_nimgen(
        kube_cluster, "cleanup", "-n", era.apps, "--apply", "--backup", str(tmp_path / "b")
    )
    assert done.returncode == 0, done.stderr
    assert "already being deleted" in done.stderr
    wait_no_accounts(kube_cluster, era.apps)


def test_carry_allowlist_makes_the_custom_configmap_and_patches_the_dashboard(
    kube_cluster: KubeCluster, era: Era, tmp_path: Path, dashboard_with_nim_config: None
) -> None:
    tree = tmp_path / "tree"
    rendered = _render(tree)
    assert rendered.returncode == 0, rendered.stderr
    kube_cluster.kubectl(
        "create", "-n", era.apps, "-f", str(tree / "base" / "nim-models-data.yaml"), check=True
    )
    apply(
        kube_cluster,
        {
            "apiVersion": "opendatahub.io/v1alpha",
            "kind": "OdhDashboardConfig",
            "metadata": {"name": "odh-dashboard-config", "namespace": era.apps},
            "spec": {"dashboardConfig": {"disableTracking": True}},
        },
    )
    done = run_nimgen(
        kube_cluster,
        "cleanup",
        "-n",
        era.apps,
        "--apply",
        "--carry-allowlist",
        "--backup",
        str(tmp_path / "b"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    carried = get(kube_cluster, "configmap", "custom-nim-models", era.apps)
    assert carried is not None and sorted(carried["data"]) == ["llama-3.1-8b-instruct"]
    assert "opendatahub.io/nim-models-data" not in (carried["metadata"].get("labels") or {})
    dashboard = get(kube_cluster, "odhdashboardconfig", "odh-dashboard-config", era.apps)
    assert dashboard is not None
    assert dashboard["spec"]["nimConfig"]["customConfigMap"] == {
        "name": "custom-nim-models",
        "namespace": era.apps,
    }
    assert dashboard["spec"]["dashboardConfig"] == {"disableTracking": True}
    assert "gone-model" in done.stderr  # named as not in the catalog
    status = run_nimgen(kube_cluster, "status", "-n", era.apps, "--json")
    assert json.loads(status.stdout)["readerUses"] == f"{era.apps}/custom-nim-models"


def _render(tree: Path) -> Any:
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "nimgen", "render", "--output", str(tree), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def dashboard_with_nim_config(kube_cluster: KubeCluster, kube_namespace: str) -> Iterator[None]:
    with nim_config_allowed(kube_cluster, kube_namespace):
        yield
