"""What the recipes ask of nimgen: the ``nimgen`` commands and options in shell text, and the
commands and options the installed nimgen really has (read from its ``--help``)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from tests.support.nimgen_runner import run_nimgen

# Options that give generate its EU facts; NIMGEN_EU_PROXY in the environment is the third way.
EU_OPTIONS = frozenset({"--eu-list", "--eu-proxy"})


# -- what the installed nimgen offers ----------------------------------------------


def _help_section(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    if heading not in lines:
        return []
    section = []
    for line in lines[lines.index(heading) + 1 :]:
        if line and not line.startswith(" "):
            break
        section.append(line)
    return section


@cache
def commands() -> frozenset[str]:
    result = run_nimgen("--help")
    assert result.code == 0, result.stderr
    found = {
        m.group(1)
        for line in _help_section(result.stdout, "Commands:")
        if (m := re.match(r"^  ([a-z][\w-]*)\s", line))
    }
    assert {"generate", "diff", "probe-eu"} <= found
    return frozenset(found)


@cache
def help_text(command: str | None) -> str:
    result = run_nimgen(*([command] if command else []), "--help")
    assert result.code == 0, result.stderr
    return result.stdout


@cache
def options(command: str | None) -> frozenset[str]:
    """The options ``nimgen [command] --help`` lists (long and short forms)."""
    found: set[str] = set()
    for line in _help_section(help_text(command), "Options:"):
        match = re.match(r"^  (-[^\s<,]+(?:, -[^\s<,]+)*)", line)
        if match:
            found.update(part.strip() for part in match.group(1).split(","))
    assert "--help" in found
    return frozenset(found)


@cache
def env_vars(command: str) -> frozenset[str]:
    """The environment variables ``nimgen command --help`` says it reads."""
    flat = " ".join(help_text(command).split())
    return frozenset(re.findall(r"env var: ([A-Z][A-Z0-9_]*)", flat))


# -- finding nimgen invocations in shell text ----------------------------------------


@dataclass(frozen=True)
class Invocation:
    command: str | None
    options: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join(filter(None, ("nimgen", self.command, *self.options)))


def logical_lines(script: str) -> list[str]:
    """Lines with continuations joined and full-line comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line for line in joined.splitlines() if not line.strip().startswith("#")]


_STOP = {";", "|", "||", "&&", "&", ">", ">>", "2>", "2>&1", ")", "then", "do", "<<<"}


def _words(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in a line that is not shell (a heredoc body)
        return []


def _tokens(rest: str) -> list[str]:
    out = []
    for token in _words(rest):
        if token in _STOP or token.startswith((">", "2>")):
            break
        out.append(token)
    return out


def _arrays(lines: list[str]) -> dict[str, list[str]]:
    """Every word ever put in each bash array (``name=(...)`` and ``name+=(...)``)."""
    arrays: dict[str, list[str]] = {}
    for line in lines:
        for match in re.finditer(r"\b([A-Za-z_]\w*)\+?=\(([^()]*)\)", line):
            arrays.setdefault(match.group(1), []).extend(_words(match.group(2)))
    return arrays


def _expand(tokens: list[str], arrays: dict[str, list[str]]) -> list[str]:
    out = []
    for token in tokens:
        match = re.fullmatch(r"\$\{(\w+)\[@\]\}", token)
        out.extend(arrays.get(match.group(1), []) if match else [token])
    return out


def _calls(lines: list[str], name: str) -> Iterator[list[str]]:
    pattern = re.compile(rf"(?:^|(?<=[\s;|&(`/])){re.escape(name)}[ \t]+")
    for line in lines:
        if re.match(rf"^\s*{re.escape(name)}\s*\(\)", line):
            continue  # a function definition, not a call
        for match in pattern.finditer(line):
            yield _tokens(line[match.end() :])


def _options(tokens: list[str]) -> tuple[str, ...]:
    # "-" is standard input and "--" ends the options: neither is an option
    return tuple(t.split("=", 1)[0] for t in tokens if t.startswith("-") and t not in ("-", "--"))


def nimgen_invocations(script: str) -> list[Invocation]:
    """Every ``nimgen ...`` in a shell script, with the options of the bash arrays it expands,
    also through a shell function whose body runs nimgen (``run_generate --check`` counts as
    ``nimgen generate --check``)."""
    lines = logical_lines(script)
    arrays = _arrays(lines)
    found: list[Invocation] = []
    for tokens in _calls(lines, "nimgen"):
        tokens = _expand(tokens, arrays)
        command = tokens[0] if tokens and not tokens[0].startswith("-") else None
        found.append(Invocation(command, _options(tokens[1:] if command else tokens)))
    for match in re.finditer(
        r"^\s*([A-Za-z_]\w*)\s*\(\)\s*\{\n(.*?)^\s*\}\s*$", "\n".join(lines), re.M | re.S
    ):
        wrapped = nimgen_invocations(match.group(2))
        for tokens in _calls(lines, match.group(1)):
            extra = _options(_expand(tokens, arrays))
            found += [Invocation(w.command, w.options + extra) for w in wrapped]
    return found


def assert_real_nimgen_calls(script: str, where: str) -> list[Invocation]:
    """Every nimgen command and option the script uses exists; returns the invocations."""
    calls = nimgen_invocations(script)
    for call in calls:
        if call.command is not None:
            assert call.command in commands(), f"{where}: '{call}' is not a nimgen command"
        unknown = [o for o in call.options if o not in options(call.command)]
        assert not unknown, f"{where}: '{call}' has no option {unknown}"
    return calls


def assert_generate_has_eu_source(script: str, where: str, env: frozenset[str]) -> int:
    """Every ``nimgen generate`` gets EU facts: --eu-list, --eu-proxy, or NIMGEN_EU_PROXY set
    by the script or in ``env`` (the step's environment). Returns how many there are."""
    generates = [c for c in nimgen_invocations(script) if c.command == "generate"]
    # the script hands nimgen an EU proxy through its environment
    exports = re.search(r"(?:^|[\s;])(?:export\s+)?NIMGEN_EU_PROXY=", script, re.M)
    by_env = "NIMGEN_EU_PROXY" in env or bool(exports)
    for call in generates:
        assert by_env or EU_OPTIONS & set(call.options), (
            f"{where}: '{call}' runs without an EU source "
            "(--eu-list, --eu-proxy or NIMGEN_EU_PROXY)"
        )
    return len(generates)
