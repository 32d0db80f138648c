"""Shared pytest fixtures.

NGC emulator (tests/ngc_emulator.py) and loopback forward proxy (tests/http_proxy.py):
``shared_dir``, ``ngc_models``, ``ngc_emulator``, ``forward_proxy``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

try:  # tests/ on sys.path (pytest's default rootdir-relative import, no tests/__init__.py)
    from http_proxy import ForwardProxy
    from ngc_emulator import EmulatedModel, NgcEmulator, default_shared_dir, load_fixture_models
except ImportError:  # tests is a package
    from tests.http_proxy import ForwardProxy
    from tests.ngc_emulator import (
        EmulatedModel,
        NgcEmulator,
        default_shared_dir,
        load_fixture_models,
    )


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared/ folder (``$NIMGEN_SHARED_DIR`` or ``../shared`` of the repo)."""
    path = default_shared_dir()
    if not (path / "fixtures" / "ngc").is_dir():
        pytest.fail(f"shared fixtures not found under {path} (set NIMGEN_SHARED_DIR)")
    return path


@pytest.fixture
def ngc_models(shared_dir: Path) -> list[EmulatedModel]:
    """The 186 models of fixtures/ngc/models-2025.json (4 of them EU-restricted)."""
    return load_fixture_models(shared_dir)


@pytest.fixture
def ngc_emulator(ngc_models: list[EmulatedModel], shared_dir: Path) -> Iterator[NgcEmulator]:
    """A started NGC emulator seeded with the fixture models; stopped after the test."""
    with NgcEmulator(ngc_models, shared_dir=shared_dir) as emu:
        yield emu


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    """A started loopback forward proxy dialling upstream from 127.0.0.2."""
    with ForwardProxy() as proxy:
        yield proxy
