"""What a run tells its user: log lines and progress on stderr, the summary table,
and the ``--json`` document on stdout. Every line passes through ``redact``."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from nimgen.apikey import redact


@dataclass
class RunReport:
    """The facts of one run, shown as a table and emitted by ``--json``."""

    command: str
    ok: bool = True
    exit_code: int = 0
    error: str | None = None
    error_details: list[str] = field(default_factory=list)
    discovered: int | None = None
    fetched: int | None = None
    reused: int | None = None
    skipped_by_selection: int | None = None
    left_out_no_tag: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    models: int | None = None
    eu_restricted: list[str] = field(default_factory=list)
    eu_uncertain: list[str] = field(default_factory=list)
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
            "fetched": self.fetched,
            "reused": self.reused,
            "skippedBySelection": self.skipped_by_selection,
            "models": self.models,
            "output": self.output,
            "configMap": self.configmap,
        }
        document.update({k: v for k, v in optional.items() if v is not None})
        document["leftOutNoTag"] = self.left_out_no_tag
        document["failed"] = self.failed
        document["euRestricted"] = self.eu_restricted
        document["euUncertain"] = self.eu_uncertain
        document["warnings"] = self.warnings
        document.update(self.extra)
        return document


class Reporter:
    """Writes to stderr (logs, progress, summary) and stdout (``--json``)."""

    def __init__(
        self,
        *,
        quiet: bool = False,
        verbose: bool = False,
        json_output: bool = False,
        stderr: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.json_output = json_output
        self.stderr = stderr or sys.stderr
        self.stdout = stdout or sys.stdout
        self.warnings: list[str] = []

    def _write(self, text: str) -> None:
        self.stderr.write(redact(text) + "\n")
        self.stderr.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write(message)

    def warn(self, message: str) -> None:
        self.warnings.append(redact(message))
        self._write(f"warning: {message}")

    def error(self, message: str, details: tuple[str, ...] | list[str] = ()) -> None:
        self._write(f"nimgen: error: {message}")
        for line in details:
            self._write(f"  - {line}")

    def request_line(self, line: str) -> None:
        if self.verbose:
            self._write(line)

    @property
    def interactive(self) -> bool:
        return not self.quiet and self.stderr.isatty()

    def emit_json(self, report: RunReport) -> None:
        if self.json_output:
            report.warnings = list(dict.fromkeys(report.warnings + self.warnings))
            text = json.dumps(report.as_json(), indent=2, sort_keys=True, ensure_ascii=False)
            self.stdout.write(redact(text) + "\n")
            self.stdout.flush()

    def summary(self, report: RunReport, title: str) -> None:
        if self.quiet:
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        rows: list[tuple[str, str]] = []
        if report.discovered is not None:
            rows.append(("discovered", str(report.discovered)))
        if report.fetched is not None:
            rows.append(("fetched", str(report.fetched)))
        if report.reused:
            rows.append(("reused from --previous", str(report.reused)))
        if report.skipped_by_selection:
            rows.append(("skipped by selection", str(report.skipped_by_selection)))
        if report.discovered is not None:
            rows.append(("left out (no tag)", _count_and_names(report.left_out_no_tag)))
            rows.append(("failed", _count_and_names([f["name"] for f in report.failed])))
        if report.models is not None:
            rows.append(("models shipped", str(report.models)))
        rows.append(("EU-restricted", _count_and_names(report.eu_restricted)))
        if report.eu_uncertain:
            rows.append(("EU flag from uncertainty", _count_and_names(report.eu_uncertain)))
        if report.output:
            rows.append(("output", report.output))
        if report.configmap:
            cm = report.configmap
            rows.append(("ConfigMap", str(cm["name"])))
            rows.append(
                (
                    "ConfigMap size",
                    f"{cm['sizeBytes']:,} bytes "
                    f"({cm['shareOfLimit'] * 100:.1f}% of the 1 MiB limit)",
                )
            )
        for key, value in rows:
            table.add_row(key, redact(value))
        Console(file=self.stderr, highlight=False, soft_wrap=True).print(table)


def _count_and_names(names: list[str], limit: int = 8) -> str:
    if not names:
        return "0"
    shown = ", ".join(names[:limit]) + (
        f", ... (+{len(names) - limit})" if len(names) > limit else ""
    )
    return f"{len(names)}: {shown}"


class RichProgress:
    """A progress bar over the models being fetched, on stderr."""

    def __init__(self, stderr: TextIO, description: str = "fetching models") -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stderr),
            transient=True,
        )
        self._description = description
        self._task: Any = None

    def start(self, total: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(self._description, total=total or 0)

    def add_total(self, count: int) -> None:
        if self._task is not None:
            task = self._progress.tasks[0]
            self._progress.update(self._task, total=(task.total or 0) + count)

    def advance(self, name: str) -> None:
        if self._task is not None:
            self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
