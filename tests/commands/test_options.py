"""``nimgen.cli.options.grouped``: a command takes one frozen object per option group."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer
from typer.testing import CliRunner

from nimgen.cli.ngc_options import Ngc
from nimgen.cli.options import Choice, Output, grouped


def test_a_group_parameter_becomes_its_options_and_comes_back_built() -> None:
    seen: list[object] = []

    @grouped
    def command(*, ngc: Ngc, choice: Choice, out: Output, name: str = "x") -> None:
        seen.extend((ngc, choice, out, name))

    names = list(inspect.signature(command).parameters)
    assert names[:3] == ["api_url", "api_key_file", "proxy"] and "ngc" not in names
    assert names[-3:] == ["json_output", "quiet", "name"]
    app = typer.Typer()
    app.command()(command)
    app.command("other")(lambda: None)
    args = "command --ngc-api-url https://ngc.example --models a* --models b* --models-file m.txt"
    result = CliRunner().invoke(app, [*args.split(), "--json", "--name", "y"])
    assert result.exit_code == 0, result.output
    ngc, choice, out, name = seen
    assert isinstance(ngc, Ngc) and ngc.api_url == "https://ngc.example"
    assert isinstance(choice, Choice) and choice.models == ["a*", "b*"]
    assert choice.choice().models_file == Path("m.txt")
    assert isinstance(out, Output) and out.json_output and not out.quiet
    assert name == "y"
