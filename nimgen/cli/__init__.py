"""The command line: parses options and calls into the library. Nothing else.

Exit codes are part of the interface: ``EXIT_CODES_HELP``, and the cluster commands' epilogs.
"""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer

from nimgen import __version__

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 the run failed; 2 usage or bad input; "
    "3 drift found (--check); 4 key rejected; 130 interrupted; 143 terminated."
)

app = typer.Typer(
    name="nimgen",
    help=(
        "Turn NVIDIA's NIM catalog into the Kubernetes manifests OpenDataHub and "
        "OpenShift AI ship: an immutable, versioned model ConfigMap and the NIM "
        "ServingRuntime Template, as a kustomize tree.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nimgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """nimgen."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    from nimgen.errors import SignalReceived

    raise SignalReceived(signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nimgen`` console script.

    SIGINT exits 130 and SIGTERM 143; either way the previous output is left as it
    was and every temporary file of the run is removed before the process ends. A
    command reports its own failure (``nimgen.report.run``); what fails outside any
    command takes the same error path here.
    """
    from nimgen.errors import ExitCode

    for stream in (sys.stdout, sys.stderr):
        # Any locale works: what a stream cannot encode is escaped, never an error.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    handlers = (signal.getsignal(signal.SIGINT), signal.signal(signal.SIGTERM, _on_sigterm))
    code: int = ExitCode.OK
    try:
        try:
            # Typer handles usage errors (exit 2), --help and typer.Exit itself.
            app(args=argv, prog_name="nimgen")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else ExitCode.RUN_FAILED
    except BaseException as exc:  # outside any command: an interrupt, a bug
        from nimgen.report.errors import as_error, print_error

        error = as_error(exc)
        print_error(error)
        code = error.exit_code
    finally:
        _clean_up_after_run(*handlers)
    raise SystemExit(code)


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _clean_up_after_run(on_sigint: _Handler, on_sigterm: _Handler) -> None:
    """Remove the run's temporary files (a second signal cannot cut this short), then
    put the signal handlers back as they were before ``main``."""
    held = {signal.SIGINT, signal.SIGTERM}
    # Held once the output went in place (report.run): a signal since then ended nothing.
    late = sorted(signal.sigpending() & held)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ignored, a held signal is dropped
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        from nimgen.report.errors import print_late_signal
        from nimgen.tree.write import cleanup_temps

        cleanup_temps()
        for signum in late:
            print_late_signal(signum)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    finally:
        for signum, handler in ((signal.SIGINT, on_sigint), (signal.SIGTERM, on_sigterm)):
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


# Each command module registers its command on ``app``; imported last, as they import it.
from nimgen.cli import (  # noqa: E402
    airgap,
    cleanup,
    diff,
    fetch,
    generate,
    migrate,
    probe_eu,
    render,
    schema,
    status,
    validate,
    verify_key,
)

__all__ = [
    "airgap",
    "app",
    "cleanup",
    "diff",
    "fetch",
    "generate",
    "main",
    "migrate",
    "probe_eu",
    "render",
    "schema",
    "status",
    "validate",
    "verify_key",
]
