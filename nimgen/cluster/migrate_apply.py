"""``migrate-deployments --apply``: carry out a ``MigrationPlan``.

Per deployment: create its two Secrets (manifests on kubectl's stdin, so the key is
never a process argument; an existing one is kept), then patch its ServingRuntime
(guarded by ``test`` ops). With ``--restart`` the InferenceService's predictor gets a
restart annotation, which KServe copies to the pod template, in raw and serverless
mode alike, so the pods roll. Last, per project, the shared Secrets are deleted only
if a fresh read shows no ServingRuntime or InferenceService referring to them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nimgen.cluster.cleanup import Need, check_permissions
from nimgen.cluster.kube import INFERENCE_SERVICE, SECRET, SERVING_RUNTIME, Kubectl, Ref
from nimgen.cluster.migrate import Deployment, MigrationPlan
from nimgen.cluster.secretdata import key_secret, pull_secret
from nimgen.cluster.usage import read_usage

RESTART_ANNOTATION = "nimgen.opendatahub.io/restarted-at"
CREATED_FOR_ANNOTATION = "nimgen.opendatahub.io/created-for"


def permissions_needed(plan: MigrationPlan, restart: bool) -> list[Need]:
    needs: set[Need] = set()
    for item in plan.deployments:
        if not item.has_work:
            continue
        if item.create_key_secret or item.create_pull_secret:
            needs.add(Need(item.namespace, SECRET, "create"))
        if item.ops:
            needs.add(Need(item.namespace, SERVING_RUNTIME, "patch"))
        if restart:
            needs.add(Need(item.namespace, INFERENCE_SERVICE, "patch"))
    for shared in plan.shared:
        if shared.deletable:
            needs.add(Need(shared.namespace, SECRET, "delete"))
    return sorted(needs)


def _migrate(kube: Kubectl, item: Deployment, key: str | None, restart: bool) -> list[str]:
    done = []
    created_for = {CREATED_FOR_ANNOTATION: f"InferenceService/{item.name}"}
    for create, name, secret in (
        (item.create_key_secret, item.key_secret, key_secret),
        (item.create_pull_secret, item.pull_secret, pull_secret),
    ):
        if not create:
            continue
        if kube.create(secret(name, item.namespace, key or "", created_for)):
            done.append(f"created Secret {item.namespace}/{name}")
        else:
            done.append(f"Secret {item.namespace}/{name} existed already: kept")
    if item.ops and item.runtime is not None:
        kube.patch(Ref(item.namespace, item.runtime, SERVING_RUNTIME), list(item.ops))
        done.append(f"pointed ServingRuntime {item.namespace}/{item.runtime} at its own secrets")
    if restart:
        moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"predictor": {"annotations": {RESTART_ANNOTATION: moment}}}}
        kube.patch(Ref(item.namespace, item.name, INFERENCE_SERVICE), patch, kind="merge")
        done.append(f"restarting the predictor of {item.namespace}/{item.name}")
    return done


def apply_migration(
    kube: Kubectl, plan: MigrationPlan, *, restart: bool, log: Callable[[str], None]
) -> list[str]:
    """Carry out ``plan``; returns what was done, one line per change."""
    check_permissions(kube, permissions_needed(plan, restart))
    done: list[str] = []
    for item in plan.deployments:
        if item.has_work:
            for line in _migrate(kube, item, plan.keys.get(item.namespace), restart):
                log(f"  {line}")
                done.append(line)
    for shared in plan.shared:
        if not shared.deletable:
            continue
        users = read_usage(kube, shared.namespace).shared_secret_users(shared.namespace)
        if users:
            line = (
                f"kept the shared secrets of {shared.namespace}: still used by {', '.join(users)}"
            )
        else:
            gone = [str(ref) for ref in shared.existing if kube.delete(ref)]
            line = f"deleted {', '.join(gone) or 'nothing (already gone)'}"
        log(f"  {line}")
        done.append(line)
    return done
