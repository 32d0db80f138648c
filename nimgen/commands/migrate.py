"""The body of ``nimgen migrate-deployments``: read, plan, show, and with ``--apply`` do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nimgen.apikey import ENV_VAR, load_api_key
from nimgen.cluster.backup import backup_directory
from nimgen.cluster.kube import INFERENCE_SERVICE, Kubectl
from nimgen.cluster.migrate import apply_migration, plan_migration
from nimgen.cluster.refs import read_users
from nimgen.commands.cleanup import plan_only, say
from nimgen.commands.common import RunLog
from nimgen.commands.results import ClusterResult
from nimgen.errors import BadInput, RunFailed
from nimgen.report.cleanup import events
from nimgen.report.migrate import RESTART_WARNING, plan_json, plan_lines


@dataclass(frozen=True)
class MigrateOptions:
    deployment: str | None
    namespaces: tuple[str, ...]
    all_namespaces: bool
    apply: bool
    restart: bool
    keep_shared_secrets: bool
    api_key_file: Path | None
    backup: Path | None
    backup_secrets: bool


def migrate(log: RunLog, connect: Callable[[], Kubectl], options: MigrateOptions) -> ClusterResult:
    if options.all_namespaces == bool(options.namespaces):
        raise BadInput("give --namespace NS (one or more) or --all-namespaces")
    if options.deployment is not None and len(options.namespaces) != 1:
        raise BadInput("a DEPLOYMENT needs its one --namespace")
    backup = backup_directory(options.backup, "migrate-deployments", options.apply)
    warnings: list[str] = []
    key = load_api_key(options.api_key_file, warn=warnings, required=False)
    say(log, warnings=warnings)
    kube = connect()
    documents = read_users(kube, options.namespaces or None)
    services = {d["metadata"]["name"] for r, d in documents if r == INFERENCE_SERVICE}
    if options.deployment is not None and options.deployment not in services:
        raise BadInput(f"no InferenceService {options.namespaces[0]}/{options.deployment}")
    plan = plan_migration(
        kube,
        documents,
        deployment=options.deployment,
        key=key.reveal() if key else None,
        key_origin=str(options.api_key_file) if options.api_key_file else f"${ENV_VAR}",
        keep_shared=options.keep_shared_secrets,
        backup_secrets=options.backup_secrets,
    )
    say(log, plan_lines(plan))
    document = {"mode": "apply" if options.apply else "plan", **plan_json(plan)}
    if plan.nothing_to_do:
        return ClusterResult("migrate-deployments", document)
    if options.restart:
        log.warn(RESTART_WARNING)
    if not options.apply:
        return plan_only("migrate-deployments", log, document)
    done = events(apply_migration(kube, plan, restart=options.restart, backup=backup))
    say(log, [f"  {line}" for line in done])
    skipped = [f"{d.namespace}/{d.name}: {d.problem}" for d in plan.deployments if d.problem]
    if skipped:
        raise RunFailed(
            f"{len(skipped)} deployment(s) were not migrated; the others were",
            details=tuple(skipped),
        )
    return ClusterResult("migrate-deployments", {**document, "backup": str(backup), "done": done})
