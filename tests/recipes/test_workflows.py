"""nimgen's own workflows: CI that any fork runs without variables or secrets, the release
workflow, and every third-party action pinned by commit SHA."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import nimgen
from tests.recipes import shell
from tests.recipes.gha import (
    ACTION,
    NIMGEN_ACTION,
    ROOT,
    load_yaml,
    parse_output_file,
    scripts,
    steps,
)

WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
EVERY_ACTION_USER = sorted(
    [*WORKFLOWS.glob("*.yml"), ACTION, *(ROOT / "examples" / "github").glob("*.yml")]
)
PYTHONS = ["3.11", "3.12", "3.13"]

# The pinned actions: version, and the inputs each version's action.yml declares (read from
# the action repositories at those tags). A pin moves together with its version comment.
PINNED: dict[str, tuple[str, str, frozenset[str]]] = {
    "actions/checkout": (
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
        frozenset({"persist-credentials", "fetch-depth", "ref", "path", "token"}),
    ),
    "actions/setup-python": (
        "5fda3b95a4ea91299a34e894583c3862153e4b97",
        "v7.0.0",
        frozenset({"python-version", "cache", "cache-dependency-path", "python-version-file"}),
    ),
    "actions/upload-artifact": (
        "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
        "v7.0.0",
        frozenset({"name", "path", "if-no-files-found", "retention-days"}),
    ),
    "actions/download-artifact": (
        "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c",
        "v8.0.1",
        frozenset({"name", "path", "pattern", "merge-multiple"}),
    ),
    "pypa/gh-action-pypi-publish": (
        "ed0c53931b1dc9bd32cbe73a98c7f6766f8a527e",
        "v1.13.0",
        frozenset({"repository-url", "packages-dir", "attestations"}),
    ),
    "docker/setup-qemu-action": (
        "96fe6ef7f33517b61c61be40b68a1882f3264fb8",
        "v4.2.0",
        frozenset({"platforms"}),
    ),
    "docker/setup-buildx-action": (
        "37fe631027851001ddb9b187196cc803df7f5f0e",
        "v4.3.0",
        frozenset({"platforms", "version"}),
    ),
    "docker/login-action": (
        "4907a6ddec9925e35a0a9e82d7399ccc52663121",
        "v4.1.0",
        frozenset({"registry", "username", "password"}),
    ),
    "docker/build-push-action": (
        "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
        "v7.3.0",
        frozenset({"context", "file", "platforms", "push", "load", "tags", "labels"}),
    ),
    "peter-evans/create-pull-request": (
        "5f6978faf089d4d20b00c7766989d076bb2fc7f1",
        "v8.1.1",
        frozenset(
            {"token", "branch", "delete-branch", "add-paths", "commit-message", "title"}
            | {"body", "body-path", "labels", "base", "draft"}
        ),
    ),
    "actions/create-github-app-token": (
        "1b10c78c7865c340bc4f6099eb2f838309f1e8c3",
        "v3.1.1",
        frozenset({"client-id", "private-key", "permission-contents", "permission-pull-requests"}),
    ),
}


@pytest.mark.parametrize("path", EVERY_ACTION_USER, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit(path: Path) -> None:
    lines = path.read_text().splitlines()
    uses_lines = [line for line in lines if re.match(r"^\s*(?:- )?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        reference = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        if NIMGEN_ACTION.match(reference):
            # only the consumer examples name nimgen's own action, by its release tag
            assert path.parent.name == "github" and path.parent.parent.name == "examples"
            continue
        name, _, sha = reference.partition("@")
        assert name in PINNED, f"{path.name}: {name} is not a known pinned action"
        pinned_sha, version, _ = PINNED[name]
        assert sha == pinned_sha, f"{path.name}: {name}@{sha} (expected {pinned_sha})"
        assert line.rstrip().endswith(f"# {version}"), f"{path.name}: {line.strip()}"
    for step in steps(load_yaml(path)):
        name = step.get("uses", "").split("@")[0]
        if name in PINNED:
            unknown = set(step.get("with", {})) - PINNED[name][2]
            assert not unknown, f"{path.name}: {name} has no inputs {sorted(unknown)}"


def test_ci_runs_in_any_fork() -> None:
    text = CI.read_text()
    # nothing a fork would have to configure: no variables, no secrets, no other repository
    assert "secrets." not in text and "vars." not in text
    document = load_yaml(CI)
    assert {"push", "pull_request"} <= set(document["on"])
    assert document["permissions"] == {"contents": "read"}
    for step in steps(document):
        assert "repository" not in step.get("with", {}), step
    for job in document["jobs"].values():
        assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] > 0


def test_ci_has_the_gates_of_ci_run() -> None:
    document = load_yaml(CI)
    jobs = document["jobs"]
    lint = scripts({"jobs": {"lint": jobs["lint"]}})
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == PYTHONS
    test = scripts({"jobs": {"test": jobs["test"]}})
    assert "pip install --require-hashes -r requirements/test.txt" in test
    pytest_line = " ".join(test.split())
    for needed in ("pytest -n auto", "--cov=nimgen", '--cov-fail-under="$COVERAGE_FLOOR"'):
        assert needed in pytest_line, needed
    # the gates .ci/run applies are the gates CI applies
    ci_run = (ROOT / ".ci" / "run").read_text()
    # The runners skip the cluster and registry tests: a floor at most a little below ours.
    ours = int(re.search(r"--cov-fail-under=(\d+)", ci_run).group(1))  # type: ignore[union-attr]
    assert ours - 2 <= int(document["env"]["COVERAGE_FLOOR"]) <= ours
    for gate in ("bash .ci/lint", "ruff check .", "ruff format --check .", "mypy"):
        assert gate in ci_run and gate in lint, gate
    assert "pytest -n auto" in ci_run and "--require-hashes -r requirements/test.txt" in ci_run
    # every install takes the hashed lock, then nimgen alone (pip itself is not locked)
    for path in [*WORKFLOWS.glob("*.yml"), ROOT / ".ci" / "run"]:
        for options in re.findall(r"-m pip install ([^\n]*)", path.read_text()):
            locked = re.search(r"--require-hashes -r \S+", options)
            assert locked or "--no-deps" in options or options == "--quiet --upgrade pip", options


def test_ci_tests_the_sdist_away_from_the_checkout() -> None:
    job = load_yaml(CI)["jobs"]["sdist"]
    script = scripts({"jobs": {"sdist": job}})
    assert "python -m build --sdist" in script
    assert re.search(r"tar -xzf dist/nimgen-\*\.tar\.gz", script)
    assert "-r requirements/test.txt" in script and "python -m pytest" in script
    wheel = scripts({"jobs": {"wheel": load_yaml(CI)["jobs"]["wheel"]}})
    assert "pip install --no-deps dist/nimgen-*.whl" in wheel and "kubectl kustomize" in wheel
    calls = {str(c) for c in shell.assert_real_nimgen_calls(wheel, "ci.yml")}
    assert any(c.startswith("nimgen render") for c in calls)


def test_release_workflow_shape() -> None:
    text = RELEASE.read_text()
    document = load_yaml(RELEASE)
    assert document["on"] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}
    assert document["permissions"] == {"contents": "read"}
    assert "secrets." not in text  # PyPI trusts the OIDC token; GitHub takes github.token
    jobs = document["jobs"]
    assert set(jobs) == {"build", "test", "pypi", "image", "github-release"}
    assert jobs["test"]["needs"] == "build"
    assert set(jobs["pypi"]["needs"]) == set(jobs["image"]["needs"]) == {"build", "test"}
    assert set(jobs["github-release"]["needs"]) == {"build", "pypi", "image"}
    # built once: only the build job runs python -m build; the others download its files
    assert text.count("python -m build") == 1
    for name in ("test", "pypi", "image", "github-release"):
        assert any(
            s.get("uses", "").startswith("actions/download-artifact@") for s in jobs[name]["steps"]
        ), name
    assert jobs["test"]["strategy"]["matrix"]["python-version"] == PYTHONS
    # trusted publishing: the OIDC token, no password, in the pypi environment
    pypi = jobs["pypi"]
    assert pypi["permissions"] == {"id-token": "write"}
    assert pypi["environment"]["name"] == "pypi"
    [publish] = [s for s in pypi["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert "password" not in publish.get("with", {})
    image = jobs["image"]
    assert image["permissions"] == {"contents": "read", "packages": "write"}
    assert "ghcr.io/$owner/nimgen:$VERSION" in scripts({"jobs": {"image": image}})
    [push] = [s for s in image["steps"] if s.get("id") == "push"]
    assert push["with"]["file"] == "Containerfile" and push["with"]["push"] is True
    assert jobs["github-release"]["permissions"] == {"contents": "write"}


def test_release_tests_run_against_the_installed_wheel() -> None:
    script = scripts({"jobs": {"test": load_yaml(RELEASE)["jobs"]["test"]}})
    assert "pip install --no-deps dist/nimgen-*.whl" in script
    assert "rm -rf nimgen" in script
    # what it leaves out exists
    for ignored in re.findall(r"--ignore=(\S+)", script):
        assert (ROOT / ignored).is_file(), ignored
    for deselected in re.findall(r"--deselect=(\S+)", script):
        path, _, test = deselected.partition("::")
        assert f"def {test}(" in (ROOT / path).read_text(), deselected


def _release_step(job: str, step_id_or_name: str) -> str:
    for step in load_yaml(RELEASE)["jobs"][job]["steps"]:
        if step_id_or_name in (step.get("id"), step.get("name")):
            return str(step["run"])
    raise AssertionError(f"no step {step_id_or_name} in {job}")


def _run(
    script: str, cwd: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    output = cwd / "github-output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, parse_output_file(output.read_text())


def _checkout(tmp_path: Path, version: str, changelog: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "nimgen").mkdir(parents=True)
    (repo / "nimgen" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (repo / "CHANGELOG.md").write_text(changelog)
    return repo


CHANGELOG = """# Changelog

## [Unreleased]

## [{version}] - 2026-12-01

### Added

- The thing.

## [0.0.1] - 2026-01-01

- Old things.
"""


@pytest.mark.parametrize(
    ("version", "tag", "ok", "prerelease"),
    [
        (nimgen.__version__, f"v{nimgen.__version__}", True, "false"),
        ("0.3.0rc1", "v0.3.0rc1", True, "true"),
        ("0.3.0", "v0.3.1", False, ""),
        ("0.3.0", "0.3.0", False, ""),
    ],
)
def test_release_checks_the_tag_against_the_version(
    version: str, tag: str, ok: bool, prerelease: str, tmp_path: Path
) -> None:
    repo = _checkout(tmp_path, version, CHANGELOG.format(version=version))
    done, outputs = _run(_release_step("build", "version"), repo, GITHUB_REF_NAME=tag)
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    if ok:
        assert outputs == {"version": version, "prerelease": prerelease}
    else:
        assert f"does not match nimgen.__version__ {version}" in done.stdout


def test_release_needs_a_changelog_section(tmp_path: Path) -> None:
    repo = _checkout(tmp_path, "0.4.0", CHANGELOG.format(version="0.3.9"))
    done, _ = _run(_release_step("build", "version"), repo, GITHUB_REF_NAME="v0.4.0")
    assert done.returncode == 1 and "no '## [0.4.0]' section" in done.stdout


def test_release_notes_and_pinned_task(tmp_path: Path) -> None:
    repo = _checkout(tmp_path, "0.3.0", CHANGELOG.format(version="0.3.0"))
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    (repo / "dist").mkdir()
    (tmp_path / "temp").mkdir()
    image = "ghcr.io/someone/nimgen:0.3.0@sha256:" + "ab" * 32
    step = _release_step("github-release", "Release notes and the Tekton Task pinned to this image")
    done, _ = _run(step, repo, VERSION="0.3.0", IMAGE=image, RUNNER_TEMP=str(tmp_path / "temp"))
    assert done.returncode == 0, done.stderr
    notes = (tmp_path / "temp" / "notes.md").read_text()
    assert notes.startswith("### Added\n\n- The thing.") and "Old things" not in notes
    assert notes.rstrip().endswith(f"Image: `{image}`")
    pinned = (repo / "dist" / "nimgen-task.yaml").read_text()
    assert f"default: {image}\n" in pinned
    assert pinned.replace(image, "X") == (
        ROOT / "deploy/tekton/nimgen-task.yaml"
    ).read_text().replace(f"ghcr.io/opendatahub-io/nimgen:{nimgen.__version__}", "X")
