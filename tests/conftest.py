"""Shared pytest fixtures.

NGC emulator and loopback forward proxy (``tests.support``), and their data:
``fixtures_dir``, ``ngc_models``, ``ngc_emulator``, ``forward_proxy``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import (
    EmulatedModel,
    NgcEmulator,
    default_fixtures_dir,
    load_fixture_models,
)

# A real kube-apiserver on loopback for tests/cluster (skips with the reason where it is not built).
pytest_plugins = ["tests.support.kube.fixtures"]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``tests/fixtures/``: real NGC answers (``ngc/``) and CRDs (``crds/``), copied in."""
    return default_fixtures_dir()


@pytest.fixture
def ngc_models(fixtures_dir: Path) -> list[EmulatedModel]:
    """The 186 models of fixtures/ngc/models-2025.json (4 of them EU-restricted)."""
    return load_fixture_models(fixtures_dir)


@pytest.fixture
def ngc_emulator(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """A started NGC emulator seeded with the fixture models; stopped after the test.

    Teardown fails the test if the emulator itself hit an unexpected exception.
    """
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir) as emu:
        yield emu
    assert not emu.errors, "NGC emulator internal errors:\n" + "\n".join(emu.errors)


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    """A started loopback forward proxy dialling upstream from 127.0.0.2."""
    with ForwardProxy() as proxy:
        yield proxy
