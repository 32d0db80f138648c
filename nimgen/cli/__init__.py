"""The command line: parses options and calls into the library. Nothing else.

Exit codes (part of the interface):
  0 success · 1 the run failed · 2 usage or bad input · 3 drift found (--check)
  4 key rejected · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM)
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

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


# Command modules register themselves on ``app`` when imported.
from nimgen.cli import generate as _generate  # noqa: E402,F401
from nimgen.cli import diff as _diff  # noqa: E402,F401


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    from nimgen.errors import Interrupted

    raise Interrupted(signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``nimgen`` console script."""
    from nimgen.errors import ExitCode, Interrupted, NimgenError

    signal.signal(signal.SIGTERM, _on_sigterm)
    code: int = ExitCode.OK
    try:
        # Typer handles usage errors (exit 2), --help and typer.Exit itself.
        app(args=argv, prog_name="nimgen")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else ExitCode.RUN_FAILED
    except KeyboardInterrupt:
        _say("interrupted by SIGINT; previous output left untouched")
        code = ExitCode.INTERRUPTED
    except Interrupted as exc:
        _say(exc.message)
        code = exc.exit_code
    except NimgenError as exc:
        _say(exc.message, exc.details)
        code = exc.exit_code
    except Exception as exc:  # a bug: one line, redacted, no traceback
        _say(internal_error_line(exc))
        code = ExitCode.RUN_FAILED
    raise SystemExit(code)


def internal_error_line(exc: BaseException) -> str:
    from nimgen.apikey import redact

    text = redact(f"{type(exc).__name__}: {exc}".splitlines()[0])
    if os.environ.get("NIMGEN_DEBUG") == "1":
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    return f"internal error: {text} (set NIMGEN_DEBUG=1 for a traceback)"


def _say(message: str, details: tuple[str, ...] = ()) -> None:
    from nimgen.apikey import redact

    sys.stderr.write(redact(f"nimgen: error: {message}") + "\n")
    for line in details:
        sys.stderr.write(redact(f"  - {line}") + "\n")
