"""A small stand-in for the GitHub Actions runner, enough to run nimgen's composite action and
the example workflows for real (bash, the installed nimgen, the NGC emulator).

It does what the runner does for the parts the recipes use: ``${{ }}`` expressions over
``inputs``, ``secrets``, ``vars`` (all empty), ``env``, ``steps.<id>.outputs``,
``needs.<job>.outputs``, ``runner.temp``, ``github.workspace`` and ``github.action_path``;
job and step ``if:`` conditions of the form ``X == 'v'`` / ``X != 'v'``; job outputs; ``run:``
steps through ``bash --noprofile --norc -eo pipefail`` with ``GITHUB_OUTPUT`` (also
``name<<DELIMITER`` values), ``GITHUB_PATH`` and ``GITHUB_STEP_SUMMARY``; a composite action's
inputs (defaults, required), steps and outputs; artifacts (files or directories) passed
between jobs. Anything else in a recipe is an error here, which keeps the recipes simple.
Steps that need GitHub itself (checkout, setup-python, an App token, opening a pull request)
are recorded, not run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
# How the examples name nimgen's action; the runner resolves it to the checkout's action.yml.
NIMGEN_ACTION = re.compile(r"^[\w.-]+/nimgen@[\w.-]+$")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_CONDITION = re.compile(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'")
_NO_OP = ("actions/checkout@", "actions/setup-python@")


def load_yaml(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    if True in document:  # YAML 1.1 reads the key "on" as True
        document["on"] = document.pop(True)
    return document


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps of a composite action, or of every job of a workflow."""
    if "runs" in document:
        return list(document["runs"]["steps"])
    return [step for job in document["jobs"].values() for step in job["steps"]]


def scripts(document: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in steps(document) if "run" in step)


def flagged(tree: Path) -> list[str]:
    """The models the tree's ConfigMap flags euRestricted, sorted."""
    data = yaml.safe_load((tree / "base" / "nim-models-data.yaml").read_text())["data"]
    return sorted(name for name, value in data.items() if json.loads(value)["euRestricted"])


def expressions(text: str) -> list[str]:
    return _EXPRESSION.findall(text)


@dataclass
class Context:
    """What ``${{ }}`` can see in one job or one composite action."""

    workspace: Path
    runner_temp: Path
    inputs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    needs: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    action_path: Path | None = None

    def value(self, reference: str) -> str:
        parts = reference.split(".")
        match parts:
            case ["inputs", name]:
                assert name in self.inputs, f"no input {name!r}"
                return self.inputs[name]
            case ["secrets", name]:
                return self.secrets.get(name, "")
            case ["vars", _]:
                return ""
            case ["needs", job, "outputs", name]:
                return self.needs.get(job, {}).get(name, "")
            case ["env", name]:
                return self.env.get(name, "")
            case ["steps", step, "outputs", name]:
                return self.steps.get(step, {}).get(name, "")
            case ["runner", "temp"]:
                return str(self.runner_temp)
            case ["github", "workspace"]:
                return str(self.workspace)
            case ["github", "action_path"] if self.action_path is not None:
                return str(self.action_path)
        raise AssertionError(f"unsupported expression: ${{{{ {reference} }}}}")

    def render(self, value: Any) -> str:
        return _EXPRESSION.sub(lambda m: self.value(m.group(1)), str(value))

    def condition(self, expression: str | None) -> bool:
        if expression is None:
            return True
        inner = _EXPRESSION.fullmatch(expression.strip())
        text = inner.group(1) if inner else expression.strip()
        match = _CONDITION.fullmatch(text)
        assert match, f"unsupported condition: {expression}"
        actual = self.value(match.group(1))
        return (actual == match.group(3)) == (match.group(2) == "==")


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def parse_output_file(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT``: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for body in lines:
                if body == delimiter:
                    break
                block.append(body)
            else:
                raise AssertionError(f"output {name!r}: no closing {delimiter!r}")
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


class StepFailed(AssertionError):
    def __init__(self, run: StepRun) -> None:
        super().__init__(f"step {run.name!r} exited {run.returncode}:\n{run.stderr[-3000:]}")
        self.run = run


@dataclass
class Runner:
    """One job's machine: its workspace, temp dir, PATH additions and base environment."""

    workspace: Path
    runner_temp: Path
    base_env: dict[str, str]
    artifacts: Path
    path_additions: list[str] = field(default_factory=list)
    log: list[StepRun] = field(default_factory=list)
    recorded: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _count: int = 0

    def run_script(self, name: str, script: str, env: dict[str, str]) -> StepRun:
        self._count += 1
        files = self.runner_temp.parent / "runner-files" / f"step-{self._count}"
        files.mkdir(parents=True)
        output, path_file = files / "output", files / "path"
        output.write_text("")
        path_file.write_text("")
        script_file = files / "script.sh"
        script_file.write_text(script)
        path = os.pathsep.join([*reversed(self.path_additions), self.base_env["PATH"]])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=self.workspace,
            env={
                **self.base_env,
                **env,
                "PATH": path,
                "GITHUB_OUTPUT": str(output),
                "GITHUB_PATH": str(path_file),
                "GITHUB_STEP_SUMMARY": str(self.runner_temp.parent / "step-summary.md"),
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_TEMP": str(self.runner_temp),
            },
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )
        self.path_additions += path_file.read_text().split()
        run = StepRun(name, done.returncode, done.stdout, done.stderr, {})
        run.outputs = parse_output_file(output.read_text())
        self.log.append(run)
        if done.returncode != 0:
            raise StepFailed(run)
        return run

    def run_action(
        self,
        action_file: Path,
        with_: dict[str, str],
        env: dict[str, str],
        *,
        skip: frozenset[str] | set[str],
    ) -> dict[str, str]:
        """A composite action; its ``run:`` steps whose id is in ``skip`` are not run."""
        action = load_yaml(action_file)
        declared = action["inputs"]
        unknown = set(with_) - set(declared)
        assert not unknown, f"{action_file.name} has no inputs {sorted(unknown)}"
        inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        inputs.update(with_)
        for name, spec in declared.items():
            assert not spec.get("required") or inputs[name], f"input {name!r} is required"
        assert action["runs"]["using"] == "composite"
        context = Context(
            self.workspace, self.runner_temp, inputs=inputs, action_path=action_file.parent
        )
        for step in action["runs"]["steps"]:
            if not context.condition(step.get("if")):
                continue
            if "uses" in step:
                assert step["uses"].startswith(_NO_OP), step["uses"]
                self.recorded.append((step["uses"], {}))
                continue
            assert step["shell"] == "bash", step
            step_env = {**env, **{k: context.render(v) for k, v in step.get("env", {}).items()}}
            if step.get("id") in skip:
                continue
            run = self.run_script(step.get("name", step.get("id", "")), step["run"], step_env)
            if "id" in step:
                context.steps[step["id"]] = run.outputs
        return {name: context.render(spec["value"]) for name, spec in action["outputs"].items()}

    def run_job(
        self,
        workflow: dict[str, Any],
        job_id: str,
        secrets: dict[str, str],
        *,
        action: Path = ACTION,
        skip: frozenset[str] | set[str] = frozenset(),
        needs: dict[str, dict[str, str]] | None = None,
    ) -> Context:
        """One job; ``needs`` holds the outputs of the jobs it needs, by job id."""
        job = workflow["jobs"][job_id]
        context = Context(self.workspace, self.runner_temp, secrets=secrets, needs=needs or {})
        if not context.condition(job.get("if")):
            return context
        context.env = {k: context.render(v) for k, v in workflow.get("env", {}).items()}
        context.env.update({k: context.render(v) for k, v in job.get("env", {}).items()})
        for step in job["steps"]:
            if not context.condition(step.get("if")):
                continue
            step_env = {
                **context.env,
                **{k: context.render(v) for k, v in step.get("env", {}).items()},
            }
            with_ = {k: context.render(v) for k, v in step.get("with", {}).items()}
            uses = step.get("uses")
            outputs: dict[str, str] = {}
            if uses is None:
                outputs = self.run_script(step.get("name", ""), step["run"], step_env).outputs
            elif NIMGEN_ACTION.match(uses):
                outputs = self.run_action(action, with_, step_env, skip=skip)
            elif uses.startswith("actions/upload-artifact@"):
                self._upload(with_)
            elif uses.startswith("actions/download-artifact@"):
                self._download(with_)
            else:
                self.recorded.append((uses, with_))
            if "id" in step:
                context.steps[step["id"]] = outputs
        context.outputs = {k: context.render(v) for k, v in job.get("outputs", {}).items()}
        return context

    def _upload(self, with_: dict[str, str]) -> None:
        """A file is kept by its name, a directory's content at the artifact's root."""
        source = self.workspace / with_["path"]
        assert source.exists(), f"nothing to upload at {with_['path']}"
        target = self.artifacts / with_["name"]
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir(parents=True)
            shutil.copy2(source, target / source.name)

    def _download(self, with_: dict[str, str]) -> None:
        target = self.workspace / with_.get("path", ".")
        shutil.copytree(self.artifacts / with_["name"], target, dirs_exist_ok=True)

    def output_text(self) -> str:
        """Everything the job printed or wrote where GitHub would show or keep it."""
        parts = [f"{r.stdout}\n{r.stderr}\n{r.outputs}" for r in self.log]
        summary = self.runner_temp.parent / "step-summary.md"
        if summary.exists():
            parts.append(summary.read_text())
        return "\n".join(parts)


def new_runner(root: Path, env: dict[str, str], artifacts: Path) -> Runner:
    """A job on the runner machine at ``root``: ``work`` is its checkout, kept from job to
    job like a repository between scheduled runs; ``temp`` (RUNNER_TEMP) starts empty."""
    (root / "work").mkdir(parents=True, exist_ok=True)
    for scratch in (root / "temp", root / "runner-files"):
        shutil.rmtree(scratch, ignore_errors=True)
    (root / "temp").mkdir()
    (root / "step-summary.md").unlink(missing_ok=True)
    base = {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return Runner(root / "work", root / "temp", base, artifacts)
