"""What ``nimgen status`` prints: the reader's view of a cluster, one fact a line."""

from __future__ import annotations

from nimgen.cluster.kube import DASHBOARD_NAME, JsonObject
from nimgen.cluster.reader import Candidate, ClusterStatus
from nimgen.tree.template import TEMPLATE_NAME


def status_lines(found: ClusterStatus) -> list[str]:
    lines = [f"Namespace {found.namespace}", "NIM model ConfigMaps (by label):"]
    for candidate in found.candidates:
        mark = "*" if candidate is found.picked else " "
        what = f"ignored: {candidate.problem}"
        if candidate.usable:
            what = f"revision {candidate.revision}, schema {candidate.schema}, "
            what += f"{candidate.models} models"
        lines.append(f"  {mark} {candidate.name:<40} {what}")
    if not found.candidates:
        lines.append("    (none)")
    if not found.dashboard_found:
        lines.append(f"Dashboard: no OdhDashboardConfig {DASHBOARD_NAME}")
    elif found.custom is not None:
        state = "exists" if found.custom_exists else "MISSING"
        custom = f"nimConfig.customConfigMap {found.reader_uses} ({state})"
        lines.append(f"Dashboard: {custom} wins over labels")
    else:
        lines.append(f"Dashboard: nimConfig {found.nim_config or 'not set'}")
    lines.append(f"A reader uses: {found.reader_uses or 'nothing'}")
    lines.append(f"Template {TEMPLATE_NAME}: {'found' if found.template_found else 'MISSING'}")
    trap = " (with the finalizer only the removed controller cleared)"
    for account in found.accounts:
        where = f"{account['namespace']}/{account['name']}{trap if account['finalizer'] else ''}"
        lines.append(f"Account leftover {where}: run 'nimgen cleanup'")
    if found.unread == ("*",):
        lines.append("Accounts: could not be listed cluster-wide, nor the namespaces to look in")
    elif found.unread:
        lines.append(f"Accounts: could not be read in {', '.join(found.unread)}")
    lines.extend(f"problem: {problem}" for problem in found.problems())
    return lines


def _candidate_json(candidate: Candidate) -> JsonObject:
    return {
        "name": candidate.name,
        "schemaVersion": candidate.schema,
        "revision": candidate.revision,
        "models": candidate.models,
        "created": candidate.created,
        "ignoredBecause": candidate.problem,
    }


def status_json(found: ClusterStatus) -> JsonObject:
    custom = found.custom
    return {
        "namespace": found.namespace,
        "configMaps": [_candidate_json(c) for c in found.candidates],
        "pickedByLabel": found.picked.name if found.picked else None,
        "dashboardConfigFound": found.dashboard_found,
        "nimConfig": found.nim_config,
        "customConfigMap": custom
        and {"namespace": custom[0], "name": custom[1], "exists": found.custom_exists},
        "readerUses": found.reader_uses,
        "template": {"name": TEMPLATE_NAME, "found": found.template_found},
        "accountLeftovers": list(found.accounts),
        "accountsUnreadIn": list(found.unread),
        "problems": found.problems(),
    }
