"""The command line: parses options and calls into the library. Nothing else.

Exit codes (part of the interface):
  0 success · 1 the run failed · 2 usage or bad input · 3 drift found (--check)
  4 key rejected · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM)
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn

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


# The commands: one module each, which registers its command on ``app`` when imported.
COMMAND_MODULES = {
    "airgap": "airgap",
    "cleanup": "cleanup",
    "diff": "diff",
    "fetch": "fetch",
    "generate": "generate",
    "migrate-deployments": "migrate",
    "probe-eu": "probe_eu",
    "render": "render",
    "schema": "schema",
    "status": "status",
    "validate": "validate",
    "verify-key": "verify_key",
}


def load_commands(args: Sequence[str] | None = None) -> None:
    """Register on ``app`` the command ``args`` names, or every command when they name
    none (a typo) or ask for the root's help (``nimgen --help [command]``). Importing
    the other eleven and building their options would cost each run about 20 ms of CPU;
    the root options take no value, so the first argument that is not an option is the
    command."""
    import importlib

    name = next((a for a in args or () if not a.startswith("-") or a in ("-h", "--help")), None)
    chosen = (name,) if name in COMMAND_MODULES else tuple(COMMAND_MODULES)
    for command in chosen:
        importlib.import_module(f"nimgen.cli.{COMMAND_MODULES[command]}")
    # Listed in --help by name, whatever order an earlier call in this process loaded them.
    app.registered_commands.sort(key=lambda info: _command_name(info.name, info.callback))


def _command_name(name: str | None, callback: Callable[..., Any] | None) -> str:
    if name is not None:
        return name
    return callback.__name__.replace("_", "-") if callback is not None else ""


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

    handlers = (signal.getsignal(signal.SIGINT), signal.signal(signal.SIGTERM, _on_sigterm))
    code: int = ExitCode.OK
    try:
        try:
            load_commands(sys.argv[1:] if argv is None else argv)
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


def run() -> NoReturn:
    """The console script (and ``python -m nimgen``): ``main``, then a quick end."""
    try:
        main()
    except SystemExit as exc:
        _end_process(exc.code if isinstance(exc.code, int) else 1)
    raise AssertionError("main() always exits")  # pragma: no cover


def _end_process(code: int) -> NoReturn:
    """End the process once the run is over, without tearing the interpreter down.

    Finalizing the interpreter frees the objects of some 300 modules one by one: about
    25 ms of CPU (docs/performance.md) that a finished run gains nothing from. What a
    normal exit does that matters still happens first: the atexit callbacks (coverage's
    data, say), then the flush of stdout and stderr. Anything unusual (a thread still
    running, a stream that will not flush) takes the ordinary exit, which reports it the
    way Python does.
    """
    import atexit
    import os
    import threading

    if threading.active_count() == 1:
        atexit._run_exitfuncs()
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:  # None: started with the descriptor closed
                    stream.flush()
        except (OSError, ValueError):
            pass
        else:
            os._exit(code)
    raise SystemExit(code)


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def _clean_up_after_run(on_sigint: _Handler, on_sigterm: _Handler) -> None:
    """Remove the run's temporary files (a second signal cannot cut this short), then
    put the signal handlers back as they were before ``main``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        output = sys.modules.get("nimgen.output")  # loaded only if the run wrote anything
        if output is not None:
            output.cleanup_temps()
    finally:
        for signum, handler in ((signal.SIGINT, on_sigint), (signal.SIGTERM, on_sigterm)):
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
