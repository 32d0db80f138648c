"""Run one command's body and report it: the summary and ``--json`` of its result, or its
error - one line on stderr (and the ``--json`` error document) - and the exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from nimgen.errors import NimgenError
from nimgen.report.console import Console

if TYPE_CHECKING:
    from nimgen.commands.results import Result


class CommandExit(SystemExit):
    """The end of a command: its exit code, everything already printed."""


def run_command(command: str, console: Console, body: Callable[[Console], Result]) -> NoReturn:
    """Call ``body``, report its result or error, then put its output in place; exit.

    Only once the report is out: a run that cannot print its result fails (exit 1) with the
    previous output as it was. From then on SIGINT and SIGTERM are held.
    """
    from nimgen import tempnames
    from nimgen.tree.write import swaps_after_report

    # Removed leftovers of an interrupted run are a warning of this run: in --json too.
    notice, tempnames.notice = tempnames.notice, console.warn
    reported = False
    try:
        with swaps_after_report() as put_in_place:
            try:
                result = body(console)
                present(result, console)
                reported = True
                put_in_place()
            except SystemExit:  # CommandExit included: already reported
                raise
            except BaseException as exc:  # every failure leaves through here, as one line
                raise CommandExit(_report_error(command, console, exc, json=not reported)) from None
    finally:
        tempnames.notice = notice
    raise CommandExit(result.exit_code)


def _report_error(command: str, console: Console, exc: BaseException, *, json: bool) -> int:
    """The error line on stderr, and the ``--json`` error document unless a result went out."""
    from nimgen.report.errors import as_error

    error = as_error(exc)
    console.error(error.message, error.details)
    if console.json_output and json:
        from nimgen.report.json_output import dumps, error_document

        with contextlib.suppress(NimgenError):  # stdout is what failed: stderr said it
            console.print_stdout(dumps(error_document(command, error, console.warnings)))
    return int(error.exit_code)


def present(result: Result, console: Console) -> None:
    """The summary table and the lines after it (stderr, not under -q); then ``--json``."""
    if not console.quiet:
        from nimgen.report.summary import after_lines, rows_of, summary_table
        from nimgen.report.text import pick

        table = rows_of(result)
        if table is not None:
            box = pick("\u250c\u2500\u2502", "", getattr(console.stderr, "encoding", None))
            width = summary_width(console)
            console.print_stderr(summary_table(*table, width=width, ascii_only=not box))
        for line in after_lines(result):
            console.info(line)
    if console.json_output:
        from nimgen.report.json_output import dumps, result_document

        console.print_stdout(dumps(result_document(result, console.warnings)))


def summary_width(console: Console) -> int | None:
    """The terminal's width when stderr is one; else rich's default (COLUMNS or 80)."""
    if console.stderr.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None
