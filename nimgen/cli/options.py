"""Options shared by several commands, each defined once.

An option group is a frozen dataclass whose fields are Typer options (``Annotated``);
a command declares one parameter of that type, and ``@grouped`` lets Typer see the
group's options in its place and hands the command one built object - as twine's
settings object does. Single options shared by a few commands are aliases here too.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from nimgen.commands.common import (
    DEFAULT_API_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_REQUEST_TIMEOUT,
)

if TYPE_CHECKING:
    from nimgen.commands.common import ModelChoice, NgcAccess
    from nimgen.report.console import Console
    from nimgen.reports import Reporter, RunReport

F = TypeVar("F", bound=Callable[..., Any])


def grouped(command: F) -> F:
    """Expand each parameter typed with an option group into the group's options.

    Typer reads the wrapper's signature: the group's fields, in their order, where the
    group parameter stood. The wrapper builds the group object from them.
    """
    hints = typing.get_type_hints(command, include_extras=True)
    signature = inspect.signature(command)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, type[Any]] = {}
    for parameter in signature.parameters.values():
        kind = hints.get(parameter.name)
        if isinstance(kind, type) and getattr(kind, "__option_group__", False):
            groups[parameter.name] = kind
            fields = typing.get_type_hints(kind, include_extras=True)
            parameters += [
                inspect.Parameter(
                    f.name, inspect.Parameter.KEYWORD_ONLY, annotation=fields[f.name],
                    default=f.default,
                )
                for f in dataclasses.fields(kind)
            ]  # fmt: skip
        else:
            parameters.append(parameter.replace(annotation=hints.get(parameter.name)))

    @functools.wraps(command)
    def wrapper(**values: Any) -> Any:
        for name, kind in groups.items():
            values[name] = kind(**{f.name: values.pop(f.name) for f in dataclasses.fields(kind)})
        return command(**values)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # Typer must see the wrapper's signature, not the command's
    return typing.cast(F, wrapper)


def option_group(cls: type[Any]) -> type[Any]:
    cls.__option_group__ = True
    return dataclass(frozen=True)(cls)


# -- reaching NGC ---------------------------------------------------------------------------

ApiUrl = Annotated[
    str,
    typer.Option(
        "--ngc-api-url",
        envvar="NIMGEN_NGC_API_URL",
        help="NGC API base URL. Plain http:// only for loopback hosts.",
        show_default=True,
    ),
]
ApiKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--api-key-file",
        help="Read the personal NGC key (nvapi-...) from this file instead of $NGC_API_KEY.",
        dir_okay=False,
    ),
]
CaBundle = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        exists=True,
        dir_okay=False,
        help="Extra CA certificates (PEM) to trust, e.g. a corporate proxy's. "
        "TLS is always verified.",
    ),
]
Proxy = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        envvar="NIMGEN_PROXY",
        metavar="URL",
        help="Send every NGC request through this HTTP(S) proxy "
        "(http[s]://[user:password@]host:port; plain http only to a loopback proxy). "
        "The *_proxy environment variables are ignored. Credentials are never printed; "
        "pass the URL in $NIMGEN_PROXY to keep them out of process listings.",
        show_default=False,
    ),
]
RequestTimeout = Annotated[
    float,
    typer.Option(
        "--request-timeout", min=0.1, help="Seconds one request may take before it is retried."
    ),
]
MaxAttempts = Annotated[
    int,
    typer.Option("--max-attempts", min=1, max=20, help="Tries per request before giving up."),
]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log each request: method, URL, status, time."),
]
Concurrency = Annotated[
    int,
    typer.Option("--concurrency", min=1, max=256, help="Most requests in flight at once."),
]
Deadline = Annotated[
    float | None,
    typer.Option("--deadline", min=1, help="Fail the run if it takes longer than this (seconds)."),
]


@option_group
class Ngc:
    """How a live command reaches NGC (generate, fetch, probe-eu, verify-key)."""

    api_url: ApiUrl = DEFAULT_API_URL
    api_key_file: ApiKeyFile = None
    proxy: Proxy = None
    ca_bundle: CaBundle = None
    request_timeout: RequestTimeout = DEFAULT_REQUEST_TIMEOUT
    max_attempts: MaxAttempts = DEFAULT_MAX_ATTEMPTS
    verbose: Verbose = False

    def access(self, limits: Limits | None = None) -> NgcAccess:
        from nimgen.commands.common import NgcAccess

        return NgcAccess(
            api_url=self.api_url,
            api_key_file=self.api_key_file,
            request_timeout=self.request_timeout,
            max_attempts=self.max_attempts,
            ca_bundle=self.ca_bundle,
            proxy=self.proxy,
            concurrency=limits.concurrency if limits else DEFAULT_CONCURRENCY,
            deadline=limits.deadline if limits else None,
        )


@option_group
class Limits:
    """How much a collecting command may do at once, and for how long."""

    concurrency: Concurrency = DEFAULT_CONCURRENCY
    deadline: Deadline = None


# -- which models -----------------------------------------------------------------------------

Models = Annotated[
    list[str] | None,
    typer.Option("--models", help="Only models whose name matches this glob (repeatable)."),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option("--exclude", help="Leave out models whose name matches this glob (repeatable)."),
]
ModelsFile = Annotated[
    Path | None,
    typer.Option(
        "--models-file",
        dir_okay=False,
        help="Model names to include: one per line, a JSON list, or the old Account "
        "model-list ConfigMap (data.models).",
    ),
]


@option_group
class Choice:
    """``--models``, ``--exclude``, ``--models-file``."""

    models: Models = None
    exclude: Exclude = None
    models_file: ModelsFile = None

    def choice(self) -> ModelChoice:
        from nimgen.commands.common import ModelChoice

        return ModelChoice(tuple(self.models or ()), tuple(self.exclude or ()), self.models_file)


# -- what the run prints ------------------------------------------------------------------------

JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and warnings on stderr.")]


@option_group
class Output:
    """``--json`` and ``--quiet``."""

    json_output: JsonOutput = False
    quiet: Quiet = False

    def console(self, verbose: bool = False) -> Console:
        from nimgen.report.console import Console

        return Console(quiet=self.quiet, verbose=verbose, json_output=self.json_output)


def run_reported(reporter: Reporter, report: RunReport, body: Callable[[], None]) -> None:
    """Run a ``RunReport`` command's ``body`` (airgap, the cluster commands): a failure takes
    the one error path (one line, the --json document), and the run exits with its code."""
    from nimgen.report.errors import as_error
    from nimgen.report.run import CommandExit

    try:
        body()
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        error = as_error(exc)
        reporter.error(error.message, error.details)
        report.ok = False
        report.exit_code = int(error.exit_code)
        report.error = error.message
        report.error_details = list(error.details)
        reporter.emit_json(report)
        raise CommandExit(int(error.exit_code)) from None
    reporter.emit_json(report)
    raise CommandExit(report.exit_code)
