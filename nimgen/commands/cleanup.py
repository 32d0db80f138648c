"""The body of ``nimgen cleanup``: read, plan, show, and with ``--apply`` do; ``--restore``.

Exit codes: 0 nothing to do (or done), 1 failed, 2 bad input, 3 a plan with work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nimgen.cluster.kube import ClusterAccess, JsonObject
from nimgen.commands.common import RunLog
from nimgen.commands.results import ClusterResult
from nimgen.errors import BadInput, ExitCode

PLAN_ONLY = "This is a plan: nothing was changed. Run again with --apply to do it."


@dataclass(frozen=True)
class CleanupOptions:
    apply: bool = False
    backup: Path | None = None
    backup_secrets: bool = False
    keep_api_key_secret: bool = False
    carry_allowlist: bool = False
    allowlist_name: str = "custom-nim-models"
    from_path: Path | None = None
    namespaces: tuple[str, ...] = ()  # none: every namespace
    restore: Path | None = None


def plan_only(command: str, log: RunLog, document: JsonObject) -> ClusterResult:
    """Without --apply nothing is changed: say so, and exit 3 (there is something to do)."""
    log.info(PLAN_ONLY)
    return ClusterResult(command, document, ExitCode.DRIFT)


def cleanup(log: RunLog, access: ClusterAccess, options: CleanupOptions) -> ClusterResult:
    from nimgen.cluster.accounts import plan_cleanup
    from nimgen.cluster.allowlist import Carry, plan_carry
    from nimgen.cluster.backup import check_directory, default_directory
    from nimgen.cluster.cleanup import apply_cleanup
    from nimgen.cluster.kube import Ref
    from nimgen.report.cleanup import events, key_warnings, plan_json, plan_lines
    from nimgen.sources.snapshot import load_models

    if options.restore is not None:
        return _restore(log, access, options)
    target = options.backup or default_directory("cleanup")
    if options.apply:
        check_directory(target)
    if options.from_path is not None and not options.carry_allowlist:
        raise BadInput("--from is for --carry-allowlist: give both, or neither")
    catalog = load_models(options.from_path) if options.from_path is not None else None
    kube = access.client()
    plan = plan_cleanup(
        kube,
        options.namespaces or None,
        keep_api_key=options.keep_api_key_secret,
        backup_secrets=options.backup_secrets,
    )
    carries: dict[Ref, Carry] = {}
    for account in plan.accounts if options.carry_allowlist else ():
        carry = plan_carry(kube, account, name=options.allowlist_name, catalog=catalog)
        if carry is not None:
            carries[account.account] = carry
    for line in plan_lines(plan, carries, options.carry_allowlist):
        log.info(line)
    document = {
        "mode": "apply" if options.apply else "plan",
        **plan_json(plan, carries, options.carry_allowlist),
    }
    if not options.apply:
        for warning in key_warnings(plan):
            log.warn(warning)
        return (
            ClusterResult("cleanup", document)
            if plan.nothing_to_do
            else plan_only("cleanup", log, document)
        )
    if plan.nothing_to_do:
        return ClusterResult("cleanup", document)
    ready = [c for c in carries.values() if c.problem is None]
    outcome = apply_cleanup(kube, plan, ready, target)
    done = events(outcome.events)
    for line in done:
        log.info(f"  {line}")
    for warning in events(outcome.warnings) + key_warnings(plan):
        log.warn(warning)
    log.info(f"Done. The backup is in {target}. Check the result with: nimgen status")
    return ClusterResult("cleanup", {**document, "backup": str(target), "done": done})


def _restore(log: RunLog, access: ClusterAccess, options: CleanupOptions) -> ClusterResult:
    from nimgen.cluster.cleanup import restore
    from nimgen.report.cleanup import events

    if options.apply or options.carry_allowlist or options.backup or options.namespaces:
        raise BadInput("--restore takes no --apply, --backup, --carry-allowlist or --namespace")
    assert options.restore is not None
    outcome, omitted = restore(access.client(), options.restore)
    done = events(outcome.events)
    for line in done:
        log.info(f"  {line}")
    for name in omitted:
        log.warn(f"not restored: {name} (its values were not backed up; see {name}.omitted.txt)")
    return ClusterResult("cleanup", {"mode": "restore", "done": done, "notRestored": omitted})
