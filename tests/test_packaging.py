"""The wheel carries the templates, the sample and the licence, says what it is, and works
without the checkout."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tests.support.dist import build_dist
from tests.support.nimgen_runner import kustomize

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist("wheel", tmp_path_factory.mktemp("dist"))


def test_wheel_contents(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert "nimgen/templates/nim-http-template.yaml.j2" in names
    assert "nimgen/data/sample-snapshot.json" in names
    assert "nimgen/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)
    # the Apache text as apache.org publishes it (LICENSE-2.0.txt, by its SHA-256)
    [licence] = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    digest = hashlib.sha256(archive.read(licence)).hexdigest()
    assert digest == "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
    # what PyPI shows: the licence (PyPI refuses a "License ::" classifier beside it), the
    # Python versions, typing, the project's links
    [name] = [name for name in names if name.endswith(".dist-info/METADATA")]
    metadata = HeaderParser().parsestr(archive.read(name).decode())
    assert metadata["License-Expression"] == "Apache-2.0" and metadata["License-File"] == "LICENSE"
    classifiers: list[str] = metadata.get_all("Classifier", [])
    assert {"Typing :: Typed", "Environment :: Console"} <= set(classifiers)
    assert not [c for c in classifiers if c.startswith("License ::")]
    versions = {c.rpartition(" :: ")[2] for c in classifiers if c.count(".") == 1}
    assert versions == {"3.11", "3.12", "3.13"}
    urls = {url.partition(", ")[0] for url in metadata.get_all("Project-URL", [])}
    assert urls == {"Source", "Issues", "Changelog", "Documentation"}


def test_installed_wheel_renders_without_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel],
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
