"""Every shipped recipe at once: the composite action, the example workflows, the Tekton
Task, the Makefile, nimgen's own workflows, the Containerfile and the documentation of
them name only real nimgen commands and options, and no recipe runs ``generate`` without
EU facts (--eu-list, --eu-proxy or NIMGEN_EU_PROXY; the example workflows pass the action's
eu-proxy or eu-list input, see test_example_workflows).

Each recipe's own test file runs it against the NGC emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.recipes import shell
from tests.recipes.gha import ACTION, ROOT, load_yaml, scripts
from tests.recipes.shell import Invocation

TASK = ROOT / "deploy" / "tekton" / "nimgen-task.yaml"
EXAMPLES = sorted((ROOT / "examples" / "github").glob("*.yml"))
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOCS = ROOT / "docs" / "ci-recipes.md"


def test_the_invocation_finder() -> None:
    script = (
        "#!/bin/bash\n# nimgen bogus, a comment\n"
        'run() {\n  nimgen generate --api-key-file "$F" "$@"\n}\n'
        'run --check --output "$OUT" > x.json\n'
        "x=$(nimgen diff a b --format=json) && /usr/bin/nimgen --version\n"
        "nimgen render \\\n  --output tree\npip install dist/nimgen-*.whl\n"
        'args=(--eu-list "$L")\nif [ -n "$U" ]; then args+=(--eu-uncertain "$U"); fi\n'
        'nimgen probe-eu "${args[@]}" "${unknown[@]}" -q\n'
        'echo "::error::nimgen generate failed"\n'
    )
    assert sorted(map(str, shell.nimgen_invocations(script))) == sorted(
        [
            "nimgen generate --api-key-file",
            "nimgen diff --format",
            "nimgen --version",
            "nimgen render --output",
            "nimgen generate --api-key-file --check --output",
            "nimgen probe-eu --eu-list --eu-uncertain -q",
        ]
    )


def _task_script() -> tuple[str, frozenset[str]]:
    [step] = yaml.safe_load(TASK.read_text())["spec"]["steps"]
    return step["script"], frozenset(e["name"] for e in step["env"])


def _doc_blocks(path: Path) -> str:
    """The shell in a markdown page: fenced sh/bash/console/make blocks and indented lines."""
    text = path.read_text()
    fenced = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    kinds = ("", "sh", "bash", "console", "make")
    shell_blocks = [body for language, body in fenced if language in kinds]
    unfenced = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    indented = [line[4:] for line in unfenced.splitlines() if line.startswith("    ")]
    return "\n".join([*shell_blocks, *indented])


def _recipes() -> list[Any]:
    """(where, shell text, environment variables the shell gets from its step), by where."""
    script, env = _task_script()
    recipes = [
        ("action.yml", scripts(load_yaml(ACTION)), frozenset()),
        ("deploy/tekton/nimgen-task.yaml", script, env),
        *((f"examples/github/{p.name}", scripts(load_yaml(p)), frozenset()) for p in EXAMPLES),
        *((f".github/workflows/{p.name}", scripts(load_yaml(p)), frozenset()) for p in WORKFLOWS),
        ("docs/ci-recipes.md", _doc_blocks(DOCS), frozenset()),
    ]
    return [pytest.param(*recipe, id=recipe[0]) for recipe in recipes]


@pytest.mark.parametrize(("where", "script", "env"), _recipes())
def test_recipes_use_only_real_nimgen_options(where: str, script: str, env: frozenset[str]) -> None:
    shell.assert_real_nimgen_calls(script, where)


@pytest.mark.parametrize(("where", "script", "env"), _recipes())
def test_no_recipe_generates_without_eu_facts(where: str, script: str, env: frozenset[str]) -> None:
    shell.assert_generate_has_eu_source(script, where, env)
    calls: list[Invocation] = shell.nimgen_invocations(script)
    assert not any("--no-eu" in c.options for c in calls), f"{where} opts out of EU facts"


def test_the_eu_finder() -> None:
    """assert_generate_has_eu_source catches a generate without EU facts."""
    with pytest.raises(AssertionError, match="without an EU source"):
        shell.assert_generate_has_eu_source("nimgen generate --output x\n", "t", frozenset())
    assert shell.assert_generate_has_eu_source(
        'export NIMGEN_EU_PROXY="$P"\nnimgen generate\n', "t", frozenset()
    )
    assert shell.assert_generate_has_eu_source(
        "nimgen generate\n", "t", frozenset({"NIMGEN_EU_PROXY"})
    )
    assert shell.assert_generate_has_eu_source("nimgen generate --eu-list f\n", "t", frozenset())


def test_readme_names_only_real_commands_and_options() -> None:
    shell.assert_real_nimgen_calls(_doc_blocks(ROOT / "README.md"), "README.md")


def test_readme_links_work_on_pypi() -> None:
    """PyPI shows the README without the repository around it: no link may be relative."""
    links = re.findall(r"\]\(([^)\s]+)\)", (ROOT / "README.md").read_text())
    assert links and all(link.startswith("https://") for link in links), links
