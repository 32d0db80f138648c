"""The example refresh workflows for the repository that ships the manifests, in both EU
shapes, run job by job with nimgen's action resolved to this checkout's action.yml: a
read-only job generates, another opens the pull request with a token that starts CI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen import __version__
from tests.recipes.gha import NIMGEN_ACTION, ROOT, Runner, flagged, load_yaml, new_runner, steps
from tests.support.eu_setup import PROXY_PASSWORD
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, tree_bytes

EXAMPLES = ROOT / "examples" / "github"
PROXY_SHAPE = EXAMPLES / "nim-metadata-refresh.yml"
RUNNER_SHAPE = EXAMPLES / "nim-metadata-refresh-eu-runner.yml"
PR_ACTION = "peter-evans/create-pull-request@"
APP_TOKEN = "actions/create-github-app-token@"
# The tag the release workflow moves: vMAJOR of the version being released (v0 before 1.0).
MAJOR_TAG = f"v{__version__.split('.')[0]}"


def machine(tmp_path: Path, name: str, emulator: NgcEmulator, run: int = 1) -> Runner:
    """A job on the runner ``name`` whose NGC is ``emulator``, in the workflow run ``run``."""
    env = clean_env(None, NIMGEN_NGC_API_URL=emulator.url)
    return new_runner(tmp_path / name, env, tmp_path / f"artifacts-{run}")


def pull_requests(runner: Runner) -> list[dict[str, str]]:
    return [with_ for uses, with_ in runner.recorded if uses.startswith(PR_ACTION)]


def refresh(
    tmp_path: Path, workflow: dict[str, Any], secrets: dict[str, str], us: NgcEmulator, run: int
) -> tuple[Runner, Runner]:
    """The generate job on the build server, then the pull-request job on a runner of its
    own (a fresh checkout: nothing of the first job's workspace)."""
    generate = machine(tmp_path, "ubuntu", us, run)
    outputs = generate.run_job(workflow, "generate", secrets, skip={"install"}).outputs
    pull = machine(tmp_path, f"pull-request-{run}", us, run)
    pull.run_job(workflow, "pull-request", secrets, needs={"generate": outputs})
    tree = workflow["env"]["NIM_OUTPUT"]
    if pull_requests(pull):
        assert tree_bytes(pull.workspace / tree) == tree_bytes(generate.workspace / tree)
    for runner in (generate, pull):
        assert VALID_KEY not in runner.output_text() and PROXY_PASSWORD not in runner.output_text()
    return generate, pull


@pytest.mark.parametrize("path", [PROXY_SHAPE, RUNNER_SHAPE], ids=["eu-proxy", "eu-runner"])
def test_example_workflow_shape(path: Path) -> None:
    workflow = load_yaml(path)
    assert {"workflow_dispatch", "schedule"} <= set(workflow["on"])
    [schedule] = workflow["on"]["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    generate, pull = jobs["generate"], jobs["pull-request"]
    # no job can write with its GITHUB_TOKEN, and no checkout keeps a token on disk
    assert all(job["permissions"] in ({}, {"contents": "read"}) for job in jobs.values())
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, path.name
    [nimgen] = [s for s in generate["steps"] if NIMGEN_ACTION.match(s.get("uses", ""))]
    # a consumer names the published action, never a path inside its own repository
    assert nimgen["uses"] == f"opendatahub-io/nimgen@{MAJOR_TAG}"
    assert nimgen["with"]["ngc-api-key"] == "${{ secrets.NGC_API_KEY }}"
    assert generate["outputs"]["changed"] == f"${{{{ steps.{nimgen['id']}.outputs.changed }}}}"
    # the pull request: only when the tree changed, opened with an App token (one made with
    # GITHUB_TOKEN starts no workflow), in a job that never sees the NGC key
    assert pull["needs"] == "generate"
    assert pull["if"] == "needs.generate.outputs.changed == 'true'"
    [token] = [s for s in pull["steps"] if s.get("uses", "").startswith(APP_TOKEN)]
    [pr] = [s for s in pull["steps"] if s.get("uses", "").startswith(PR_ACTION)]
    assert pr["with"]["token"] == f"${{{{ steps.{token['id']}.outputs.token }}}}"
    assert "NGC_API_KEY" not in yaml.safe_dump(pull)
    assert not any(s.get("uses", "").startswith((PR_ACTION, APP_TOKEN)) for s in generate["steps"])
    # the key and the proxy URL only ever come from secrets
    text = path.read_text()
    assert not re.search(r"nvapi-\w{8}", text), "an NGC key in the workflow file"
    assert not re.search(r"://[\w.-]+:[^\s/@\]]+@", text), "proxy credentials in the workflow file"


def test_proxy_shape_runs(
    us_emulator: NgcEmulator, eu_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    """The EU proxy URL is the secret NIMGEN_EU_PROXY."""
    workflow = load_yaml(PROXY_SHAPE)
    [nimgen] = [s for s in workflow["jobs"]["generate"]["steps"] if s.get("id") == "nimgen"]
    assert nimgen["with"]["eu-proxy"] == "${{ secrets.NIMGEN_EU_PROXY }}"
    secrets = {"NGC_API_KEY": VALID_KEY, "NIMGEN_EU_PROXY": eu_proxy.url}
    tree_path = workflow["env"]["NIM_OUTPUT"]

    first, pull = refresh(tmp_path, workflow, secrets, us_emulator, 1)
    assert flagged(first.workspace / tree_path) == restricted
    [pr] = pull_requests(pull)
    assert Path(pr["body-path"]).read_text().startswith("## NIM catalog\n\nFirst generation")
    assert pr["add-paths"] == tree_path
    assert re.fullmatch(
        r"Refresh the NIM model metadata \(nim-models-data-\w+\)", pr["commit-message"]
    )
    assert eu_proxy.requests > 0 and us_emulator.page_calls[0] == 1

    # the next week, nothing changed: no pull request, one more catalog fetch
    _, pull = refresh(tmp_path, workflow, secrets, us_emulator, 2)
    assert pull.recorded == [] and us_emulator.page_calls[0] == 2

    # then NGC adds a model: a pull request whose body is the markdown diff
    us_emulator.add_models(make_models(2, us_emulator.models[-1:], prefix="zz-new"))
    _, pull = refresh(tmp_path, workflow, secrets, us_emulator, 3)
    [pr] = pull_requests(pull)
    body = Path(pr["body-path"]).read_text()
    assert body.startswith("## NIM catalog changes") and "### Added (2)" in body


def test_eu_runner_shape_runs(
    eu_emulator: NgcEmulator, us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    """probe-eu on the runner in the EU, with its own Python; its probe file handed over as
    an artifact, then generate --eu-list on the ordinary runner."""
    workflow = load_yaml(RUNNER_SHAPE)
    probe_job, generate_job = workflow["jobs"]["probe-eu"], workflow["jobs"]["generate"]
    assert probe_job["runs-on"] == ["self-hosted", "eu-central-1"]
    assert generate_job["needs"] == "probe-eu" and generate_job["runs-on"] == "ubuntu-latest"
    [probe] = [s for s in probe_job["steps"] if NIMGEN_ACTION.match(s.get("uses", ""))]
    assert probe["with"]["command"] == "probe-eu" and probe["with"]["python-version"] == ""
    secrets = {"NGC_API_KEY": VALID_KEY}

    eu = machine(tmp_path, "eu-central-1", eu_emulator)
    eu.run_job(workflow, "probe-eu", secrets, skip={"install"})
    probe_file = tmp_path / "artifacts-1" / "eu-probe" / "eu-probe.json"
    assert json.loads(probe_file.read_text())["kind"] == "NimgenEuProbe"
    assert us_emulator.requests == []  # the EU job talked to NGC "in the EU" only

    generate, pull = refresh(tmp_path, workflow, secrets, us_emulator, 1)
    assert flagged(generate.workspace / workflow["env"]["NIM_OUTPUT"]) == restricted
    [pr] = pull_requests(pull)
    assert Path(pr["body-path"]).is_file()
    # the probe file stays out of the checkout, so out of the pull request
    assert not (pull.workspace / "eu-probe.json").exists()
    assert us_emulator.page_calls[0] == 1


def test_every_reference_to_the_action_by_major_tag_names_one_a_release_moves() -> None:
    """``@v1`` would not resolve before nimgen 1.0: the release moves ``v0`` until then."""
    major_refs = re.compile(r"opendatahub-io/nimgen@(v\d+)\b(?![.\d])")
    texts = [ROOT / "README.md", ROOT / "action.yml", *sorted((ROOT / "docs").glob("*.md"))]
    texts += sorted(EXAMPLES.glob("*.yml"))
    found = {(path.name, tag) for path in texts for tag in major_refs.findall(path.read_text())}
    assert found, "no reference by major tag at all: the check would check nothing"
    assert {tag for _, tag in found} == {MAJOR_TAG}, sorted(found)
