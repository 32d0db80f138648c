"""``migrate-deployments --apply``: per deployment its two Secrets (an existing one kept),
then the runtime patch (and ``--restart``); per project, each shared Secret deleted, after
its backup, if a fresh read finds nothing naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from nimgen.cluster.backup import render_backup, write_backup
from nimgen.cluster.cleanup import Event, Need, check_permissions
from nimgen.cluster.kube import INFERENCE_SERVICE, SECRET, SERVING_RUNTIME, Kubectl, Ref
from nimgen.cluster.migrate import PULL_SECRET, Deployment, MigrationPlan, shared_secrets
from nimgen.cluster.refs import References, read_users
from nimgen.cluster.secretdata import new_secret

RESTART_ANNOTATION = "nimgen.opendatahub.io/restarted-at"
CREATED_FOR_ANNOTATION = "nimgen.opendatahub.io/created-for"


def permissions_needed(plan: MigrationPlan, restart: bool) -> list[Need]:
    needs: set[Need] = set()
    for item in (d for d in plan.deployments if d.has_work):
        if item.creates:
            needs.add(Need("create", SECRET, item.namespace))
        if item.ops:
            needs.add(Need("patch", SERVING_RUNTIME, item.namespace))
        if restart:
            needs.add(Need("patch", INFERENCE_SERVICE, item.namespace))
    needs |= {Need("delete", SECRET, s.ref.namespace) for s in plan.shared if not s.users}
    return sorted(needs)


def _migrate(kube: Kubectl, item: Deployment, key: str, restart: bool) -> list[Event]:
    done: list[Event] = []
    created_for = {CREATED_FOR_ANNOTATION: f"InferenceService/{item.name}"}
    for name in item.creates:
        pull = name == PULL_SECRET.format(item.name)
        made = kube.create(new_secret(name, item.namespace, key, pull, created_for))
        done.append(("created" if made else "existed", f"Secret {item.namespace}/{name}"))
    if item.ops and item.runtime is not None:
        kube.patch(Ref(item.namespace, item.runtime, SERVING_RUNTIME), list(item.ops))
        done.append(("repointed", f"ServingRuntime {item.namespace}/{item.runtime}"))
    if restart:
        moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"predictor": {"annotations": {RESTART_ANNOTATION: moment}}}}
        kube.patch(Ref(item.namespace, item.name, INFERENCE_SERVICE), patch, kind="merge")
        done.append(("restarted", f"InferenceService {item.namespace}/{item.name}"))
    return done


def apply_migration(
    kube: Kubectl, plan: MigrationPlan, *, restart: bool, backup: Path
) -> list[Event]:
    """Carry out ``plan``; what was done, one event per change (or per Secret kept)."""
    check_permissions(kube, permissions_needed(plan, restart))
    done: list[Event] = []
    for item in (d for d in plan.deployments if d.has_work):
        done += _migrate(kube, item, plan.keys.get(item.namespace, ""), restart)
    for namespace in sorted({s.ref.namespace for s in plan.shared if not s.users}):
        planned = [s.ref for s in plan.shared if s.ref.namespace == namespace and not s.users]
        now = shared_secrets(References.of(read_users(kube, (namespace,))), planned)
        if still := [s for s in now if s.users]:
            done += [("still-used", f"{s.ref}: named by {', '.join(s.users)}") for s in still]
        if gone := {s.ref: plan.documents[s.ref] for s in now if not s.users}:
            write_backup(backup, render_backup(gone, frozenset(gone)))
            done += [("deleted" if kube.delete(ref) else "gone", str(ref)) for ref in gone]
    return done
