"""The bodies of ``cleanup``, ``status`` and ``migrate-deployments``: read, plan, show,
and (with ``--apply``) do. The Typer modules in ``nimgen.cli`` only parse options.

Exit codes: 0 nothing to do (or done), 1 failed, 2 bad input, 3 something to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nimgen.cluster.kube import ClusterAccess, JsonObject
from nimgen.commands.common import RunLog
from nimgen.commands.results import ClusterResult
from nimgen.errors import BadInput, ExitCode, RunFailed

PLAN_ONLY = "This is a plan: nothing was changed. Run again with --apply to do it."
RESTART_WARNING = (
    "--restart rolls each predictor: the new pod starts before the old one stops, so "
    "for a while it needs twice the GPUs (without them it stays Pending while the old "
    "pod keeps serving)"
)


@dataclass(frozen=True)
class CleanupOptions:
    apply: bool = False
    backup: Path | None = None
    backup_secrets: bool = False
    keep_api_key_secret: bool = False
    carry_allowlist: bool = False
    allowlist_name: str = "custom-nim-models"
    from_path: Path | None = None
    namespace: str | None = None


def cleanup(log: RunLog, access: ClusterAccess, options: CleanupOptions) -> ClusterResult:
    from nimgen.cluster.allowlist import Carry, plan_carry
    from nimgen.cluster.backup import check_directory, default_directory
    from nimgen.cluster.cleanup import apply_cleanup
    from nimgen.cluster.cleanup_report import plan_json, plan_lines
    from nimgen.cluster.kube import Ref
    from nimgen.cluster.legacy import plan_cleanup
    from nimgen.cluster.usage import read_usage
    from nimgen.snapshot import load_models

    target = options.backup or default_directory()
    if options.apply:
        check_directory(target)
    if options.from_path is not None and not options.carry_allowlist:
        raise BadInput("--from is for --carry-allowlist: give both, or neither")
    catalog = load_models(options.from_path) if options.from_path is not None else None
    kube = access.client()
    plan = plan_cleanup(
        kube,
        read_usage(kube),
        namespace=options.namespace,
        keep_api_key=options.keep_api_key_secret,
        backup_secrets=options.backup_secrets,
    )
    carries: dict[Ref, Carry] = {}
    if options.carry_allowlist:
        for account in plan.accounts:
            carry = plan_carry(kube, account, name=options.allowlist_name, catalog=catalog)
            if carry is not None:
                carries[account.account] = carry
    for line in plan_lines(plan, carries, options.carry_allowlist):
        log.info(line)
    mode = "apply" if options.apply else "plan"
    document = {"mode": mode, **plan_json(plan, carries, options.carry_allowlist)}
    if plan.nothing_to_do:
        return ClusterResult("cleanup", document)
    if not options.apply:
        return _plan_only("cleanup", log, document)
    ready = [c for c in carries.values() if c.problem is None]
    outcome = apply_cleanup(kube, plan, ready, target, log=log.info)
    for line in outcome.done + outcome.already_gone:
        log.info(f"  {line}")
    for warning in outcome.warnings:
        log.warn(warning)
    log.info(f"Done. The backup is in {target}. Check the result with: nimgen status")
    done = {"backup": str(target), "done": outcome.done, "alreadyGone": outcome.already_gone}
    return ClusterResult("cleanup", {**document, **done})


def status(log: RunLog, access: ClusterAccess, namespace: str | None) -> ClusterResult:
    from nimgen.cluster.reader import choose_namespace, read_status, status_lines

    kube = access.client()
    found = read_status(kube, choose_namespace(kube, namespace))
    for line in status_lines(found):
        log.info(line)
    code = ExitCode.OK
    if found.problems():
        code = ExitCode.RUN_FAILED
    elif found.leftovers:
        code = ExitCode.DRIFT
    return ClusterResult("status", found.as_json(), code)


@dataclass(frozen=True)
class MigrateOptions:
    deployment: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    apply: bool = False
    restart: bool = False
    keep_shared_secrets: bool = False
    api_key_file: Path | None = None


def migrate(log: RunLog, access: ClusterAccess, options: MigrateOptions) -> ClusterResult:
    from nimgen.apikey import ENV_VAR, load_api_key
    from nimgen.cluster.migrate import plan_migration
    from nimgen.cluster.migrate_apply import apply_migration
    from nimgen.cluster.migrate_report import plan_json, plan_lines
    from nimgen.cluster.usage import read_usage

    if options.all_namespaces == (options.namespace is not None):
        raise BadInput("give exactly one of --namespace NS or --all-namespaces")
    if options.deployment is not None and options.namespace is None:
        raise BadInput("a DEPLOYMENT needs its --namespace")
    warnings: list[str] = []
    key = load_api_key(options.api_key_file, warn=warnings, required=False)
    for warning in warnings:
        log.warn(warning)
    kube = access.client()
    usage = read_usage(kube, options.namespace)
    names = {s["metadata"]["name"] for s in usage.services}
    if options.deployment is not None and options.deployment not in names:
        raise BadInput(f"no InferenceService {options.namespace}/{options.deployment}")
    plan = plan_migration(
        kube,
        usage,
        deployment=options.deployment,
        key=key.reveal() if key else None,
        key_origin=str(options.api_key_file) if options.api_key_file else f"${ENV_VAR}",
        keep_shared=options.keep_shared_secrets,
    )
    for line in plan_lines(plan):
        log.info(line)
    document = {"mode": "apply" if options.apply else "plan", **plan_json(plan)}
    if plan.nothing_to_do:
        return ClusterResult("migrate-deployments", document)
    if options.restart:
        log.warn(RESTART_WARNING)
    if not options.apply:
        return _plan_only("migrate-deployments", log, document)
    done = apply_migration(kube, plan, restart=options.restart, log=log.info)
    skipped = [f"{d.namespace}/{d.name}: {d.problem}" for d in plan.deployments if d.problem]
    if skipped:
        raise RunFailed(
            f"{len(skipped)} deployment(s) were not migrated; the others were",
            details=tuple(skipped),
        )
    return ClusterResult("migrate-deployments", {**document, "done": done})


def _plan_only(command: str, log: RunLog, document: JsonObject) -> ClusterResult:
    """Without --apply nothing is changed: say so, and exit 3 (there is something to do)."""
    log.info(PLAN_ONLY)
    return ClusterResult(command, document, ExitCode.DRIFT)
