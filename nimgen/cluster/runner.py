"""Run one cluster command and report it: its ``--json`` document or its one-line error.

The cluster commands (``cleanup``, ``status``, ``migrate-deployments``) print their own
plans and findings as they go (stderr, through ``Console``, which redacts every line);
this wraps the body so that any failure is one line on stderr (and an error document
under ``--json``) and the process exits with the command's code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from nimgen.cluster.kube import ClusterAccess, JsonObject
from nimgen.errors import ExitCode
from nimgen.report.console import Console


@dataclass
class Finding:
    """A command's outcome: its ``--json`` fields and its exit code."""

    document: JsonObject = field(default_factory=dict)
    exit_code: int = ExitCode.OK


def _dumps(document: JsonObject) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def run_cluster_command(
    command: str, console: Console, body: Callable[[Console], Finding]
) -> NoReturn:
    """Call ``body``; print the ``--json`` document (or the error); exit with the code."""
    from nimgen.report.errors import as_error

    try:
        finding = body(console)
    except SystemExit:
        raise
    except BaseException as exc:  # every failure leaves through here, as one line
        error = as_error(exc)
        console.error(error.message, error.details)
        if console.json_output:
            failed = {
                "command": command,
                "ok": False,
                "exitCode": int(error.exit_code),
                "error": error.message,
                "errorDetails": list(error.details),
                "warnings": console.warnings,
            }
            console.print_stdout(_dumps(failed))
        raise SystemExit(int(error.exit_code)) from None
    if console.json_output:
        ok = finding.exit_code in (ExitCode.OK, ExitCode.DRIFT)
        head = {"command": command, "ok": ok, "exitCode": finding.exit_code}
        console.print_stdout(_dumps({**finding.document, **head, "warnings": console.warnings}))
    raise SystemExit(finding.exit_code)


def run_on_cluster(
    command: str,
    body: Callable[[Console, ClusterAccess], Finding],
    *,
    kubectl: str,
    kubeconfig: Path | None,
    context: str | None,
    quiet: bool,
    json_output: bool,
) -> NoReturn:
    """What every cluster command does with its connection options: reach the cluster
    through the user's kubectl and kubeconfig, and run ``body`` under one error path."""
    access = ClusterAccess(kubectl, kubeconfig, context)
    console = Console(quiet=quiet, json_output=json_output)
    run_cluster_command(command, console, lambda c: body(c, access))
