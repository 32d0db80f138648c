"""The run's stderr: log lines, warnings, errors and progress. Every line passes ``redact``
and ``visible``.

``Console`` is the ``RunLog`` the library writes to while a command runs; it keeps
the warnings, so the ``--json`` document lists them too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from nimgen.apikey import redact
from nimgen.errors import RunFailed
from nimgen.report.text import visible

if TYPE_CHECKING:
    from nimgen.collection import ProgressHook


class Console:
    """Writes to stderr (logs, progress, summary) and, for ``--json``, stdout."""

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
        self.stderr.write(visible(redact(text)) + "\n")
        self.stderr.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write(message)

    def warn(self, message: str) -> None:
        """Shown even under ``--quiet``; listed in ``--json`` ``warnings``."""
        self.warnings.append(redact(message))
        self._write(f"warning: {message}")

    def error(self, message: str, details: tuple[str, ...] | list[str] = ()) -> None:
        from nimgen.report.errors import error_lines

        for line in error_lines(message, details):
            self._write(line)

    def request_line(self, line: str) -> None:
        if self.verbose:
            self._write(line)

    @property
    def interactive(self) -> bool:
        return not self.quiet and self.stderr.isatty()

    def progress(self, description: str) -> ProgressHook:
        """A progress bar on an interactive stderr; nothing otherwise (and rich not imported)."""
        if not self.interactive:
            from nimgen.collection import NullProgress

            return NullProgress()
        from nimgen.report.progress import RichProgress

        return RichProgress(self.stderr, description=description)

    def print_stdout(self, text: str) -> None:
        """The result on stdout; a stdout that is closed or full fails the run (exit 1)."""
        try:
            self.stdout.write(redact(text) + "\n")
            self.stdout.flush()
        except (OSError, ValueError, AttributeError) as exc:  # AttributeError: fd 1 closed
            reason = getattr(exc, "strerror", None) or "it is closed"
            raise RunFailed(f"cannot write the result to stdout: {reason}") from None

    def print_stderr(self, text: str) -> None:
        """A block of text (the summary table), already laid out."""
        self.stderr.write(redact(text))
        self.stderr.flush()
