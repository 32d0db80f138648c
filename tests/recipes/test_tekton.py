"""The Tekton Task (deploy/tekton/nimgen-task.yaml): its shape, and its step script run as
Tekton runs it (variables substituted, env from the step) against the NGC emulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

import nimgen
from tests.recipes import shell
from tests.recipes.gha import ROOT
from tests.support.eu_setup import PROXY_PASSWORD
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, tree_bytes

TASK = ROOT / "deploy" / "tekton" / "nimgen-task.yaml"
RESULTS = {"exit-code", "changed", "configmap"}


def task() -> dict[str, Any]:
    document = yaml.safe_load(TASK.read_text())
    assert isinstance(document, dict)
    return document


def params() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in task()["spec"]["params"]}


def test_task_shape() -> None:
    document = task()
    assert document["apiVersion"] == "tekton.dev/v1" and document["kind"] == "Task"
    spec = document["spec"]
    assert {r["name"] for r in spec["results"]} == RESULTS
    workspaces = {w["name"]: w for w in spec["workspaces"]}
    assert workspaces["ngc-api-key"]["optional"] is True
    assert workspaces["ngc-api-key"].get("readOnly") is True
    declared = params()
    # the image the release workflow pushes for this version
    version = nimgen.__version__
    assert declared["image"]["default"] == f"ghcr.io/opendatahub-io/nimgen:{version}"
    assert document["metadata"]["labels"]["app.kubernetes.io/version"] == version
    [step] = spec["steps"]
    env = {e["name"]: e for e in step["env"]}
    for secret_variable in ("NGC_API_KEY", "NIMGEN_EU_PROXY"):
        ref = env[secret_variable]["valueFrom"]["secretKeyRef"]
        assert ref["optional"] is True
        for reference in (ref["name"], ref["key"]):
            name = re.fullmatch(r"\$\(params\.([\w-]+)\)", reference)
            assert name and name.group(1) in declared
    assert step["securityContext"]["runAsNonRoot"] is True
    text = TASK.read_text()
    assert set(re.findall(r"\$\(params\.([\w-]+)\)", text)) == set(declared)
    assert set(re.findall(r"\$\(workspaces\.([\w-]+)\.", text)) <= set(workspaces)
    assert set(re.findall(r"\$\(results\.([\w-]+)\.path\)", text)) == RESULTS
    # params reach the script only through env, never pasted into it
    assert "$(params." not in step["script"]
    calls = {str(c) for c in shell.assert_real_nimgen_calls(step["script"], "nimgen-task.yaml")}
    assert any(c.startswith("nimgen generate --output --ngc-api-url --json") for c in calls)
    assert any(c.startswith("nimgen probe-eu --output") for c in calls)
    assert any(c.startswith("nimgen diff --format") for c in calls)
    assert not any("--check" in c for c in calls)  # one fetch: no second --check run
    generates = shell.assert_generate_has_eu_source(step["script"], "nimgen-task", frozenset(env))
    assert generates == 1


TaskRun = Callable[..., dict[str, str]]


def codes(outcome: dict[str, str]) -> tuple[str, str, str]:
    """The step's exit status and its exit-code and changed results."""
    return outcome["returncode"], outcome["exit-code"], outcome["changed"]


def task_runner(tmp_path: Path) -> tuple[TaskRun, Path]:
    """Runs the step script as Tekton would; returns it and the source workspace."""
    [step] = task()["spec"]["steps"]
    results = tmp_path / "results"
    results.mkdir()
    script = step["script"]
    for name in RESULTS:
        script = script.replace(f"$(results.{name}.path)", str(results / name))
    script_file = tmp_path / "step.sh"
    script_file.write_text(script)
    source = tmp_path / "source"
    source.mkdir()
    defaults = {name: str(p.get("default", "")) for name, p in params().items()}

    def run(
        emulator: NgcEmulator,
        *,
        key: str = VALID_KEY,
        key_in_workspace: bool = False,
        eu_proxy: str | None = None,
        **overrides: str,
    ) -> dict[str, str]:
        for result in results.iterdir():
            result.unlink()
        values = {**defaults, **{k.replace("_", "-"): v for k, v in overrides.items()}}
        env = clean_env(
            None if key_in_workspace else key,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            MODE=values["mode"],
            OUTPUT_DIR=values["output-dir"],
            DIFF_FILE=values["diff-file"],
            EU_LIST=values["eu-list"],
            EU_UNCERTAIN=values["eu-uncertain"],
            EXTRA_ARGS=values["extra-args"],
            NGC_API_URL=emulator.url,
            KEY_BOUND="false",
            KEY_FILE=f"/{values['api-key-secret-key']}",
        )
        if eu_proxy is not None:  # the optional Secret exists
            env["NIMGEN_EU_PROXY"] = eu_proxy
        if key_in_workspace:
            key_file = tmp_path / "ngc-api-key" / values["api-key-secret-key"]
            key_file.parent.mkdir(exist_ok=True)
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
            env.update(KEY_BOUND="true", KEY_FILE=str(key_file))
        done = subprocess.run(
            ["bash", str(script_file)],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        outcome = {p.name: p.read_text() for p in results.iterdir()}
        outcome.update(returncode=str(done.returncode), stdout=done.stdout, stderr=done.stderr)
        return outcome

    return run, source


def test_task_probe_then_check_and_update(
    eu_emulator: NgcEmulator, us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    run, source = task_runner(tmp_path)
    tree, diff_file = (source / params()[name]["default"] for name in ("output-dir", "diff-file"))

    # on a cluster in the EU: the probe file, written into the workspace
    probed = run(eu_emulator, mode="probe-eu", eu_list="eu-probe.json")
    assert codes(probed) == ("0", "0", "false")
    assert json.loads((source / "eu-probe.json").read_text())["kind"] == "NimgenEuProbe"

    created = run(us_emulator, mode="update", eu_list="eu-probe.json", key_in_workspace=True)
    assert codes(created) == ("0", "3", "true")
    data = yaml.safe_load((tree / "base" / "nim-models-data.yaml").read_text())
    assert created["configmap"] == data["metadata"]["name"]
    flags = {name: json.loads(value)["euRestricted"] for name, value in data["data"].items()}
    assert sorted(name for name, flag in flags.items() if flag) == restricted
    assert "First generation" in diff_file.read_text()
    assert us_emulator.page_calls[0] == 1
    written = tree_bytes(tree)

    same = run(us_emulator, mode="check", eu_list="eu-probe.json")
    assert codes(same) == ("0", "0", "false")
    assert same["configmap"] == created["configmap"]
    assert us_emulator.page_calls[0] == 2  # one catalog fetch per run

    us_emulator.add_models(make_models(1, us_emulator.models[-1:], prefix="zz-new"))
    diff_file.unlink()
    drift = run(us_emulator, mode="check", eu_list="eu-probe.json")
    assert codes(drift) == ("0", "3", "true")
    assert "zz-new-0000" in drift["stdout"]  # the table report, in the log
    assert tree_bytes(tree) == written and not diff_file.exists()  # check writes nothing

    updated = run(us_emulator, mode="update", eu_list="eu-probe.json")
    assert codes(updated) == ("0", "3", "true")
    assert tree_bytes(tree) != written
    report = diff_file.read_text()
    # the new model is not in the probe file: uncertain, so it ships restricted, and says so
    assert report.index("### EU restrictions (1)") < report.index("### Added (1)")
    assert updated["configmap"] != created["configmap"]


def test_task_through_an_eu_proxy(
    us_emulator: NgcEmulator, eu_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    run, source = task_runner(tmp_path)
    done = run(us_emulator, mode="update", eu_proxy=eu_proxy.url)
    assert codes(done) == ("0", "3", "true")
    assert eu_proxy.requests > 0
    everything = (
        done["stdout"]
        + done["stderr"]
        + "".join(p.read_text() for p in source.rglob("*") if p.is_file())
    )
    assert PROXY_PASSWORD not in everything and VALID_KEY not in everything
    # with both, the list wins and the proxy is not used
    (source / "list.json").write_text("[]")
    eu_proxy.reset_counters()
    both = run(us_emulator, mode="check", eu_list="list.json", eu_proxy=eu_proxy.url)
    assert both["returncode"] == "0" and eu_proxy.requests == 0


def test_task_failures(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    run, source = task_runner(tmp_path)
    no_eu = run(us_emulator, mode="update")
    assert codes(no_eu) == ("2", "2", "false")
    assert "no EU source" in no_eu["stderr"] and us_emulator.requests == []

    (source / "list.json").write_text("[]")
    rejected = run(us_emulator, mode="check", eu_list="list.json", key="nvapi-wrong")
    assert codes(rejected) == ("4", "4", "false")
    assert rejected["configmap"] == "" and VALID_KEY not in rejected["stderr"]

    bad_mode = run(us_emulator, mode="upgrade")
    assert bad_mode["returncode"] == "2" and "mode must be" in bad_mode["stderr"]
    probe_nowhere = run(us_emulator, mode="probe-eu")
    assert probe_nowhere["returncode"] == "2" and "params.eu-list" in probe_nowhere["stderr"]
    assert not (source / params()["output-dir"]["default"]).exists()
