"""The reference reader's rule, without a cluster: schema versions, revisions, ties, and
the choice of the applications namespace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nimgen.catalog import SCHEMA_VERSION
from nimgen.cli import main
from nimgen.cluster.kube import NAMESPACE, KubeError, PermissionDenied, Resource
from nimgen.cluster.reader import accounts_everywhere, choose_namespace, judge, pick


def _cm(
    name: str,
    revision: str | None,
    schema: str | None = SCHEMA_VERSION,
    created: str = "2025-01-01T00:00:00Z",
) -> dict[str, Any]:
    annotations = {}
    if schema is not None:
        annotations["opendatahub.io/nim-models-schema-version"] = schema
    if revision is not None:
        annotations["opendatahub.io/nim-models-revision"] = revision
    return {
        "metadata": {"name": name, "annotations": annotations, "creationTimestamp": created},
        "data": {"m": "{}"},
    }


def test_the_highest_revision_of_a_known_schema_wins() -> None:
    candidates = [
        judge(_cm("a", "1")),
        judge(_cm("b", "2")),
        judge(_cm("c", "10")),  # numeric, not lexical: 10 > 2
        judge(_cm("future", "99", schema="2")),
        judge(_cm("no-schema", "50", schema=None)),
        judge(_cm("bad", "3a")),
        judge(_cm("huge", "9" * 40)),
    ]
    chosen = pick(candidates)
    assert chosen is not None and chosen.name == "c"
    problems = {c.name: c.problem for c in candidates if c.problem}
    assert set(problems) == {"future", "no-schema", "bad", "huge"}
    assert "'2'" in str(problems["future"]) and "missing" in str(problems["no-schema"])


def test_a_missing_revision_counts_as_zero_and_ties_go_to_the_newest() -> None:
    old = judge(_cm("old", None, created="2025-01-01T00:00:00Z"))
    new = judge(_cm("new", None, created="2025-06-01T00:00:00Z"))
    assert old.revision == 0
    chosen = pick([old, new])
    assert chosen is not None and chosen.name == "new"
    assert pick([judge(_cm("x", "1", schema="2"))]) is None


class _Namespaces:
    def __init__(self, existing: set[str], forbidden: bool = False) -> None:
        self.existing = existing
        self.forbidden = forbidden

    def get(self, resource: Resource, name: str, namespace: str | None = None) -> object:
        if self.forbidden:
            raise KubeError("permission denied")
        return {"metadata": {"name": name}} if name in self.existing else None


def test_the_applications_namespace_is_the_first_that_exists() -> None:
    both = _Namespaces({"opendatahub", "redhat-ods-applications"})
    assert choose_namespace(both, None) == "redhat-ods-applications"  # type: ignore[arg-type]
    odh = _Namespaces({"opendatahub"})
    assert choose_namespace(odh, None) == "opendatahub"  # type: ignore[arg-type]
    assert choose_namespace(odh, "mine") == "mine"  # type: ignore[arg-type]
    blind = _Namespaces(set(), forbidden=True)
    assert choose_namespace(blind, None) == "redhat-ods-applications"  # type: ignore[arg-type]


class _Partly:
    """A user who may list Accounts only in some namespaces (and maybe not namespaces)."""

    def __init__(self, readable: set[str], namespaces: list[str] | None) -> None:
        self.readable = readable
        self.namespaces = namespaces

    def served(self, resources: tuple[Resource, ...], namespace: str | None = None) -> object:
        raise PermissionDenied("list", "accounts.nim.opendatahub.io", None)

    def objects(self, resource: Resource, namespace: str | None = None) -> list[object]:
        if resource == NAMESPACE:
            if self.namespaces is None:
                raise PermissionDenied("list", "namespaces", None)
            return [{"metadata": {"name": n}} for n in self.namespaces]
        if namespace not in self.readable:
            raise PermissionDenied("list", "accounts.nim.opendatahub.io", namespace)
        return [{"metadata": {"name": "odh-nim-account", "namespace": namespace}}]


def test_accounts_are_read_where_they_may_be_and_the_rest_named() -> None:
    kube = _Partly({"apps", "team-a"}, ["apps", "team-a", "team-b", "team-c"])
    found, unread = accounts_everywhere(kube)  # type: ignore[arg-type]
    assert [a["metadata"]["namespace"] for a in found] == ["apps", "team-a"]
    assert unread == ("team-b", "team-c")
    assert accounts_everywhere(_Partly(set(), None)) == ([], ("*",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("printed", "failed"),
    [
        ("not JSON", "list configmaps in apps: kubectl printed something that is not JSON"),
        ("[]", "list configmaps in apps: kubectl printed what nimgen cannot read (document: "),
        ('{"items": [{"kind": "ConfigMap"}]}', "(items.0.metadata: Field required)"),
        ('{"items": [{"metadata": {"name": "a", "annotations": "x"}}]}', "annotations: Input"),
        # Every call prints this: the list is fine, the OdhDashboardConfig is not.
        ('{"items": [], "metadata": {"name": "d"}, "spec": []}', "odh-dashboard-config: kubectl"),
    ],
)
def test_unexpected_kubectl_output_is_one_line_exit_1(
    printed: str, failed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!/bin/sh\ncat <<'EOF'\n{printed}\nEOF\n")
    kubectl.chmod(0o755)
    with pytest.raises(SystemExit) as caught:
        main(["status", "-n", "apps", "--kubectl", str(kubectl)])
    stderr = capsys.readouterr().err
    assert caught.value.code == 1 and stderr.count("\n") == 1, stderr
    assert stderr.startswith("nimgen: error: ") and failed in stderr
