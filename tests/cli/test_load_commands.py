"""A run registers only the command it names (``nimgen.cli.load_commands``); help and
typos still see every command, listed by name."""

from __future__ import annotations

import subprocess
import sys

from nimgen.cli import COMMAND_MODULES
from tests.support.nimgen_runner import clean_env, run_nimgen

_LOADED = """
import sys
from nimgen.cli import load_commands, app
load_commands(sys.argv[1:])
print(" ".join(sorted(m for m in sys.modules if m.startswith("nimgen.cli."))))
print(" ".join(i.name or i.callback.__name__ for i in app.registered_commands))
"""


def _loaded(*args: str) -> tuple[list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules, commands = done.stdout.splitlines()
    return modules.split(), commands.split()


def test_a_named_command_loads_only_its_module() -> None:
    modules, commands = _loaded("--version", "generate", "--no-eu", "render")
    assert "nimgen.cli.generate" in modules and "nimgen.cli.render" not in modules
    assert "nimgen.cli.status" not in modules and commands == ["generate"]


def test_help_and_typos_load_every_command_in_name_order() -> None:
    for args in ((), ("--help",), ("generat",), ("--help", "generate")):
        modules, commands = _loaded(*args)
        assert {f"nimgen.cli.{m}" for m in COMMAND_MODULES.values()} <= set(modules)
        assert len(commands) == len(COMMAND_MODULES)
    help_text = run_nimgen("--help").stdout
    listed = [line.split()[0] for line in help_text.split("Commands:")[1].splitlines() if line]
    assert listed == sorted(COMMAND_MODULES)
    typo = run_nimgen("generat")
    assert typo.code == 2 and "Did you mean 'generate'" in typo.stderr
