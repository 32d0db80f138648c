"""The body of ``nimgen cleanup``: read, plan, show, and with ``--apply`` do; ``--restore``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen.cluster.backup import backup_directory
from nimgen.cluster.cleanup import apply_cleanup, plan_cleanup, restore
from nimgen.cluster.kube import JsonObject, Kubectl, Ref
from nimgen.commands.common import RunLog
from nimgen.commands.results import ClusterResult
from nimgen.errors import BadInput, ExitCode
from nimgen.report import cleanup as report
from nimgen.snapshot import load_models

if TYPE_CHECKING:
    from nimgen.cluster.allowlist import Carry


@dataclass(frozen=True)
class CleanupOptions:
    apply: bool
    backup: Path | None
    backup_secrets: bool
    keep_api_key_secret: bool
    carry_allowlist: bool
    allowlist_name: str
    from_path: Path | None
    namespaces: tuple[str, ...]  # none: every namespace
    restore: Path | None


def say(log: RunLog, lines: Iterable[str] = (), warnings: Iterable[str] = ()) -> None:
    for line in lines:
        log.info(line)
    for warning in warnings:
        log.warn(warning)


def plan_only(command: str, log: RunLog, document: JsonObject) -> ClusterResult:
    """Without --apply nothing is changed: say so, and exit 3 (there is something to do)."""
    log.info(report.PLAN_ONLY)
    return ClusterResult(command, document, ExitCode.DRIFT)


def cleanup(log: RunLog, connect: Callable[[], Kubectl], options: CleanupOptions) -> ClusterResult:
    if options.restore is not None:
        if options.apply or options.carry_allowlist or options.backup or options.namespaces:
            raise BadInput("--restore takes no --apply, --backup, --carry-allowlist or --namespace")
        restored, omitted = restore(connect(), options.restore)
        done = report.events(restored)
        not_restored = [report.NOT_RESTORED.format(name) for name in omitted]
        say(log, [f"  {line}" for line in done], not_restored)
        return ClusterResult("cleanup", {"mode": "restore", "done": done, "notRestored": omitted})
    target = backup_directory(options.backup, "cleanup", options.apply)
    if options.from_path is not None and not options.carry_allowlist:
        raise BadInput("--from is for --carry-allowlist: give both, or neither")
    catalog = load_models(options.from_path) if options.from_path is not None else None
    kube = connect()
    plan = plan_cleanup(
        kube,
        options.namespaces or None,
        keep_api_key=options.keep_api_key_secret,
        backup_secrets=options.backup_secrets,
    )
    carries: dict[Ref, Carry] = {}
    if options.carry_allowlist:  # the air-gap renderer it needs loads only then
        from nimgen.cluster.allowlist import plan_carry

        found = (plan_carry(kube, a, options.allowlist_name, catalog) for a in plan.accounts)
        carries = {c.account: c for c in found if c is not None}
    say(log, report.plan_lines(plan, carries))
    document = {"mode": "apply" if options.apply else "plan", **report.plan_json(plan, carries)}
    if plan.nothing_to_do:
        return ClusterResult("cleanup", document)
    if not options.apply:
        say(log, warnings=report.key_warnings(plan))
        return plan_only("cleanup", log, document)
    outcome = apply_cleanup(kube, plan, [c for c in carries.values() if c.problem is None], target)
    done = report.events(outcome.events)
    warnings = report.events(outcome.warnings) + report.key_warnings(plan)
    say(log, [f"  {line}" for line in done], warnings)
    log.info(report.DONE.format(target))
    return ClusterResult("cleanup", {**document, "backup": str(target), "done": done})
