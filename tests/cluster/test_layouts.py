"""Every Account-era layout at once (tests/cluster/layouts.py), retired by ``status``,
``cleanup --apply`` and ``migrate-deployments --apply`` on a real kube-apiserver whose
garbage collector runs: as the least-privileged user of deploy/rbac, and killed at
random points. Skipped without the server binaries, failed under NIMGEN_REQUIRE_KUBE=1.
"""

from __future__ import annotations

import json
import random
import re
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.layouts import (
    ACCOUNTS,
    KINDS,
    Layout,
    build,
    get,
    listed,
    logging_kubectl,
    roll_predictor,
    run_nimgen,
)
from tests.support.kube.cluster import USER, KubeCluster
from tests.support.kube.fixtures import running_cluster
from tests.support.nimgen_runner import NimgenResult
from tests.support.waiting import wait_until

Doc = dict[str, Any]
RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac" / "nimgen-cleanup-clusterrole.yaml"
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[KubeCluster]:
    """A cluster of this module's own, so that its commands may run cluster-wide."""
    with running_cluster() as cluster:
        yield cluster


def settled(cluster: KubeCluster, layout: Layout) -> tuple[dict[str, Any], list[Doc]]:
    """The layout's objects once the garbage collector is done: normalised (no prefix, uid
    or value: what each says, its owners, finalizers, data keys, if it is being deleted),
    and as they are."""
    state: dict[str, Any] = {}
    items: list[Doc] = []

    def done() -> bool:
        state.clear()
        items[:] = [i for namespace in layout.namespaces for i in listed(cluster, KINDS, namespace)]
        for item in items:
            meta = item["metadata"]
            finalizers = meta.get("finalizers") or []
            if meta.get("deletionTimestamp") and set(finalizers) <= {"orphan"}:
                return False  # the collector's work
            owners = [o["kind"] for o in meta.get("ownerReferences") or ()]
            shown = [item.get("spec"), item.get("objects"), sorted(item.get("data") or ())]
            shown += [owners, finalizers, "deletionTimestamp" in meta]
            text = json.dumps([f"{meta['namespace']}/{item['kind']}/{meta['name']}", shown])
            key, value = json.loads(UID.sub("UID", text.replace(layout.prefix, "P")))
            state[key] = value
        return True

    wait_until(done, timeout=90, step=0.5, what="the garbage collector's work")
    return state, items


def _named(node: Any) -> Iterator[str]:
    """Secret names in a spec (the test's own walk, not nimgen's)."""
    if isinstance(node, list):
        for item in node:
            yield from _named(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("secretKeyRef", "secretRef", "secret") and isinstance(value, dict):
                yield value.get("secretName") or value["name"]
            elif key in ("imagePullSecrets", "pullSecrets"):
                yield from (v["name"] if isinstance(v, dict) else v for v in value)
            elif key == "authSecret":
                yield value
            else:
                yield from _named(value)


def check_end_state(layout: Layout, items: list[Doc]) -> None:
    """No Account; no workload names a missing Secret; no Account-era key in a Secret
    nothing names."""
    where = {(i["kind"], i["metadata"]["namespace"], i["metadata"]["name"]) for i in items}
    assert not [w for w in where if w[0] == "Account"]
    named = {
        (i["metadata"]["namespace"], name): f"{i['kind']} {i['metadata']['name']}"
        for i in items
        if i["kind"] not in ("ConfigMap", "Secret", "Template")
        for name in _named(i.get("spec"))
    }
    for (namespace, name), user in named.items():
        assert ("Secret", namespace, name) in where, f"{user} names a missing Secret {name}"
    era_keys = (layout.apps_key, layout.project_key, layout.legacy_key)
    keys = [form for key in era_keys for form in layout.forms(key)]
    for item in (i for i in items if i["kind"] == "Secret"):
        if any(form in json.dumps(item.get("data")) for form in keys):
            place = (item["metadata"]["namespace"], item["metadata"]["name"])
            assert place in named, f"a key nothing names: {place}"


def grant(cluster: KubeCluster, role: str, namespace: str | None) -> None:
    """Bind a role of deploy/rbac to ``user``, cluster-wide or in one namespace, and wait
    until the API server's RBAC cache (fed by a watch) has it."""
    where = ("-n", namespace) if namespace else ()
    binding = ("rolebinding" if namespace else "clusterrolebinding", f"{role}-{namespace or 'all'}")
    cluster.kubectl(
        "create", *binding, *where, f"--clusterrole={role}", f"--user={USER}", check=True
    )
    roles = {d["metadata"]["name"]: d["rules"][-1] for d in yaml.safe_load_all(RBAC.read_text())}
    kind = f"{roles[role]['resources'][0]}.{roles[role]['apiGroups'][0]}".rstrip(".")
    check = ("auth", "can-i", roles[role]["verbs"][-1], kind, *(where or ("-A",)))
    wait_until(
        lambda: not cluster.kubectl(*check, user=USER).returncode,
        timeout=60,
        step=0.5,
        what=f"the grant of {role}",
    )


def _json(done: NimgenResult, code: int) -> dict[str, Any]:
    assert done.code == code, done.stderr
    assert "Traceback" not in done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_every_layout_retires_for_the_least_privileged_user(
    own_cluster: KubeCluster, kube_cluster: KubeCluster, tmp_path: Path
) -> None:
    cluster = own_cluster
    cluster.kubectl("apply", "-f", str(RBAC), check=True)
    layout = build(cluster, "e2e")
    apps, team_a, team_b, _ = layout.namespaces
    before, _ = settled(cluster, layout)
    found = _json(run_nimgen(cluster, "status", "-n", apps, "--json"), 3)
    accounts = {(apps, "odh-nim-account"), (team_a, "odh-nim-account")}
    assert {(a["namespace"], a["name"]) for a in found["accountLeftovers"]} == accounts

    # A cluster-wide plan: the reader role everywhere, the plan role where the Accounts are.
    grant(cluster, "nimgen-reader", None)
    grant(cluster, "nimgen-cleanup-plan", apps)
    denied = run_nimgen(cluster, "cleanup", context=USER)
    assert denied.code == 1, denied.stderr
    assert f"may not list configmaps in namespace {team_a}" in denied.stderr
    grant(cluster, "nimgen-cleanup-plan", team_a)
    plan = _json(run_nimgen(cluster, "cleanup", "--json", context=USER), 3)
    steps = {(s["namespace"], s["name"]): s["action"] for a in plan["accounts"] for s in a["steps"]}
    assert steps == {
        (apps, "nvidia-nim-access"): "delete",
        (apps, "odh-nim-account-cm"): "delete",
        (apps, "odh-nim-account-template"): "delete",
        (apps, "odh-nim-account-pull"): "delete",
        (apps, "nvidia-nim-serving-template"): "delete",
        (apps, "nvidia-nim-images-data"): "unown",  # a CronJob mounts it
        (apps, "nvidia-nim-image-pull"): "unown",  # a Job pulls with it
        (team_a, "odh-nim-account-template"): "delete",
        (team_a, "odh-nim-account-cm"): "unown",  # a StatefulSet mounts it
        (team_a, "odh-nim-account-pull"): "unown",  # the NIMService pulls with it
        (team_a, "nvidia-nim-secrets"): "keep",  # the NIMService and the KServe runtime
    }
    kept_keys = {
        (apps, "nvidia-nim-image-pull"),
        (team_a, "odh-nim-account-pull"),
        (team_a, "nvidia-nim-secrets"),
    }
    assert {(k["namespace"], k["name"]) for k in plan["keysLeft"]} == kept_keys
    pull = f"Secret {apps}/nvidia-nim-image-pull"
    loud = f"the NGC key stays in {pull} (used by Job {apps}/nim-mirror)"
    assert any(w.startswith(loud) for w in plan["warnings"])
    assert plan["migrateNamespaces"] == [team_a, team_b]
    no_backup = ("--backup", str(tmp_path / "no"))
    refused = run_nimgen(cluster, "cleanup", "--apply", *no_backup, context=USER)
    assert refused.code == 1 and "nothing was changed" in refused.stderr, refused.stderr
    assert f"may not delete secrets in namespace {apps}" in refused.stderr
    assert settled(cluster, layout)[0] == before and not (tmp_path / "no").exists()

    # With the cleanup role it is done; then the deployments move, in the projects named.
    for namespace in (apps, team_a):
        grant(cluster, "nimgen-cleanup", namespace)
    backup = tmp_path / "backup"
    backup_args = ("--apply", "--backup", str(backup), "--backup-secrets", "--json")
    cleanup = ("cleanup", *backup_args)
    done = _json(run_nimgen(cluster, *cleanup, context=USER), 0)
    assert any(w.startswith(loud) for w in done["warnings"])
    for namespace in (team_a, team_b):
        grant(cluster, "nimgen-migrate-deployments", namespace)
    migrate = ("migrate-deployments", "-A", *backup_args)
    migrated = run_nimgen(cluster, *migrate, context=USER)
    moved = _json(migrated, 0)
    rolls = {
        (d["namespace"], d["deployment"], d["restarts"], d["gpus"]) for d in moved["deployments"]
    }
    assert rolls == {(team_a, "llama-ks", True, 2), (team_b, "mistral", True, 2)}
    assert "needs 2 more GPU(s) while it rolls" in migrated.stderr
    kinds = ("Deployment", "Pod", "ReplicaSet")
    predictor = [f"{kind} {team_b}/mistral-predictor" for kind in kinds]
    assert {(s["namespace"], s["name"]): s["usedBy"] for s in moved["sharedSecrets"]} == {
        (team_a, "ngc-secret"): [],
        (team_a, "nvidia-nim-secrets"): [f"NIMService {team_a}/llama-svc"],
        (team_b, "ngc-secret"): predictor,
        (team_b, "nvidia-nim-secrets"): predictor,
    }
    check_end_state(layout, settled(cluster, layout)[1])

    # KServe rolls the predictor; a later run deletes the shared Secrets no one names any more.
    roll_predictor(cluster, team_b, "mistral")
    _json(run_nimgen(cluster, *migrate, context=USER), 0)
    after, items = settled(cluster, layout)
    check_end_state(layout, items)
    assert f"{team_b}/Secret/ngc-secret".replace(layout.prefix, "P") not in after
    assert _json(run_nimgen(cluster, "cleanup", "--json", context=USER), 0)["nothingToDo"]
    again = run_nimgen(cluster, "migrate-deployments", "-A", "--json", context=USER)
    assert _json(again, 0)["nothingToDo"]
    final = _json(run_nimgen(cluster, "status", "-n", apps, "--json", context=USER), 0)
    assert final["accountLeftovers"] == [] and final["accountsUnreadIn"] == []
    lookalikes = ("apps/Secret/nvidia-nim-access-old", "apps/ConfigMap/nim-settings")
    lookalikes += ("apps/Template/vllm-runtime-template", "plain/Secret/ngc-secret")
    assert all(f"P-{name}" in after for name in lookalikes)
    # Every object that went is in the backup (0600 files in a 0700 directory).
    gone = [k.replace("P", layout.prefix, 1).split("/") for k in before if k not in after]
    files = {p.name for p in backup.iterdir()} - {"README.txt"}
    assert files == {
        f"{kind.lower()}_{ns}_{name}.yaml"
        for ns, kind, name in gone
        if kind not in ("Pod", "ReplicaSet")
    }
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in backup.iterdir())
    restore_elsewhere(kube_cluster, layout, backup)


def restore_elsewhere(cluster: KubeCluster, layout: Layout, backup: Path) -> None:
    """``cleanup --restore`` into another server brings every object back, values included;
    a restore by ``kubectl apply`` leaves last-applied annotations, and names stay unmasked."""
    for namespace in layout.namespaces:
        cluster.kubectl("create", "namespace", namespace, check=True)
    try:
        done = _json(run_nimgen(cluster, "cleanup", "--restore", str(backup), "--json"), 0)
        assert len(done["done"]) == len(list(backup.glob("*.yaml"))) and done["notRestored"] == []
        for path in backup.glob("*.yaml"):
            saved = yaml.safe_load(path.read_text())
            kind = {"Account": ACCOUNTS, "Template": "templates.template.openshift.io"}.get(
                saved["kind"], saved["kind"]
            )
            restored = get(cluster, kind, saved["metadata"]["name"], saved["metadata"]["namespace"])
            assert restored is not None, path.name
            for field in ("data", "spec", "objects", "type"):
                assert restored.get(field) == saved.get(field), (path.name, field)
        again = _json(run_nimgen(cluster, "cleanup", "--restore", str(backup), "--json"), 0)
        assert all(line.endswith("existed already: kept as it is") for line in again["done"])
        cluster.kubectl("apply", "-f", str(backup), check=True)
        plan = run_nimgen(cluster, "cleanup", *layout.scope)
        assert plan.code == 3 and f"{layout.namespaces[0]}/nvidia-nim-access " in plan.stderr, (
            plan.stderr
        )
        assert "***" not in plan.stderr
    finally:  # no Account left for the other tests of this cluster
        for namespace in layout.namespaces:
            cluster.kubectl("delete", ACCOUNTS, "--all", "-n", namespace)
            cluster.kubectl("delete", "namespace", namespace, "--wait=false")


@dataclass(frozen=True)
class Reference:
    state: dict[str, Any]
    changes: tuple[int, int]  # what cleanup --apply changes, then migrate-deployments --apply


def retire(cluster: KubeCluster, layout: Layout, backup: Path, kill: tuple[int, int]) -> None:
    """``cleanup --apply`` then ``migrate-deployments --apply`` over the layout's namespaces;
    each is SIGKILLed right after its ``kill``-th change (0: never), then run again."""
    for command, at in (("cleanup", kill[0]), ("migrate-deployments", kill[1])):
        args = (command, *layout.scope, "--apply", "--backup", str(backup))
        if at:
            killed = run_nimgen(cluster, *args, env={"NIMGEN_TEST_KILL_AFTER": str(at)})
            assert killed.code == -9, killed.stderr
        done = run_nimgen(cluster, *args)
        assert done.code == 0, done.stderr


@pytest.fixture(scope="module")
def reference(kube_cluster: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The layout retired without interruption, and how many changes each command made."""
    tmp = tmp_path_factory.mktemp("reference")
    script, log = logging_kubectl(tmp)
    layout = build(kube_cluster, f"ref-{uuid.uuid4().hex[:6]}")
    counts = []
    for command in ("cleanup", "migrate-deployments"):
        log.write_text("")
        backup = ("--backup", str(tmp / "b"))
        args = (command, *layout.scope, "--apply", *backup, "--kubectl", str(script))
        done = run_nimgen(kube_cluster, *args)
        assert done.code == 0, done.stderr
        # A create from stdin (not the rights check, "create -f - -o json"), patch or delete.
        change = re.compile(r" create -f -$| patch | delete --raw ")
        counts.append(sum(bool(change.search(line)) for line in log.read_text().splitlines()))
    return Reference(settled(kube_cluster, layout)[0], (counts[0], counts[1]))


@pytest.mark.parametrize("command", ["cleanup", "migrate-deployments"])
def test_a_killed_apply_ends_where_an_uninterrupted_one_does(
    kube_cluster: KubeCluster, reference: Reference, command: str, tmp_path: Path
) -> None:
    # One seeded random kill point inside each command's changes (a fresh layout costs the
    # suite ~12 s a point).
    cleanup_changes, migrate_changes = reference.changes
    if command == "cleanup":
        kill = (random.Random(command).randint(1, cleanup_changes), 0)
    else:
        kill = (0, random.Random(command).randint(1, migrate_changes))
    layout = build(kube_cluster, f"k{command[0]}-{uuid.uuid4().hex[:6]}")
    retire(kube_cluster, layout, tmp_path / "backup", kill)
    assert settled(kube_cluster, layout)[0] == reference.state, kill
