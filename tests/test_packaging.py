"""The wheel carries the templates and the sample, and works without the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.dist import build_dist
from tests.support.nimgen_runner import kustomize

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist("wheel", tmp_path_factory.mktemp("dist"))


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "nimgen/templates/nim-http-template.yaml.j2" in names
    assert "nimgen/data/sample-snapshot.json" in names
    assert "nimgen/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)


def test_installed_wheel_renders_without_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))
    code = (
        "import nimgen, sys; print(nimgen.__file__); "
        "from nimgen.cli import main; sys.argv=['nimgen','render','-o','out','-q']; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(str(target))
    kustomize(workdir / "out" / "overlays" / "odh")
