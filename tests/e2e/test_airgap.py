"""``nimgen airgap`` end to end, with every network connection made to fail the test."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.cli import main
from nimgen.snapshot import sample_path
from nimgen.validate import validate_file
from tests.support.nimgen_runner import kustomize, nimgen_executable, tree_bytes

SAMPLE = sample_path()
MIRROR = "registry.example.com:5000/mirror"
KUBECTL = shutil.which("kubectl")
MIRROR_FILES = {"configmap.yaml", "imagetagmirrorset.yaml", "kustomization.yaml", "images.txt"}
MIRROR_FILES |= {"odhdashboardconfig-patch.yaml", "imageset-config.yaml"}
WEIGHTS_FILES = {"stage-weights.sh", "weights/pvcs.yaml", "weights/loaders.yaml"}
FILES = MIRROR_FILES | WEIGHTS_FILES
# Models of the sample whose latestTag is 'latest': each also gets its newest version tag.
MOVING = 34


# Loaded into a child Python through PYTHONPATH: any attempt to connect anywhere is
# written down and refused.
SITECUSTOMIZE = """
import os, socket

def _refuse(*args, **kwargs):
    with open(os.environ["NIMGEN_TEST_NETWORK_LOG"], "a") as log:
        log.write(repr(args[:2]) + "\\n")
    raise OSError("network blocked by the test")

socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Any connection attempt (or name lookup) fails the test, even if the code swallows it."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise AssertionError(f"airgap tried to use the network: {args[:2]!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == [], f"network connection attempted: {attempts}"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as caught:
        main(args)
    captured = capsys.readouterr()
    code = caught.value.code
    assert isinstance(code, int)
    return code, captured.out, captured.err


def airgap(out: Path, options: str = "", *extra: str) -> list[str]:
    """``nimgen airgap`` of the sample into ``out``, with ``options`` (split on spaces) and
    ``extra``; a ``--from`` among them replaces the sample (a repeated option's last wins)."""
    base = ["airgap", "--from", str(SAMPLE), "-o", str(out), "--mirror", MIRROR]
    return [*base, *options.split(), *extra]


def documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def assert_files_agree(directory: Path) -> list[str]:
    """images.txt, the ImageSetConfiguration and the ConfigMap name the same images."""
    configmap = yaml.safe_load((directory / "configmap.yaml").read_text())
    offered = set()
    for key, value in configmap["data"].items():
        entry = json.loads(value)
        assert entry["name"] == key and entry["latestTag"] in entry["tags"]
        offered |= {f"nvcr.io/{entry['namespace']}/{key}:{tag}" for tag in entry["tags"]}
    imageset = yaml.safe_load((directory / "imageset-config.yaml").read_text())
    listed = [image["name"] for image in imageset["mirror"]["additionalImages"]]
    pairs = [line.split(" ") for line in (directory / "images.txt").read_text().splitlines()]
    assert [source for source, _ in pairs] == listed == sorted(offered)
    for source, destination in pairs:
        assert destination == f"{MIRROR}/{source.removeprefix('nvcr.io/')}"
    return listed


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
def test_airgap_from_a_snapshot_offline(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "airgap"
    options = "--models llama-3.1-* --models nv-embedqa-* --exclude *-pb24* --tags all"
    code, stdout, stderr = run(airgap(out, options), capsys)
    assert code == 0, stderr
    assert stdout == ""
    assert set(tree_bytes(out)) == FILES
    images = assert_files_agree(out)
    assert len(images) > 20

    built = documents(kustomize(out))
    assert sorted(d["kind"] for d in built) == ["ConfigMap", "ImageTagMirrorSet"]
    (configmap,) = [d for d in built if d["kind"] == "ConfigMap"]
    assert configmap["metadata"] == yaml.safe_load((out / "configmap.yaml").read_text())["metadata"]
    (itms,) = [d for d in built if d["kind"] == "ImageTagMirrorSet"]
    assert itms["apiVersion"] == "config.openshift.io/v1"
    mirrors = [{"source": "nvcr.io/nim", "mirrors": [f"{MIRROR}/nim"]}]
    assert itms["spec"]["imageTagMirrors"] == mirrors

    # The next steps, on stderr, with the exact commands for this output.
    isc = f"oc-mirror --config {out}/imageset-config.yaml"
    assert f"{isc} file://nim-mirror-archive --v2" in stderr
    assert f"{isc} --from file://nim-mirror-archive docker://{MIRROR} --v2" in stderr
    assert f"oc apply -k {out}\n" in stderr
    assert (
        "oc patch odhdashboardconfig odh-dashboard-config -n redhat-ods-applications "
        f"--type merge --patch-file {out}/odhdashboardconfig-patch.yaml\n"
    ) in stderr
    assert f"{len(images)} image(s) to mirror" in stderr


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
def test_airgap_from_a_rendered_configmap_offline(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "tree"
    code, _, stderr = run(["render", "--output", str(tree), "--quiet"], capsys)
    assert code == 0, stderr
    shipped = tree / "base" / "nim-models-data.yaml"
    for source in (shipped, tree):  # the ConfigMap file, and the tree holding it
        out = tmp_path / f"airgap-{source.name}"
        code, _, stderr = run(airgap(out, "--from", str(source)), capsys)
        assert code == 0, stderr
        images = assert_files_agree(out)
        # --tags latest: one image per model, and a version tag beside each moving one.
        assert len(images) == 186 + MOVING
        assert validate_file(str(out / "configmap.yaml")).problems == ()
        kinds = sorted(d["kind"] for d in documents(kustomize(out)))
        assert kinds == ["ConfigMap", "ImageTagMirrorSet"]
    from_file, from_tree = (tree_bytes(tmp_path / f"airgap-{s.name}") for s in (shipped, tree))
    assert from_file == from_tree


def test_airgap_json_summary(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    options = "--mirror localhost:5000 --models alphafold2* --tags 2.* --json --quiet"
    code, stdout, stderr = run(airgap(out, options), capsys)
    assert code == 0, stderr
    assert stderr == ""
    report = json.loads(stdout)
    assert report["ok"] is True and report["command"] == "airgap"
    assert (report["models"], report["mirror"], report["tags"]) == (2, "localhost:5000", "2.*")
    lines = (out / "images.txt").read_text().splitlines()
    assert [f"{i['source']} {i['destination']}" for i in report["images"]] == lines
    assert report["configMap"]["name"] == "custom-nim-models"
    assert report["files"] == sorted(FILES)
    commands = [c for step in report["nextSteps"] for c in step["commands"]]
    assert f"oc apply -k {out}" in commands


def test_airgap_is_deterministic_and_replaces_its_own_output(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run(airgap(out, "-q --models a*"), capsys)[0] == 0
    first = tree_bytes(out)
    assert run(airgap(out, "-q --models a*"), capsys)[0] == 0
    assert tree_bytes(out) == first
    assert run(airgap(out, "-q --models b*"), capsys)[0] == 0
    assert tree_bytes(out) != first
    # --no-weights replaces the tree with one that has no weights files.
    assert run(airgap(out, "-q --models b* --no-weights"), capsys)[0] == 0
    assert set(tree_bytes(out)) == MIRROR_FILES


@pytest.mark.parametrize(
    ("option", "what"),
    [
        # tests/airgap/test_airgap.py holds each of --mirror's rules.
        (["--mirror", "https://registry.example.com/m"], "give the registry without a scheme"),
        (["--digests"], "--digests: "),  # the sample records no digests
        (["--models", "no-such-model"], "no model left after --models"),
        (["--name", "Custom_Models"], "--name 'Custom_Models' is not a valid object name"),
        (["--namespace", "a.b"], "--namespace 'a.b' is not a valid namespace name"),
        (["--tags", ""], "--tags takes latest, all, or a glob"),
        (["--pvc-size", "100GB"], "--pvc-size '100GB' is not a storage size"),
        (["--project", "Team_A"], "--project 'Team_A' is not a valid"),
        (["--gpu", "a100;reboot"], "--gpu 'a100;reboot' is not a GPU model"),
        (["--storage-class", "Fast SSD"], "--storage-class 'Fast SSD' is not a valid"),
        (["--account-configmap", "--immutable"], "you refill in place: leave out --immutable"),
        (["--account-configmap", "--name", "x"], "writes odh-nim-account-cm, the only name"),
        (["--from", "nope.json"], "cannot read"),
    ],
)
def test_bad_options_exit_2_in_one_line_and_write_nothing(
    no_network: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    option: list[str],
    what: str,
) -> None:
    out = tmp_path / "out"
    code, _, stderr = run(airgap(out, "", *option), capsys)
    assert code == 2
    assert stderr.startswith("nimgen: error: ") and what in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_foreign_files_in_the_output_are_never_replaced(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    code, _, stderr = run(airgap(out), capsys)
    assert code == 2
    assert "holds files nimgen did not write (notes.md)" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.md"]


def test_warnings_for_immutable_and_unmatched_patterns(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    options = "--models alphafold2 --models alphafodl3 --tags 9.* --immutable"
    code, _, stderr = run(airgap(out, options), capsys)
    assert code == 0, stderr
    assert "warning: --models/--models-file 'alphafodl3': no such model" in stderr
    assert "warning: --tags 9.* matched no tag of 1 model(s)" in stderr
    assert "warning: --immutable: the ConfigMap 'custom-nim-models' has a fixed name" in stderr
    assert yaml.safe_load((out / "configmap.yaml").read_text())["immutable"] is True


def test_the_console_script_runs_airgap_with_the_network_blocked(tmp_path: Path) -> None:
    """In a child whose every connection (and name lookup) fails and is written down: the
    block is checked first, then the installed console script runs."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "NGC_API_KEY"}
    env |= {"PYTHONPATH": str(site), "NIMGEN_TEST_NETWORK_LOG": str(tmp_path / "network.log")}
    probe = "import socket; socket.create_connection(('127.0.0.1', 9), timeout=1)"
    blocked = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert blocked.returncode != 0 and "network blocked by the test" in blocked.stderr
    (tmp_path / "network.log").unlink()
    out = tmp_path / "out"
    argv = [nimgen_executable(), *airgap(out, "--models llama-3.1-8b-*")]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "network.log").exists(), (tmp_path / "network.log").read_text()
    assert result.stdout == ""
    assert "next steps:" in result.stderr and f"oc apply -k {out}" in result.stderr
    assert set(tree_bytes(out)) == FILES
    assert_files_agree(out)


def test_weights_options_reach_the_script_the_manifests_and_the_json(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    options = (
        "--models llama-3.1-8b-instruct --gpu H100 --gpu a100 --project team-a "
        "--pvc-size 200Gi --storage-class fast --json --quiet"
    )
    code, stdout, stderr = run(airgap(out, options), capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["files"] == sorted(FILES)
    moving = {"model": "llama-3.1-8b-instruct", "tags": ["latest"], "pinnedTag": "1.15.5"}
    assert report["movingTags"] == [moving | {"pinnedByDigest": False}]
    assert report["unpinnedMovingTags"] == []
    assert report["weights"] == {
        "project": "team-a",
        "pvcSize": "200Gi",
        "storageClass": "fast",
        "gpus": ["a100", "h100"],
        "models": [
            {
                "model": "llama-3.1-8b-instruct",
                "image": "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.15.5",
                "tag": "1.15.5",
                "pvc": "nim-pvc-llama-3-1-8b-instruct",
                "loader": "nim-cache-loader-llama-3-1-8b-instruct",
                "archive": "llama-3.1-8b-instruct.tar",
            }
        ],
    }
    assert "DEFAULT_GPUS='a100 h100'" in (out / "stage-weights.sh").read_text()
    (pvc,) = documents((out / "weights" / "pvcs.yaml").read_text())
    assert (pvc["metadata"]["namespace"], pvc["spec"]["storageClassName"]) == ("team-a", "fast")
    commands = [c for step in report["nextSteps"] for c in step["commands"]]
    assert f"sh {out}/stage-weights.sh" in commands
    assert "oc get inferenceservice -n team-a" in commands


def test_a_model_left_on_a_moving_tag_is_named_in_text_and_json(
    no_network: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = {
        "name": "only-latest",
        "displayName": "Only Latest",
        "shortDescription": "A model with no version tag.",
        "namespace": "nim/example",
        "tags": ["latest"],
        "latestTag": "latest",
        "updatedDate": "2025-01-01T00:00:00Z",
        "euRestricted": False,
    }
    configmap = tmp_path / "custom.yaml"
    document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "custom-nim-models"}}
    configmap.write_text(yaml.safe_dump(document | {"data": {"only-latest": json.dumps(entry)}}))
    code, _, stderr = run(airgap(tmp_path / "a", "--no-weights --from", str(configmap)), capsys)
    assert code == 0, stderr
    assert "1 model(s) offer only a moving tag, pinned by no version tag and no digest" in stderr
    assert "only-latest (latest)" in stderr
    args = airgap(tmp_path / "b", "--no-weights --json -q --from", str(configmap))
    code, stdout, stderr = run(args, capsys)
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["unpinnedMovingTags"] == ["only-latest"]
    assert report["weights"] is None
