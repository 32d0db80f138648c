"""The example refresh workflows for the repository that ships the manifests, in both EU
shapes, run job by job with nimgen's action resolved to this checkout's action.yml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen import __version__
from tests.recipes.gha import NIMGEN_ACTION, ROOT, Runner, load_yaml, new_runner
from tests.support.eu_setup import PROXY_PASSWORD
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env

EXAMPLES = ROOT / "examples" / "github"
PROXY_SHAPE = EXAMPLES / "nim-metadata-refresh.yml"
RUNNER_SHAPE = EXAMPLES / "nim-metadata-refresh-eu-runner.yml"
PR_ACTION = "peter-evans/create-pull-request@"
# The tag the release workflow moves: vMAJOR of the version being released (v0 before 1.0).
MAJOR_TAG = f"v{__version__.split('.')[0]}"


def flagged(tree: Path) -> list[str]:
    data = yaml.safe_load((tree / "base" / "nim-models-data.yaml").read_text())["data"]
    return sorted(name for name, value in data.items() if json.loads(value)["euRestricted"])


def machine(tmp_path: Path, name: str, emulator: NgcEmulator) -> Runner:
    """A job on the runner ``name`` whose NGC is ``emulator``."""
    env = clean_env(None, NIMGEN_NGC_API_URL=emulator.url)
    return new_runner(tmp_path / name, env, tmp_path / "artifacts")


def pull_requests(runner: Runner) -> list[dict[str, str]]:
    return [with_ for uses, with_ in runner.recorded if uses.startswith(PR_ACTION)]


@pytest.mark.parametrize("path", [PROXY_SHAPE, RUNNER_SHAPE], ids=["eu-proxy", "eu-runner"])
def test_example_workflow_shape(path: Path) -> None:
    workflow = load_yaml(path)
    assert {"workflow_dispatch", "schedule"} <= set(workflow["on"])
    [schedule] = workflow["on"]["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert workflow["permissions"] == {"contents": "read"}
    refresh = workflow["jobs"]["refresh"]
    assert refresh["permissions"] == {"contents": "write", "pull-requests": "write"}
    [nimgen] = [s for s in refresh["steps"] if NIMGEN_ACTION.match(s.get("uses", ""))]
    # a consumer names the published action, never a path inside its own repository
    assert nimgen["uses"] == f"opendatahub-io/nimgen@{MAJOR_TAG}"
    assert nimgen["with"]["ngc-api-key"] == "${{ secrets.NGC_API_KEY }}"
    [pr] = [s for s in refresh["steps"] if s.get("uses", "").startswith(PR_ACTION)]
    assert pr["if"] == f"steps.{nimgen['id']}.outputs.changed == 'true'"
    assert pr["with"]["body-path"] == f"${{{{ steps.{nimgen['id']}.outputs.diff-file }}}}"
    # the key and the proxy URL only ever come from secrets
    text = path.read_text()
    assert not re.search(r"nvapi-\w{8}", text), "an NGC key in the workflow file"
    assert not re.search(r"://[\w.-]+:[^\s/@\]]+@", text), "proxy credentials in the workflow file"


def test_proxy_shape_runs(
    us_emulator: NgcEmulator, eu_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    """One job; the EU proxy URL is the secret NIMGEN_EU_PROXY."""
    workflow = load_yaml(PROXY_SHAPE)
    [nimgen] = [s for s in workflow["jobs"]["refresh"]["steps"] if s.get("id") == "nimgen"]
    assert nimgen["with"]["eu-proxy"] == "${{ secrets.NIMGEN_EU_PROXY }}"
    secrets = {"NGC_API_KEY": VALID_KEY, "NIMGEN_EU_PROXY": eu_proxy.url}
    tree_path = workflow["env"]["NIM_OUTPUT"]

    first = machine(tmp_path, "ubuntu", us_emulator)
    first.run_job(workflow, "refresh", secrets, skip={"install"})
    tree = first.workspace / tree_path
    assert flagged(tree) == restricted
    [pr] = pull_requests(first)
    assert Path(pr["body-path"]).read_text().startswith("## NIM catalog\n\nFirst generation")
    assert pr["add-paths"] == tree_path
    assert re.fullmatch(
        r"Refresh the NIM model metadata \(nim-models-data-\w+\)", pr["commit-message"]
    )
    assert eu_proxy.requests > 0 and us_emulator.page_calls[0] == 1

    # the next week, nothing changed: no pull request, one more catalog fetch
    again = machine(tmp_path, "ubuntu", us_emulator)
    again.run_job(workflow, "refresh", secrets, skip={"install"})
    assert pull_requests(again) == [] and us_emulator.page_calls[0] == 2

    # then NGC adds a model: a pull request whose body is the markdown diff
    us_emulator.add_models(make_models(2, us_emulator.models[-1:], prefix="zz-new"))
    week3 = machine(tmp_path, "ubuntu", us_emulator)
    week3.run_job(workflow, "refresh", secrets, skip={"install"})
    [pr] = pull_requests(week3)
    body = Path(pr["body-path"]).read_text()
    assert body.startswith("## NIM catalog changes") and "### Added (2)" in body
    for runner in (first, again, week3):
        assert PROXY_PASSWORD not in runner.output_text()
        assert VALID_KEY not in runner.output_text()


def test_eu_runner_shape_runs(
    eu_emulator: NgcEmulator, us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    """Two jobs: probe-eu on the runner in the EU, its probe file handed over as an artifact,
    then generate --eu-list on the ordinary runner."""
    workflow = load_yaml(RUNNER_SHAPE)
    probe_job, refresh_job = workflow["jobs"]["probe-eu"], workflow["jobs"]["refresh"]
    assert probe_job["runs-on"] == ["self-hosted", "eu-central-1"]
    assert refresh_job["needs"] == "probe-eu" and refresh_job["runs-on"] == "ubuntu-latest"
    [probe] = [s for s in probe_job["steps"] if NIMGEN_ACTION.match(s.get("uses", ""))]
    assert probe["with"]["command"] == "probe-eu"
    secrets = {"NGC_API_KEY": VALID_KEY}

    eu = machine(tmp_path, "eu-central-1", eu_emulator)
    eu.run_job(workflow, "probe-eu", secrets, skip={"install"})
    probe_file = tmp_path / "artifacts" / "eu-probe" / "eu-probe.json"
    assert json.loads(probe_file.read_text())["kind"] == "NimgenEuProbe"
    assert us_emulator.requests == []  # the EU job talked to NGC "in the EU" only

    ubuntu = machine(tmp_path, "ubuntu", us_emulator)
    context = ubuntu.run_job(workflow, "refresh", secrets, skip={"install"})
    tree = ubuntu.workspace / workflow["env"]["NIM_OUTPUT"]
    assert flagged(tree) == restricted
    assert context.steps["nimgen"]["eu-source"].startswith("probe-file sha256:")
    [pr] = pull_requests(ubuntu)
    assert Path(pr["body-path"]).is_file()
    # the probe file stays out of the checkout, so out of the pull request
    assert not (ubuntu.workspace / "eu-probe.json").exists()
    assert us_emulator.page_calls[0] == 1


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", [PROXY_SHAPE, RUNNER_SHAPE], ids=["eu-proxy", "eu-runner"])
def test_every_action_call_has_an_eu_source(path: Path) -> None:
    """A refresh names eu-proxy or eu-list (and probe-eu needs neither: it is in the EU)."""
    action = load_yaml(ROOT / "action.yml")
    calls = [s for s in _steps(load_yaml(path)) if NIMGEN_ACTION.match(s.get("uses", ""))]
    assert calls
    for step in calls:
        with_ = step["with"]
        assert set(with_) <= set(action["inputs"]), sorted(set(with_) - set(action["inputs"]))
        if with_.get("command", "refresh") == "refresh":
            assert {"eu-proxy", "eu-list"} & set(with_), step
            assert "--no-eu" not in with_.get("extra-args", "")


def test_every_reference_to_the_action_by_major_tag_names_one_a_release_moves() -> None:
    """``@v1`` would not resolve before nimgen 1.0: the release moves ``v0`` until then."""
    major_refs = re.compile(r"opendatahub-io/nimgen@(v\d+)\b(?![.\d])")
    texts = [ROOT / "README.md", ROOT / "action.yml", *sorted((ROOT / "docs").glob("*.md"))]
    texts += sorted(EXAMPLES.glob("*.yml"))
    found = {(path.name, tag) for path in texts for tag in major_refs.findall(path.read_text())}
    assert found, "no reference by major tag at all: the check would check nothing"
    assert {tag for _, tag in found} == {MAJOR_TAG}, sorted(found)
