"""Fixtures of the fault suite (helpers in ``fault_kit.py`` beside this file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.fault_kit import Nimgen, configmap_records
from tests.support.ngc_emulator import NgcEmulator
from tests.support.nimgen_runner import tree_bytes


@pytest.fixture
def nimgen() -> Nimgen:
    return Nimgen()


@pytest.fixture(scope="session")
def clean_run(
    fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A fault-free ``generate`` of the 186 fixture models: the yardstick of 'nothing lost'."""
    out = tmp_path_factory.mktemp("clean") / "tree"
    with NgcEmulator(fixtures_dir=fixtures_dir) as emu:
        run = Nimgen().generate(emu, out)
    assert run.code == 0, run.stderr
    yield {"json": run.json, "records": configmap_records(out), "tree": tree_bytes(out)}
