"""Errors nimgen reports to its user, each carrying its exit code (part of the CLI: README)."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError

    from nimgen.collection import Collection


class ExitCode(IntEnum):
    OK = 0
    RUN_FAILED = 1
    BAD_INPUT = 2
    DRIFT = 3
    KEY_REJECTED = 4
    INTERRUPTED = 130
    TERMINATED = 143


class NimgenError(Exception):
    """A failure explained to the user in one line; never shown with a traceback."""

    exit_code: ExitCode = ExitCode.RUN_FAILED

    def __init__(self, message: str, *, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        # Extra lines (one per model, say) printed under the one-line message.
        self.details = details
        # What the run had collected before it failed, so --json still reports it.
        self.collection: Collection | None = None


class RunFailed(NimgenError):
    exit_code = ExitCode.RUN_FAILED


class BadInput(NimgenError):
    exit_code = ExitCode.BAD_INPUT


class KeyRejected(NimgenError):
    exit_code = ExitCode.KEY_REJECTED


class SignalReceived(KeyboardInterrupt):
    """Raised on SIGTERM: a ``KeyboardInterrupt`` because asyncio and most libraries let it
    through, while they log and swallow an ordinary exception in a callback."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_number(exc: KeyboardInterrupt) -> int:
    import signal

    return exc.signum if isinstance(exc, SignalReceived) else int(signal.SIGINT)


class Interrupted(NimgenError):
    """A run stopped by SIGINT (exit 130) or SIGTERM (exit 143), as reported to the user."""

    def __init__(self, signum: int) -> None:
        import signal

        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}; previous output left untouched")
        self.exit_code = ExitCode.TERMINATED if name == "SIGTERM" else ExitCode.INTERRUPTED


def validation_reason(exc: ValidationError) -> str:
    """A pydantic validation failure in one line: the first problem, and how many more."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "document"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"
