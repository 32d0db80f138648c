"""The one error path: any failure becomes a ``NimgenError``, printed as one line.

A command's failure is printed by ``nimgen.report.run`` (which also writes the
``--json`` error document); a failure outside any command (an interrupt while
Typer starts, a bug) by ``nimgen.cli.main``. Both use ``as_error`` and ``error_lines``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

from nimgen.errors import Interrupted, NimgenError, signal_number


def internal_error_line(exc: BaseException) -> str:
    """A bug, said in one redacted line (NIMGEN_DEBUG=1 adds the traceback on stderr)."""
    from nimgen.apikey import redact

    text = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
    if os.environ.get("NIMGEN_DEBUG") == "1":
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    return f"internal error: {text} (set NIMGEN_DEBUG=1 for a traceback)"


def as_error(exc: BaseException) -> NimgenError:
    """``exc`` as the error nimgen reports: SIGINT/SIGTERM, nimgen's own, or a bug (exit 1)."""
    if isinstance(exc, KeyboardInterrupt):  # SIGINT, or SIGTERM (SignalReceived)
        return Interrupted(signal_number(exc))
    if isinstance(exc, NimgenError):
        return exc
    return NimgenError(internal_error_line(exc))


def error_lines(message: str, details: Sequence[str] = ()) -> list[str]:
    """``nimgen: error: <message>``, then one ``  - <detail>`` line per detail."""
    return [f"nimgen: error: {message}", *(f"  - {line}" for line in details)]


def print_error(error: NimgenError, stderr: TextIO | None = None) -> None:
    from nimgen.apikey import redact
    from nimgen.report.text import visible

    stream = stderr or sys.stderr
    for line in error_lines(error.message, error.details):
        stream.write(visible(redact(line)) + "\n")
    stream.flush()


def print_late_signal(signum: int) -> None:
    """A signal that arrived once the run's output was in place, so ended nothing."""
    import signal

    name = signal.Signals(signum).name
    sys.stderr.write(f"nimgen: {name} arrived once the new output was in place; the run finished\n")
    sys.stderr.flush()
