"""Fixtures of the fault suite (helpers in ``fault_kit.py`` beside this file)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# fault_kit is imported as a top-level module, whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from fault_kit import Nimgen, configmap_records, tree_bytes  # noqa: E402
from ngc_emulator import NgcEmulator  # noqa: E402


@pytest.fixture
def nimgen() -> Nimgen:
    return Nimgen()


@pytest.fixture(scope="session")
def clean_run(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A fault-free ``generate`` of the 186 fixture models: the yardstick of 'nothing lost'."""
    out = tmp_path_factory.mktemp("clean") / "tree"
    with NgcEmulator(shared_dir=shared_dir) as emu:
        run = Nimgen().generate(emu, out)
    assert run.code == 0, run.stderr
    yield {"json": run.json, "records": configmap_records(out), "tree": tree_bytes(out)}
