"""The shipped CI recipes: they parse, have the expected shape, name only real nimgen commands
and options, and (the refresh workflow's and the Tekton Task's scripts) work against the NGC
emulator when run with bash."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, run_nimgen, tree_bytes

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / ".github" / "workflows" / "ci.yml"
REFRESH = ROOT / ".github" / "workflows" / "nim-metadata-refresh.yml"
TASK = ROOT / "deploy" / "tekton" / "nimgen-task.yaml"
CONTAINERFILE = ROOT / "Containerfile"
README = ROOT / "README.md"


@pytest.fixture
def small_emulator(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """An emulator with a dozen models: the scripts' logic, not scale, is under test."""
    with NgcEmulator(ngc_models[:12], fixtures_dir=fixtures_dir) as emu:
        yield emu


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
    assert {"generate", "diff"} <= found
    return frozenset(found)


@cache
def options(command: str | None) -> frozenset[str]:
    """The options ``nimgen [command] --help`` lists (long and short forms)."""
    result = run_nimgen(*([command] if command else []), "--help")
    assert result.code == 0, result.stderr
    found: set[str] = set()
    for line in _help_section(result.stdout, "Options:"):
        match = re.match(r"^  (-[^\s<,]+(?:, -[^\s<,]+)*)", line)
        if match:
            found.update(part.strip() for part in match.group(1).split(","))
    assert "--help" in found
    return frozenset(found)


# -- finding nimgen invocations in shell text ----------------------------------------


def _logical_lines(script: str) -> list[str]:
    """Lines with continuations joined and full-line comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line for line in joined.splitlines() if not line.strip().startswith("#")]


_STOP = {";", "|", "||", "&&", "&", ">", ">>", "2>", "2>&1", ")", "then", "do"}


def _tokens(rest: str) -> list[str]:
    lexer = shlex.shlex(rest, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    out = []
    for token in lexer:
        if token in _STOP or token.startswith((">", "2>")):
            break
        out.append(token)
    return out


def _calls(lines: list[str], name: str) -> Iterator[list[str]]:
    pattern = re.compile(rf"(?:^|(?<=[\s;|&(`/])){re.escape(name)}[ \t]+")
    for line in lines:
        if re.match(rf"^\s*{re.escape(name)}\s*\(\)", line):
            continue  # a function definition, not a call
        for match in pattern.finditer(line):
            yield _tokens(line[match.end() :])


def nimgen_invocations(script: str) -> list[tuple[str | None, list[str]]]:
    """(command, options) of every ``nimgen ...`` in a shell script, also through a shell
    function whose body runs one nimgen command (``run_generate --check`` counts as
    ``nimgen generate --check``)."""
    lines = _logical_lines(script)
    found: list[tuple[str | None, list[str]]] = []
    for tokens in _calls(lines, "nimgen"):
        command = tokens[0] if tokens and not tokens[0].startswith("-") else None
        rest = tokens[1:] if command else tokens
        found.append((command, [t.split("=", 1)[0] for t in rest if t.startswith("-")]))
    for match in re.finditer(
        r"^\s*([A-Za-z_]\w*)\s*\(\)\s*\{\n(.*?)^\s*\}\s*$", "\n".join(lines), re.M | re.S
    ):
        wrapped = {c for c, _ in nimgen_invocations(match.group(2))}
        for tokens in _calls(lines, match.group(1)):
            for command in wrapped:
                found.append((command, [t.split("=", 1)[0] for t in tokens if t.startswith("-")]))
    return found


def assert_real_nimgen_calls(script: str, where: str) -> set[str]:
    calls = nimgen_invocations(script)
    for command, opts in calls:
        if command is not None:
            assert command in commands(), f"{where}: 'nimgen {command}' is not a nimgen command"
        unknown = [o for o in opts if o not in options(command)]
        assert not unknown, f"{where}: 'nimgen {command or ''}' has no option {unknown}"
    return {f"{c} {' '.join(o)}".strip() for c, o in calls if c}


def test_the_invocation_finder() -> None:
    script = (
        "#!/bin/bash\n# nimgen bogus, a comment\n"
        'run() {\n  nimgen generate --api-key-file "$F" "$@"\n}\n'
        'run --check --output "$OUT" > x.json\n'
        "x=$(nimgen diff a b --format=json) && /usr/bin/nimgen --version\n"
        "nimgen render \\\n  --output tree\npip install dist/nimgen-*.whl\n"
    )
    assert sorted(nimgen_invocations(script), key=str) == sorted(
        [
            ("generate", ["--api-key-file"]),
            ("diff", ["--format"]),
            (None, ["--version"]),
            ("render", ["--output"]),
            ("generate", ["--check", "--output"]),
        ],
        key=str,
    )


# -- the GitHub workflows -----------------------------------------------------------


def workflow(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict) and document["jobs"]
    # YAML 1.1 reads the key "on" as True
    document["on"] = document.pop(True, document.get("on"))
    return document


def runs(document: dict[str, Any]) -> list[str]:
    return [
        step["run"] for job in document["jobs"].values() for step in job["steps"] if "run" in step
    ]


def test_ci_workflow() -> None:
    document = workflow(CI)
    assert {"push", "pull_request"} <= set(document["on"])
    scripts = runs(document)
    text = "\n".join(scripts)
    for needed in ("ruff check .", "ruff format --check .", "mypy nimgen", "pytest"):
        assert needed in text, needed
    matrix = document["jobs"]["test"]["strategy"]["matrix"]
    assert matrix["python-version"] == ["3.11", "3.12"]
    assert "python -m build" in text and "pip install dist/nimgen-*.whl" in text
    assert "kubectl kustomize" in text
    called = assert_real_nimgen_calls(text, "ci.yml")
    assert any(c.startswith("render") for c in called)
    for job in document["jobs"].values():
        assert job["runs-on"] and job["timeout-minutes"] > 0
        for step in job["steps"]:
            assert "uses" in step or "run" in step


def test_refresh_workflow_shape() -> None:
    document = workflow(REFRESH)
    triggers = document["on"]
    assert "workflow_dispatch" in triggers
    [schedule] = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    [job] = document["jobs"].values()
    steps = job["steps"]
    secret_steps = [s for s in steps if "NGC_API_KEY" in s.get("env", {})]
    assert secret_steps
    for step in secret_steps:
        assert step["env"]["NGC_API_KEY"] == "${{ secrets.NGC_API_KEY }}"
    text = "\n".join(runs(document))
    called = assert_real_nimgen_calls(text, "nim-metadata-refresh.yml")
    assert any(c.startswith("generate --check") for c in called)
    assert any(c.startswith("diff") and "--format" in c for c in called)
    assert "--format markdown" in text
    [pr] = [s for s in steps if s.get("uses", "").startswith("peter-evans/create-pull-request@")]
    assert pr["with"]["body-path"].endswith("pr-body.md")
    assert pr["if"] == "steps.check.outputs.changed == 'true'"
    assert document["permissions"] == {"contents": "write", "pull-requests": "write"}


def _step_runner(tmp_path: Path, emu: NgcEmulator, env: dict[str, str]) -> Any:
    """Run a workflow step's script as GitHub does (bash -e), with its outputs file."""

    def run(script: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        output = tmp_path / "github-output"
        output.write_text("")
        step_env = clean_env(
            VALID_KEY,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            RUNNER_TEMP=str(tmp_path / "runner-temp"),
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
            NIMGEN_NGC_API_URL=emu.url,
            **env,
            **(extra or {}),
        )
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=tmp_path / "repo",
            env=step_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        outputs["returncode"] = str(done.returncode)
        outputs["stderr"] = done.stderr
        return outputs

    return run


def test_refresh_workflow_steps_work(small_emulator: NgcEmulator, tmp_path: Path) -> None:
    """The check and regenerate steps, run as written against the emulator."""
    document = workflow(REFRESH)
    [job] = document["jobs"].values()
    steps = {s.get("id") or s.get("name") or s["uses"]: s for s in job["steps"]}
    check_script = steps["check"]["run"]
    regenerate = next(s for s in steps.values() if "nimgen diff" in s.get("run", ""))["run"]
    (tmp_path / "repo").mkdir()
    (tmp_path / "runner-temp").mkdir()
    run = _step_runner(tmp_path, small_emulator, dict(document["env"]))
    output = tmp_path / "repo" / document["env"]["NIM_OUTPUT"]

    # first run: no tree yet -> changed, regenerate writes it with a first-generation body
    first = run(check_script)
    assert first["returncode"] == "0" and first["exit-code"] == "3" and first["changed"] == "true"
    assert not output.exists()
    assert run(regenerate)["returncode"] == "0"
    assert (output / "base" / "nim-models-data.yaml").is_file()
    body = tmp_path / "runner-temp" / "pr-body.md"
    assert "First generation" in body.read_text()

    # up to date -> changed=false
    same = run(check_script)
    assert same["returncode"] == "0" and same["changed"] == "false"

    # the catalog changes -> changed, and the PR body is the markdown diff
    small_emulator.add_models(make_models(2, small_emulator.models[:1], prefix="zz-new"))
    drift = run(check_script)
    assert drift["changed"] == "true"
    regenerated = run(regenerate)
    assert regenerated["returncode"] == "0", regenerated["stderr"]
    text = body.read_text()
    assert text.startswith("## NIM catalog changes") and "### Added (2)" in text
    assert (tmp_path / "summary.md").read_text().endswith(text)

    # any other exit code fails the step
    failed = run(check_script, {"NGC_API_KEY": "nvapi-wrong"})
    assert failed["returncode"] == "4" and failed["exit-code"] == "4"
    assert "changed" not in failed


# -- the Tekton Task ----------------------------------------------------------------


def task() -> dict[str, Any]:
    document = yaml.safe_load(TASK.read_text())
    assert isinstance(document, dict)
    return document


def test_task_shape() -> None:
    document = task()
    assert document["apiVersion"] == "tekton.dev/v1" and document["kind"] == "Task"
    spec = document["spec"]
    assert {r["name"] for r in spec["results"]} == {"exit-code", "changed"}
    workspaces = {w["name"]: w for w in spec["workspaces"]}
    assert workspaces["ngc-api-key"]["optional"] is True
    assert workspaces["ngc-api-key"].get("readOnly") is True
    params = {p["name"]: p for p in spec["params"]}
    [step] = spec["steps"]
    env = {e["name"]: e for e in step["env"]}
    ref = env["NGC_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref["optional"] is True
    for reference in (ref["name"], ref["key"], step["image"]):
        name = re.fullmatch(r"\$\(params\.([\w-]+)\)", reference)
        assert name and name.group(1) in params
    assert step["securityContext"]["runAsNonRoot"] is True
    # every $(params.x) and $(workspaces.x...) names one declared
    text = TASK.read_text()
    assert set(re.findall(r"\$\(params\.([\w-]+)\)", text)) <= set(params)
    assert set(re.findall(r"\$\(workspaces\.([\w-]+)\.", text)) <= set(workspaces)
    assert set(re.findall(r"\$\(results\.([\w-]+)\.path\)", text)) == {"exit-code", "changed"}
    called = assert_real_nimgen_calls(step["script"], "nimgen-task.yaml")
    assert "generate --api-key-file --ngc-api-url" in called
    assert "generate --check --output" in called
    assert any(c.startswith("diff --format --output") for c in called)


def _task_runner(tmp_path: Path, emu: NgcEmulator) -> Any:
    """Run the Task's step script as Tekton would: variables substituted, env from the step."""
    [step] = task()["spec"]["steps"]
    results = tmp_path / "results"
    results.mkdir()
    script = step["script"]
    for name in ("exit-code", "changed"):
        script = script.replace(f"$(results.{name}.path)", str(results / name))
    assert "$(params." not in script and "$(workspaces." not in script
    script_file = tmp_path / "step.sh"
    script_file.write_text(script)
    source = tmp_path / "source"
    source.mkdir()
    defaults = {p["name"]: p.get("default", "") for p in task()["spec"]["params"]}

    def run(mode: str, key_source: str = "env", key: str = VALID_KEY) -> dict[str, str]:
        for result in results.iterdir():
            result.unlink()
        env = clean_env(
            key if key_source == "env" else None,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            MODE=mode,
            OUTPUT_DIR=defaults["output-dir"],
            DIFF_FILE=defaults["diff-file"],
            NGC_API_URL=emu.url,
            KEY_BOUND="false",
            KEY_FILE=f"/{defaults['api-key-secret-key']}",
        )
        if key_source == "workspace":
            workspace = tmp_path / "ngc-api-key"
            workspace.mkdir(exist_ok=True)
            key_file = workspace / defaults["api-key-secret-key"]
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
            env.update(KEY_BOUND="true", KEY_FILE=str(key_file))
        done = subprocess.run(
            ["bash", str(script_file)],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outcome = {p.name: p.read_text() for p in results.iterdir()}
        outcome["returncode"] = str(done.returncode)
        outcome["stderr"] = done.stderr
        return outcome

    return run, source / defaults["output-dir"], source / defaults["diff-file"]


def test_task_script_works(small_emulator: NgcEmulator, tmp_path: Path) -> None:
    run, output, diff_file = _task_runner(tmp_path, small_emulator)

    created = run("update", key_source="workspace")
    assert (created["returncode"], created["exit-code"], created["changed"]) == ("0", "3", "true")
    assert (output / "base" / "nim-models-data.yaml").is_file()
    assert "First generation" in diff_file.read_text()
    tree = tree_bytes(output)

    same = run("check", key_source="workspace")
    assert (same["returncode"], same["exit-code"], same["changed"]) == ("0", "0", "false")

    small_emulator.add_models(make_models(1, small_emulator.models[:1], prefix="zz-new"))
    drift = run("check")
    assert (drift["exit-code"], drift["changed"]) == ("3", "true")
    assert tree_bytes(output) == tree

    updated = run("update")
    assert (updated["returncode"], updated["exit-code"], updated["changed"]) == ("0", "3", "true")
    assert tree_bytes(output) != tree
    assert "### Added (1)" in diff_file.read_text()

    rejected = run("check", key="nvapi-wrong")
    assert (rejected["returncode"], rejected["exit-code"], rejected["changed"]) == (
        "4",
        "4",
        "false",
    )
    assert VALID_KEY not in rejected["stderr"]
    bad_mode = run("upgrade")
    assert bad_mode["returncode"] == "2" and "mode must be" in bad_mode["stderr"]


# -- the Containerfile --------------------------------------------------------------


def containerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
    return instructions


def test_containerfile() -> None:
    instructions = containerfile()
    known = {"ARG", "FROM", "USER", "WORKDIR", "COPY", "RUN", "LABEL", "ENV", "ENTRYPOINT", "CMD"}
    assert {word for word, _ in instructions} <= known
    args = dict(rest.split("=", 1) for word, rest in instructions if word == "ARG" and "=" in rest)
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
        for word, rest in instructions
        if word == "FROM"
    ]
    assert bases and all(
        b
        in (
            "registry.access.redhat.com/ubi9/python-311",
            "registry.access.redhat.com/ubi9/python-312",
        )
        for b in bases
    )
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] == "1001"
    [entrypoint] = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    assert entrypoint == ["nimgen"]
    [cmd] = [json.loads(rest) for word, rest in final if word == "CMD"]
    assert all(o in options(None) for o in cmd if o.startswith("-"))
    # the files it copies from the checkout exist
    for word, rest in instructions:
        if word == "COPY" and "--from=" not in rest:
            sources = [p for p in rest.split()[:-1] if not p.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
    runs_text = "\n".join(rest for word, rest in instructions if word == "RUN")
    assert "nimgen-*.whl" in runs_text
    assert_real_nimgen_calls(runs_text, "Containerfile")


# -- the README's Makefile snippet --------------------------------------------------


def test_readme_makefile_snippet() -> None:
    text = README.read_text()
    if "## Release workflow" not in text:
        pytest.fail("README.md has no '## Release workflow' section")
    section = text.split("## Release workflow", 1)[1].split("\n## ", 1)[0]
    fenced = re.findall(r"^```(\w*)\n(.*?)^```", section, re.S | re.M)
    blocks = [body for language, body in fenced if language == "make"]
    assert blocks, "no ```make block in the Release workflow section"
    makefile = blocks[0]
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    assert {"nim-metadata", "nim-metadata-check"} <= targets
    recipes = "\n".join(line for line in makefile.splitlines() if line.startswith("\t"))
    called = assert_real_nimgen_calls(recipes, "README Makefile")
    assert any(c.startswith("generate --check") for c in called)
    # recipes are tab-indented, as make requires
    assert all(not line.startswith("    ") for line in makefile.splitlines())
    # the indented command examples and the shell blocks name real commands and options
    unfenced = re.sub(r"^```.*?^```", "", section, flags=re.S | re.M)
    indented = "\n".join(line[4:] for line in unfenced.splitlines() if line.startswith("    "))
    shell = [body for language, body in fenced if language in ("", "sh", "bash", "console")]
    called = assert_real_nimgen_calls("\n".join([indented, *shell]), "README Release workflow")
    assert {"generate --check --output", "diff --format --output"} <= called
    assert "fetch --previous --output" in called


def test_readme_makefile_snippet_runs(small_emulator: NgcEmulator, tmp_path: Path) -> None:
    section = README.read_text().split("## Release workflow", 1)[1].split("\n## ", 1)[0]
    [makefile] = [
        b for lang, b in re.findall(r"^```(\w*)\n(.*?)^```", section, re.S | re.M) if lang == "make"
    ]
    (tmp_path / "Makefile").write_text(makefile)
    env = clean_env(
        VALID_KEY,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        NIMGEN_NGC_API_URL=small_emulator.url,
    )

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    missing = make("nim-metadata-check")
    assert missing.returncode != 0 and "Error 3" in missing.stderr
    assert make("nim-metadata").returncode == 0
    assert make("nim-metadata-check").returncode == 0
    small_emulator.add_models(make_models(1, small_emulator.models[:1], prefix="zz-new"))
    assert make("nim-metadata").returncode == 0
    assert "### Added (1)" in (tmp_path / "nim-metadata-diff.md").read_text()
    assert not (tmp_path / ".nim-before").exists()
    assert (tmp_path / "config" / "nim" / "base" / "nim-models-data.yaml").is_file()
