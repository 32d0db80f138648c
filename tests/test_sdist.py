"""The sdist stands alone: unpacked anywhere, it holds its test data and passes its tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from functools import partial
from pathlib import Path

import pytest

from tests.support.dist import build_dist

ROOT = Path(__file__).resolve().parents[1]

# Tests that need the fixtures, the emulator, the CRDs and the templates: enough to show the
# unpacked sdist finds everything inside itself. The whole suite runs from it in CI.
_SUBSET = (
    "tests/tree/test_template.py",
    "tests/tree/test_revision.py",
    "tests/test_ngc_emulator.py",
)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = build_dist("sdist", tmp_path_factory.mktemp("sdist"))
    # Far from the checkout: nothing beside it, no shared/ folder.
    target = tmp_path_factory.mktemp("elsewhere")
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return next(target.glob("nimgen-*"))


def test_sdist_carries_tests_and_their_data(unpacked: Path) -> None:
    for path in (
        "tests/fixtures/ngc/models-2025.json",
        "tests/fixtures/crds/serving.kserve.io_servingruntimes.yaml",
        "tests/support/ngc_emulator.py",
        "templates/nim-http-template.yaml.j2",
        "benchmarks/run.py",
        "pyproject.toml",
        "LICENSE",
        "requirements/test.txt",
    ):
        assert (unpacked / path).is_file(), path


def test_unpacked_sdist_passes_its_tests(unpacked: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMGEN_", "PYTEST_"))}
    # The sdist's own package comes first on the path, not the checkout's.
    env["PYTHONPATH"] = str(unpacked)
    there = partial(subprocess.run, cwd=unpacked, env=env, capture_output=True, text=True)
    plugins = ["-p", "no:cacheprovider", "-p", "no:xdist"]
    run = there([sys.executable, "-m", "pytest", "-q", *plugins, *_SUBSET], timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    probe = there([sys.executable, "-c", "import nimgen; print(nimgen.__file__)"], timeout=60)
    assert Path(probe.stdout.strip()).is_relative_to(unpacked), probe.stdout
