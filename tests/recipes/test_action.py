"""nimgen's composite GitHub Action (action.yml): its shape, that every input reaches a real
nimgen option or environment variable, and its scripts run for real against the NGC emulator
in both EU shapes (an EU proxy; a probe file from a runner in the EU)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.recipes import gha, shell
from tests.recipes.gha import ACTION, Runner, StepFailed, expressions, load_yaml, new_runner
from tests.support.eu_setup import PROXY_PASSWORD
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, nimgen_executable, tree_bytes

OUTPUT = "manifests/nim"
# Inputs that steer the action itself rather than a nimgen option, and why.
ACTION_ONLY = {
    "command": "which nimgen command the step runs",
    "python-version": "actions/setup-python",
    "nimgen-spec": "what pip installs",
    "diff-file": "where the action writes the report",
    "extra-args": "passed through to nimgen as they are",
}


def action() -> dict[str, Any]:
    return load_yaml(ACTION)


def steps_by_id() -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in action()["runs"]["steps"] if "id" in s}


def configmap(tree: Path) -> dict[str, Any]:
    return yaml.safe_load((tree / "base" / "nim-models-data.yaml").read_text())  # type: ignore[no-any-return]


def runner_for(tmp_path: Path, emulator: NgcEmulator, name: str = "runner") -> Runner:
    env = clean_env(None, NIMGEN_NGC_API_URL=emulator.url)
    return new_runner(tmp_path / name, env, tmp_path / "artifacts")


def run(runner: Runner, **inputs: str) -> dict[str, str]:
    with_ = {"ngc-api-key": VALID_KEY, "output": OUTPUT, **inputs}
    return runner.run_action(ACTION, with_, {}, skip={"install"})


# -- shape -------------------------------------------------------------------------------


def test_action_shape() -> None:
    document = action()
    assert document["runs"]["using"] == "composite"
    inputs, outputs = document["inputs"], document["outputs"]
    assert all(spec.get("description") for spec in [*inputs.values(), *outputs.values()])
    assert [name for name, spec in inputs.items() if spec.get("required")] == ["ngc-api-key"]
    assert {"changed", "configmap", "diff-file", "diff"} <= set(outputs)
    ids = steps_by_id()
    for step in document["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            # no input is ever pasted into a script: everything goes through env
            assert "${{" not in step["run"], step.get("id")
        for expression in expressions(yaml.safe_dump(step)):
            kind = expression.split(".")
            if kind[0] == "inputs":
                assert kind[1] in inputs, expression
            else:
                assert expression == "github.action_path", expression
        if "if" in step:
            assert re.fullmatch(r"inputs\.[\w-]+ != ''", step["if"]), step["if"]
    for name, spec in outputs.items():
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert match and match.group(1) in ids, name
        script = ids[match.group(1)]["run"]
        written = f'echo "{match.group(2)}=' in script or f'echo "{match.group(2)}<<' in script
        assert written, f"output {name}: the step never writes {match.group(2)}"


def _input_env(step: dict[str, Any]) -> dict[str, str]:
    """input name -> the environment variable it becomes in this step."""
    found = {}
    for variable, value in step.get("env", {}).items():
        match = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", str(value))
        if match:
            found[match.group(1)] = variable
    return found


def test_every_input_reaches_a_real_nimgen_option_or_variable() -> None:
    step = steps_by_id()["refresh"]
    script = step["run"]
    calls = shell.assert_real_nimgen_calls(script, "action.yml")
    by_command = {c.command: c for c in calls}
    assert set(by_command) == {"generate", "probe-eu", "diff"}
    reached: dict[str, str] = {}
    for name, variable in _input_env(step).items():
        ref = rf'"\$(?:{variable}|\{{{variable}\}})"'
        # --option "$VARIABLE" on a nimgen command line or in the array it expands
        for option in re.findall(rf"(--[a-z][\w-]*)\s+{ref}", script):
            commands = [c for c, call in by_command.items() if option in call.options]
            assert commands, f"input {name}: {option} reaches no nimgen command"
            assert all(option in shell.options(c) for c in commands)
            reached[name] = option
        # export NIMGEN_...="$VARIABLE": an environment variable nimgen reads
        for exported in re.findall(rf"export ([A-Z_]+)={ref}", script):
            assert exported in shell.env_vars("generate"), f"nimgen does not read {exported}"
            reached[name] = exported
        if variable == "NGC_API_KEY":
            assert "$NGC_API_KEY" in shell.help_text("generate")
            reached[name] = variable
    assert reached == {
        "output": "--output",
        "eu-list": "--eu-list",
        "eu-uncertain": "--eu-uncertain",
        "eu-probe-file": "--output",
        "eu-proxy": "NIMGEN_EU_PROXY",
        "ngc-api-url": "NIMGEN_NGC_API_URL",
        "ngc-api-key": "NGC_API_KEY",
    }
    assert set(action()["inputs"]) == set(reached) | set(ACTION_ONLY)
    # extra-args go to generate and probe-eu as they are
    assert script.count('"${extra[@]}"') == 2
    assert shell.assert_generate_has_eu_source(script, "action.yml", frozenset()) == 1


# -- runs ----------------------------------------------------------------------------------


def test_probe_on_an_eu_runner_then_refresh_with_the_probe_file(
    eu_emulator: NgcEmulator, us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    """Shape (b): probe-eu where NGC sees the EU, generate --eu-list on the build server."""
    eu_runner = runner_for(tmp_path, eu_emulator, "eu-runner")
    probed = run(eu_runner, command="probe-eu", **{"eu-probe-file": "eu-probe.json"})
    probe_file = eu_runner.workspace / "eu-probe.json"
    assert probed["eu-probe-file"] == "eu-probe.json" and probed["changed"] == ""
    assert json.loads(probe_file.read_text())["kind"] == "NimgenEuProbe"

    runner = runner_for(tmp_path, us_emulator)
    tree = runner.workspace / OUTPUT
    first = run(runner, **{"eu-list": str(probe_file)})
    assert first["changed"] == "true"
    assert gha.flagged(tree) == restricted
    assert first["configmap"] == configmap(tree)["metadata"]["name"]
    assert first["eu-source"].startswith("probe-file probed ")
    report = Path(first["diff-file"]).read_text()
    assert report == first["diff"] + "\n"
    assert report.startswith("## NIM catalog\n\nFirst generation of `manifests/nim`")
    assert "- `base/nim-models-data.yaml`" in report
    assert us_emulator.page_calls[0] == 1  # one catalog fetch per run
    written = tree_bytes(tree)

    again = run(runner, **{"eu-list": str(probe_file)})
    assert again["changed"] == "false" and tree_bytes(tree) == written
    assert "**No changes**" in again["diff"] and "Files changed" not in again["diff"]
    assert us_emulator.page_calls[0] == 2

    # NGC lifts one model's restriction, and a model the probe has not seen appears (it is
    # uncertain, so it ships restricted): the EU changes lead the report
    lifted = restricted[0]
    eu_emulator.update_model(lifted, eu_restricted=False)
    run(eu_runner, command="probe-eu", **{"eu-probe-file": "eu-probe.json"})
    us_emulator.add_models(make_models(1, us_emulator.models[-1:], prefix="zz-new"))
    changed = run(runner, **{"eu-list": str(probe_file)})
    assert changed["changed"] == "true"
    lines = changed["diff"].splitlines()
    sections = [line for line in lines if line.startswith("### ")]
    assert sections[:2] == ["### EU restrictions (2)", "### Added (1)"]
    assert f"| `{lifted}` | yes | **no** |" in lines
    assert "| `zz-new-0000` | new model | **yes** |" in lines
    assert gha.flagged(tree) == [*restricted[1:], "zz-new-0000"]
    summary = (runner.runner_temp.parent / "step-summary.md").read_text()
    assert summary.endswith(changed["diff"] + "\n")


def test_refresh_through_an_eu_proxy(
    us_emulator: NgcEmulator,
    eu_proxy: ForwardProxy,
    restricted: list[str],
    tmp_path: Path,
) -> None:
    """Shape (a): the EU proxy comes in as an input (a secret) and reaches nimgen only in
    its environment; its password shows nowhere."""
    runner = runner_for(tmp_path, us_emulator)
    outputs = run(runner, **{"eu-proxy": eu_proxy.url})
    tree = runner.workspace / OUTPUT
    assert outputs["changed"] == "true" and gha.flagged(tree) == restricted
    assert outputs["eu-source"] == "inline-probe"  # never the proxy's host
    assert eu_proxy.requests > 0 and us_emulator.page_calls[0] == 1
    everything = "\n".join(
        [runner.output_text(), *(p.read_text() for p in tree.rglob("*.yaml")), str(outputs)]
    )
    assert PROXY_PASSWORD not in everything and VALID_KEY not in everything


def test_refuses_to_run_without_an_eu_source(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    runner = runner_for(tmp_path, us_emulator)
    with pytest.raises(StepFailed) as failed:
        run(runner)
    assert failed.value.run.returncode == 2
    assert "no EU source" in failed.value.run.stdout
    assert not (runner.workspace / OUTPUT).exists()
    assert us_emulator.requests == []


@pytest.mark.skipif(
    "--no-eu" not in shell.options("generate"), reason="nimgen generate has no --no-eu yet"
)
def test_an_explicit_no_eu_passes_the_guard(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    runner = runner_for(tmp_path, us_emulator)
    outputs = run(runner, **{"extra-args": "--no-eu"})
    assert outputs["changed"] == "true"
    assert gha.flagged(runner.workspace / OUTPUT) == []


def test_failures_fail_the_step(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    runner = runner_for(tmp_path, us_emulator)
    probe = tmp_path / "eu-list.json"
    probe.write_text("[]")  # the older flat list: nothing restricted
    with pytest.raises(StepFailed) as bad_key:
        run(runner, **{"ngc-api-key": "nvapi-wrong", "eu-list": str(probe)})
    assert bad_key.value.run.returncode == 4
    assert "exit code 4" in bad_key.value.run.stdout
    with pytest.raises(StepFailed) as bad_command:
        run(runner, command="upgrade")
    assert bad_command.value.run.returncode == 2
    assert "command must be" in bad_command.value.run.stdout
    assert not (runner.workspace / OUTPUT).exists()


_FAKE_PYTHON = """#!/usr/bin/env bash
# python3 -m venv DIR: logs its own name and makes a venv whose pip "installs" by logging its
# last argument and linking the nimgen under test; nothing is downloaded.
set -euo pipefail
[ "$1 $2" = "-m venv" ] || exit 9
basename "$0" >> "$PIP_LOG"
mkdir -p "$3/bin"
cat > "$3/bin/python" <<EOF
#!/usr/bin/env bash
set -euo pipefail
[ "\\$1 \\$2 \\$3" = "-m pip install" ] || exit 9
for requirement; do :; done
echo "\\$requirement" >> "$PIP_LOG"
ln -sf "$REAL_NIMGEN" "$3/bin/nimgen"
EOF
chmod +x "$3/bin/python"
"""


@pytest.mark.parametrize(
    ("spec", "python_version", "interpreter"),
    [("", "3.12", "python3"), ("nimgen==9.9.9", "3.12", "python3"), ("", "", "python3.13")],
)
def test_install_step(
    spec: str, python_version: str, interpreter: str, us_emulator: NgcEmulator, tmp_path: Path
) -> None:
    """The install step: pip installs this action's own source after its locked dependencies
    and build backend, unless nimgen-spec says otherwise; without a python-version, into a
    venv of the runner's newest python3.X. Only the nimgen command goes on PATH."""
    fake = tmp_path / "fake-python"
    fake.mkdir()
    for name in ("python3", "python3.13", "python3.12"):
        (fake / name).write_text(_FAKE_PYTHON)
        (fake / name).chmod(0o755)
    pip_log = tmp_path / "pip.log"
    runner = runner_for(tmp_path, us_emulator)
    runner.base_env.update(
        PIP_LOG=str(pip_log),
        REAL_NIMGEN=nimgen_executable(),
        PATH=f"{fake}{os.pathsep}{runner.base_env['PATH']}",
    )
    source = str(ACTION.parent)
    env = {"NIMGEN_SPEC": spec, "PYTHON_VERSION": python_version, "ACTION_SOURCE": source}
    done = runner.run_script("install", steps_by_id()["install"]["run"], env)
    lock = [f"{source}/requirements/{name}.txt" for name in ("runtime", "build")]
    assert all(Path(file).is_file() for file in lock)
    assert pip_log.read_text().split() == [interpreter, *([spec] if spec else [*lock, source])]
    assert done.stdout.startswith("nimgen ")
    assert runner.path_additions == [str(runner.runner_temp / "nimgen-bin")]
    assert sorted(p.name for p in (runner.runner_temp / "nimgen-bin").iterdir()) == ["nimgen"]
