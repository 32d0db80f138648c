"""Shared pytest fixtures.

NGC emulator (tests/ngc_emulator.py) and loopback forward proxy (tests/http_proxy.py):
``shared_dir``, ``ngc_models``, ``ngc_emulator``, ``forward_proxy``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The emulator and proxy modules live beside this file and are imported as top-level modules
# (``from ngc_emulator import ...``), whatever pytest's import mode or a tests/__init__.py.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from http_proxy import ForwardProxy  # noqa: E402
from ngc_emulator import (  # noqa: E402
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
    """A started NGC emulator seeded with the fixture models; stopped after the test.

    Teardown fails the test if the emulator itself hit an unexpected exception.
    """
    with NgcEmulator(ngc_models, shared_dir=shared_dir) as emu:
        yield emu
    assert not emu.errors, "NGC emulator internal errors:\n" + "\n".join(emu.errors)


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    """A started loopback forward proxy dialling upstream from 127.0.0.2."""
    with ForwardProxy() as proxy:
        yield proxy
