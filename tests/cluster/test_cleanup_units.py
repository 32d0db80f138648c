"""The pieces of ``nimgen cleanup`` that need no cluster: error classification, secret
protection, the backup's stripping and files, the permission list, the carry-over check."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from nimgen.apikey import redact
from nimgen.cluster.allowlist import Carry
from nimgen.cluster.backup import read_backup, render_backup, restorable, write_backup
from nimgen.cluster.cleanup import (
    AccountPlan,
    CleanupPlan,
    Outcome,
    Step,
    _carry_over,
    permissions_needed,
)
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    FINALIZER,
    NIM_SERVICE,
    SECRET,
    TEMPLATE,
    WORKLOADS,
    Conflict,
    NoResourceType,
    NotFound,
    PermissionDenied,
    Ref,
    classify,
)
from nimgen.cluster.refs import named_by
from nimgen.cluster.secretdata import LAST_APPLIED, protect, pull_secret_config
from nimgen.errors import BadInput


def test_a_forbidden_answer_names_the_verb_resource_and_namespace() -> None:
    stderr = (
        'Error from server (Forbidden): secrets "x" is forbidden: User "user" cannot delete '
        'resource "secrets" in API group "" in the namespace "apps"\n'
    )
    error = classify(stderr, "delete Secret apps/x")
    assert isinstance(error, PermissionDenied)
    assert "may not delete secrets in namespace apps" in error.message
    crd = classify(
        'Error from server (Forbidden): ... cannot patch resource "accounts" in API group '
        '"nim.opendatahub.io" in the namespace "apps"',
        "patch",
    )
    assert "patch accounts.nim.opendatahub.io in namespace apps" in crd.message


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ('Error from server (NotFound): configmaps "a" not found', NotFound),
        (
            'Error from server (Conflict): Operation cannot be fulfilled on ConfigMap "a": the '
            "UID in the precondition (x) does not match the UID in record (y)",
            Conflict,
        ),
        (
            "The request is invalid: the server rejected our request due to an error in our "
            "request",
            Conflict,
        ),  # a JSON patch whose test op failed
        ('error: the server doesn\'t have a resource type "accounts"', NoResourceType),
    ],
)
def test_kubectl_errors_are_classified(stderr: str, kind: type) -> None:
    assert isinstance(classify(stderr, "x"), kind)


def test_an_unreachable_cluster_is_one_line() -> None:
    error = classify(
        "E1127 memcache.go:265] couldn't get current server API group list\n"
        "Unable to connect to the server: dial tcp 127.0.0.1:1: connect: connection refused\n",
        "list accounts",
    )
    assert "cannot reach the cluster" in error.message and "\n" not in error.message


def _secret(data: dict[str, str], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "nvidia-nim-access", "namespace": "apps", "uid": "u1", **metadata},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def test_protect_registers_every_form_of_the_key_and_drops_the_values() -> None:
    key = "nvapi-unit-" + "k" * 40
    docker = pull_secret_config(key)
    document = _secret({"api_key": key, ".dockerconfigjson": docker})
    safe = protect(document, keep_values=False)
    assert "data" not in safe and safe["dataKeys"] == [".dockerconfigjson", "api_key"]
    encoded = base64.b64encode(key.encode()).decode()
    auth = json.loads(docker)["auths"]["nvcr.io"]["auth"]
    for form in (key, encoded, auth, document["data"][".dockerconfigjson"]):
        assert redact(f"before {form} after") == "before *** after"
    assert protect(document, keep_values=True)["data"] == document["data"]


def test_a_last_applied_annotation_masks_its_values_never_the_names() -> None:
    """``kubectl apply`` of a backup copies the Secret into the annotation: names and all."""
    key = "nvapi-unit-" + "a" * 40
    names = {"name": "nvidia-nim-access-restored", "namespace": "redhat-ods-applications"}
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": names, "stringData": {"k": key}}
    document = _secret({}, annotations={LAST_APPLIED: json.dumps(applied)})
    safe = protect(document, keep_values=False)
    assert LAST_APPLIED not in safe["metadata"]["annotations"]
    shown = "Secret redhat-ods-applications/nvidia-nim-access-restored opendatahub.io/managed"
    assert redact(shown) == shown
    assert redact(f"leaked {key}") == "leaked ***"


def test_restorable_strips_server_fields_and_the_deleted_owner_only() -> None:
    document = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "odh-nim-account-cm",
            "namespace": "apps",
            "uid": "u2",
            "resourceVersion": "9",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "generation": 1,
            "selfLink": "/x",
            "managedFields": [{}],
            "finalizers": ["x"],
            "labels": {"opendatahub.io/managed": "true"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
            "ownerReferences": [{"uid": "account-uid"}, {"uid": "someone-else"}],
        },
        "data": {"a": "b"},
        "status": {"x": 1},
    }
    restored = restorable(document, frozenset({"account-uid"}))
    assert restored["metadata"] == {
        "name": "odh-nim-account-cm",
        "namespace": "apps",
        "labels": {"opendatahub.io/managed": "true"},
        "ownerReferences": [{"uid": "someone-else"}],
    }
    assert "status" not in restored and restored["data"] == {"a": "b"}
    assert document["metadata"]["uid"] == "u2"  # the plan's copy is untouched


def test_a_backup_records_a_secret_without_its_values_and_reads_back(tmp_path: Path) -> None:
    key = "nvapi-unit-" + "b" * 40
    secret = protect(_secret({"api_key": key}), keep_values=False)
    account = {
        "apiVersion": "nim.opendatahub.io/v1",
        "kind": "Account",
        "metadata": {"name": "a", "namespace": "apps", "uid": "u"},
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "apps"},
    }
    refs = {
        Ref.of(SECRET, secret): secret,
        Ref.of(ACCOUNT, account): account,
        Ref.of(CONFIGMAP, configmap): configmap,
    }
    files = render_backup(refs, frozenset(refs))
    omitted = "secret_apps_nvidia-nim-access.yaml.omitted.txt"
    assert sorted(files) == ["README.txt", "account_apps_a.yaml", "configmap_apps_c.yaml", omitted]
    assert (
        "keys: api_key" in files[omitted].decode() and key not in b"".join(files.values()).decode()
    )
    assert render_backup(refs, frozenset(refs)) == files  # deterministic
    # Written 0600 in a 0700 directory; an earlier run's files stay.
    (tmp_path / "b").mkdir(mode=0o700)
    (tmp_path / "b" / "from-the-first-run.txt").write_text("kept")
    write_backup(tmp_path / "b", files)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "b").iterdir()}
    assert all(modes[name] == 0o600 for name in files) and "from-the-first-run.txt" in modes
    # Read back: Accounts last (they name the others), server fields gone; a stranger refused.
    objects, not_saved = read_backup(tmp_path / "b")
    assert [(r.resource.kind, r.name) for r, _ in objects] == [("ConfigMap", "c"), ("Account", "a")]
    assert "uid" not in objects[1][1]["metadata"] and not_saved == [
        omitted.removesuffix(".omitted.txt")
    ]
    (tmp_path / "b" / "pod.yaml").write_text("kind: Pod\n")
    with pytest.raises(BadInput, match="not an object nimgen backs up"):
        read_backup(tmp_path / "b")


def test_backup_file_is_never_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a looser ``--backup`` directory a file (Secret values with --backup-secrets) is
    0600 already when it is renamed into place, not made so afterwards."""
    directory = tmp_path / "loose"
    directory.mkdir(mode=0o755)
    modes_at_rename: dict[str, int] = {}
    rename = Path.replace

    def recording(self: Path, target: Any) -> Path:
        modes_at_rename[Path(target).name] = stat.S_IMODE(self.stat().st_mode)
        return rename(self, target)

    monkeypatch.setattr(Path, "replace", recording)
    write_backup(directory, {"secret_apps_s.yaml": b"data: {api_key: c2VjcmV0}\n"})
    assert modes_at_rename == {"secret_apps_s.yaml": 0o600}
    assert stat.S_IMODE((directory / "secret_apps_s.yaml").stat().st_mode) == 0o600


def _plan(**overrides: Any) -> AccountPlan:
    fields: dict[str, Any] = {
        "account": Ref("apps", "odh-nim-account", ACCOUNT, "a1"),
        "finalizers": (FINALIZER,),
        "being_deleted": False,
        "steps": (
            Step(Ref("apps", "odh-nim-account-cm", CONFIGMAP, "c1"), 0),
            Step(Ref("apps", "odh-nim-account-template", TEMPLATE, "t1"), 0, ("Pod apps/x",)),
            Step(Ref("apps", "nvidia-nim-access", SECRET, "s1"), None),
        ),
    }
    fields.update(overrides)
    return AccountPlan(**fields)


def test_permissions_are_exactly_what_the_plan_does() -> None:
    plan = _plan()
    assert [s.action for s in plan.steps] == ["delete", "unown", "delete"]
    needed = {str(n) for n in permissions_needed(CleanupPlan((plan,)))}
    assert needed == {
        "delete configmaps in namespace apps",
        "patch templates.template.openshift.io in namespace apps",
        "delete secrets in namespace apps",
        "patch accounts.nim.opendatahub.io in namespace apps",
        "delete accounts.nim.opendatahub.io in namespace apps",
        "get accounts.nim.opendatahub.io in namespace apps",
    }
    kept = _plan(
        steps=(Step(Ref("apps", "nvidia-nim-access", SECRET, "s1"), None, forced=True),),
        finalizers=(),
    )
    assert kept.steps[0].action == "keep" and CleanupPlan((kept,)).keys_left == [kept.steps[0]]
    needed = {str(n) for n in permissions_needed(CleanupPlan((kept,)))}
    assert needed == {
        "get accounts.nim.opendatahub.io in namespace apps",
        "delete accounts.nim.opendatahub.io in namespace apps",
    }


class _PruningKube:
    """A cluster whose OdhDashboardConfig CRD predates nimConfig: the patch is dropped."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, document: dict[str, Any]) -> bool:
        self.created.append(document)
        return True

    def patch(self, ref: Ref, patch: object, *, kind: str = "json") -> dict[str, Any]:
        return {"spec": {"dashboardConfig": {}}}


def test_a_dashboard_that_drops_nim_config_is_a_warning() -> None:
    kube = _PruningKube()
    carry = Carry(
        Ref("apps", "odh-nim-account", ACCOUNT),
        Ref("apps", "custom-nim-models", CONFIGMAP),
        models=("a",),
        configmap={"kind": "ConfigMap"},
        patch_dashboard=True,
    )
    outcome = Outcome()
    _carry_over(kube, carry, outcome)  # type: ignore[arg-type]
    assert kube.created == [{"kind": "ConfigMap"}]
    assert outcome.events == [("created", "ConfigMap apps/custom-nim-models")]
    assert [what for what, _ in outcome.warnings] == ["dropped-nim-config"]


def test_references_are_found_wherever_a_user_holds_them() -> None:
    pod = {
        "containers": [
            {
                "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}],
                "envFrom": [{"secretRef": {"name": "s2"}}, {"configMapRef": {"name": "c1"}}],
            },
            {"env": [{"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c2", "key": "k"}}}]},
        ],
        "imagePullSecrets": [{"name": "s3"}],
        "volumes": [
            {"name": "v", "secret": {"secretName": "s4"}},
            {"name": "w", "configMap": {"name": "c3"}},
            {
                "name": "p",
                "projected": {
                    "sources": [{"secret": {"name": "s5"}}, {"configMap": {"name": "c4"}}]
                },
            },
        ],
    }
    wanted = {(SECRET.kind, f"s{i}") for i in range(1, 6)} | {
        (CONFIGMAP.kind, f"c{i}") for i in range(1, 5)
    }
    template = {"template": {"spec": pod}}
    specs = {"Pod": pod, "CronJob": {"jobTemplate": {"spec": template}}}
    for resource in WORKLOADS:
        document = {
            "metadata": {"namespace": "p", "name": "x"},
            "spec": specs.get(resource.kind, template),
        }
        assert {(r.kind, n) for r, ns, n in named_by(resource, document) if ns == "p"} == wanted
    service = {
        "metadata": {"namespace": "p"},
        "spec": {"authSecret": "k", "image": {"pullSecrets": ["pull"]}},
    }
    assert set(named_by(NIM_SERVICE, service)) == {(SECRET, "p", "k"), (SECRET, "p", "pull")}
    account = {
        "metadata": {"namespace": "apps"},
        "spec": {
            "apiKeySecret": {"name": "key"},
            "modelListConfig": {"name": "list", "namespace": "other"},
        },
        "status": {
            "nimConfig": {"name": "cm"},
            "runtimeTemplate": {"name": "t"},
            "nimPullSecret": {"name": "pull"},
        },
    }
    assert set(named_by(ACCOUNT, account)) == {
        (SECRET, "apps", "key"),
        (CONFIGMAP, "other", "list"),
        (CONFIGMAP, "apps", "cm"),
        (TEMPLATE, "apps", "t"),
        (SECRET, "apps", "pull"),
    }
