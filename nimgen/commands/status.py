"""The body of ``nimgen status``: what a reader finds, and Account leftovers everywhere."""

from __future__ import annotations

from collections.abc import Callable

from nimgen.cluster.kube import Kubectl
from nimgen.cluster.reader import choose_namespace, read_status
from nimgen.commands.common import RunLog
from nimgen.commands.results import ClusterResult
from nimgen.errors import ExitCode
from nimgen.report.status import status_json, status_lines


def status(log: RunLog, connect: Callable[[], Kubectl], namespace: str | None) -> ClusterResult:
    kube = connect()
    found = read_status(kube, choose_namespace(kube, namespace))
    for line in status_lines(found):
        log.info(line)
    code = ExitCode.OK
    if found.accounts:
        code = ExitCode.DRIFT
    elif found.problems() or found.unread:
        code = ExitCode.RUN_FAILED
    return ClusterResult("status", status_json(found), code)
