"""The untyped run report of the commands that do not return a typed result yet.

``airgap`` and the cluster commands (``cleanup``, ``status``, ``migrate-deployments``)
still fill a ``RunReport`` (with command-specific fields in ``extra``) and run
through ``nimgen.cli.options.run_reported``; every other command returns a frozen
result from ``nimgen.commands`` that ``nimgen.report`` prints. Errors take the one
error path (``nimgen.report.errors``) either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nimgen.apikey import redact
from nimgen.report.console import Console


@dataclass
class RunReport:
    """The facts of one run, emitted by ``--json``."""

    command: str
    ok: bool = True
    exit_code: int = 0
    error: str | None = None
    error_details: list[str] = field(default_factory=list)
    discovered: int | None = None
    skipped_by_selection: int | None = None
    models: int | None = None
    eu_restricted: list[str] = field(default_factory=list)
    output: str | None = None
    configmap: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "command": self.command,
            "ok": self.ok,
            "exitCode": self.exit_code,
        }
        optional = {
            "error": self.error,
            "errorDetails": self.error_details or None,
            "discovered": self.discovered,
            "skippedBySelection": self.skipped_by_selection,
            "models": self.models,
            "output": self.output,
            "configMap": self.configmap,
        }
        document.update({k: v for k, v in optional.items() if v is not None})
        document["leftOutNoTag"] = []
        document["failed"] = []
        document["euRestricted"] = self.eu_restricted
        document["euUncertain"] = []
        document["warnings"] = self.warnings
        document.update(self.extra)
        return document


class Reporter(Console):
    """The ``Console`` of a ``RunReport`` command: it also prints the report as ``--json``."""

    def emit_json(self, report: RunReport) -> None:
        if self.json_output:
            report.warnings = list(dict.fromkeys(report.warnings + self.warnings))
            text = json.dumps(report.as_json(), indent=2, sort_keys=True, ensure_ascii=False)
            self.stdout.write(redact(text) + "\n")
            self.stdout.flush()

    def summary(self, report: RunReport, title: str) -> None:
        """The summary table of ``report`` (not under --quiet)."""
        if self.quiet:
            return
        from nimgen.report.run import summary_width
        from nimgen.report.summary import count_and_names, summary_table

        rows: list[tuple[str, str]] = []
        if report.skipped_by_selection:
            rows.append(("skipped by selection", str(report.skipped_by_selection)))
        if report.models is not None:
            rows.append(("models shipped", str(report.models)))
        rows.append(("EU-restricted", count_and_names(report.eu_restricted)))
        if report.output:
            rows.append(("output", report.output))
        if report.configmap:
            cm = report.configmap
            share = f"{cm['shareOfLimit'] * 100:.1f}% of the 1 MiB limit"
            rows.append(("ConfigMap", str(cm["name"])))
            rows.append(("ConfigMap size", f"{cm['sizeBytes']:,} bytes ({share})"))
        self.print_stderr(summary_table(title, rows, width=summary_width(self)))
