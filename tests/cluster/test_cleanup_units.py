"""The pieces of ``nimgen cleanup`` that need no cluster: error classification, secret
protection, the backup's stripping and files, the permission list, the carry-over check."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from nimgen.cluster.legacy import AccountPlan, CleanupPlan, Owned, settling
from nimgen.cluster.usage import secrets_used

from nimgen.apikey import redact
from nimgen.cluster.allowlist import Carry
from nimgen.cluster.backup import render_backup, restorable, write_backup
from nimgen.cluster.cleanup import Outcome, _carry_over, permissions_needed
from nimgen.cluster.kube import (
    ACCOUNT,
    CONFIGMAP,
    SECRET,
    TEMPLATE,
    Conflict,
    NoResourceType,
    NotFound,
    PermissionDenied,
    Ref,
    classify,
)
from nimgen.cluster.secretdata import protect, pull_secret_config


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
    document = _secret(
        {"api_key": key, ".dockerconfigjson": docker},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": '{"data":{"x":"y"}}'},
    )
    safe = protect(document, keep_values=False)
    assert "data" not in safe and safe["dataKeys"] == [".dockerconfigjson", "api_key"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in safe["metadata"]["annotations"]
    encoded = base64.b64encode(key.encode()).decode()
    auth = json.loads(docker)["auths"]["nvcr.io"]["auth"]
    for form in (key, encoded, auth, document["data"][".dockerconfigjson"]):
        assert redact(f"before {form} after") == "before *** after"
    kept = protect(document, keep_values=True)
    assert kept["data"] == document["data"]


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


def test_the_backup_records_a_secret_without_its_values(tmp_path: Path) -> None:
    key = "nvapi-unit-" + "b" * 40
    secret = protect(_secret({"api_key": key}), keep_values=False)
    account = {
        "apiVersion": "nim.opendatahub.io/v1",
        "kind": "Account",
        "metadata": {"name": "odh-nim-account", "namespace": "apps", "uid": "a1"},
    }
    refs = {Ref.of(SECRET, secret): secret, Ref.of(ACCOUNT, account): account}
    files = render_backup(refs, frozenset(refs))
    assert sorted(files) == [
        "README.txt",
        "account_apps_odh-nim-account.yaml",
        "secret_apps_nvidia-nim-access.yaml.omitted.txt",
    ]
    note = files["secret_apps_nvidia-nim-access.yaml.omitted.txt"].decode()
    assert "keys: api_key" in note and key not in note
    assert yaml.safe_load(files["account_apps_odh-nim-account.yaml"])["kind"] == "Account"
    # Written 0600 in a 0700 directory; an earlier run's files stay.
    (tmp_path / "b").mkdir(mode=0o700)
    (tmp_path / "b" / "from-the-first-run.yaml").write_text("kind: ConfigMap\n")
    write_backup(tmp_path / "b", files)
    assert (tmp_path / "b" / "from-the-first-run.yaml").is_file()
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "b").iterdir()}
    assert all(modes[name] == 0o600 for name in files)
    assert render_backup(refs, frozenset(refs)) == files  # deterministic


def _plan(**overrides: Any) -> AccountPlan:
    fields: dict[str, Any] = {
        "account": Ref("apps", "odh-nim-account", ACCOUNT, "a1"),
        "has_finalizer": True,
        "other_finalizers": (),
        "being_deleted": False,
        "owned": (
            Owned(Ref("apps", "odh-nim-account-cm", CONFIGMAP, "c1"), "model ConfigMap"),
            Owned(Ref("apps", "odh-nim-account-template", TEMPLATE, "t1"), "Template"),
        ),
        "api_key": Ref("apps", "nvidia-nim-access", SECRET, "s1"),
        "keep_api_key": False,
        "allowlist": None,
    }
    fields.update(overrides)
    return AccountPlan(**fields)


def test_permissions_are_exactly_what_the_plan_does() -> None:
    needed = {str(n) for n in permissions_needed(CleanupPlan((_plan(),), ()), [])}
    assert needed == {
        "delete configmaps in namespace apps",
        "delete templates.template.openshift.io in namespace apps",
        "delete secrets in namespace apps",
        "patch accounts.nim.opendatahub.io in namespace apps",
        "delete accounts.nim.opendatahub.io in namespace apps",
        "get accounts.nim.opendatahub.io in namespace apps",
    }
    kept = _plan(keep_api_key=True, has_finalizer=False, being_deleted=True, owned=())
    needed = {str(n) for n in permissions_needed(CleanupPlan((kept,), ()), [])}
    assert needed == {"get accounts.nim.opendatahub.io in namespace apps"}


def test_an_account_the_garbage_collector_is_removing_is_left_to_it() -> None:
    gone = {"metadata": {"deletionTimestamp": "t", "finalizers": ["orphan"]}}
    assert settling(gone)
    assert not settling({"metadata": {"deletionTimestamp": "t", "finalizers": ["orphan", "x"]}})
    assert not settling({"metadata": {"finalizers": ["orphan"]}})


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
    assert len(outcome.warnings) == 1 and "dropped spec.nimConfig" in outcome.warnings[0]


def test_secret_references_are_found_wherever_a_spec_holds_them() -> None:
    runtime = {
        "spec": {
            "containers": [
                {
                    "env": [
                        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}}
                    ],
                    "envFrom": [{"secretRef": {"name": "s2"}}],
                },
            ],
            "imagePullSecrets": [{"name": "s3"}],
            "volumes": [
                {"name": "v", "secret": {"secretName": "s4"}},
                {"name": "p", "projected": {"sources": [{"secret": {"name": "s5"}}]}},
            ],
        }
    }
    assert secrets_used(runtime) == {"s1", "s2", "s3", "s4", "s5"}
