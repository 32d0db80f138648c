"""Options shared by several commands, each defined once.

An option group is a frozen dataclass whose fields are Typer options (``Annotated``);
a command declares one parameter of that type, and ``@grouped`` lets Typer see the
group's options in its place and hands the command one built object - as twine's
settings object does. Single options shared by a few commands are aliases here too.
The groups of one family live beside it: ``ngc_options`` (reaching NGC),
``eu_options``, ``tree_options`` and ``cluster_options``.
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

if TYPE_CHECKING:
    from nimgen.commands.common import ModelChoice
    from nimgen.report.console import Console

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
            keyword = inspect.Parameter.KEYWORD_ONLY
            parameters += [
                inspect.Parameter(f.name, keyword, annotation=fields[f.name], default=f.default)
                for f in dataclasses.fields(kind)
            ]
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
