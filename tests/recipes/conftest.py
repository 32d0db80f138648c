"""Fixtures of the recipe tests: an NGC emulator on a US build server, one playing an EU
runner, and an authenticated forward proxy "in the EU".

The US emulator answers 451 for restricted models only to callers from 127.0.0.2, the address
the real forward proxy dials from; the EU emulator answers 451 to everyone. Both serve the 4
EU-restricted fixture models and 8 others: the recipes' logic, not scale, is under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.eu_setup import PROXY_PASSWORD, PROXY_USER
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import EmulatedModel, NgcEmulator


@pytest.fixture
def models(ngc_models: list[EmulatedModel]) -> list[EmulatedModel]:
    restricted = [m for m in ngc_models if m.eu_restricted]
    return restricted + [m for m in ngc_models if not m.eu_restricted][:8]


@pytest.fixture
def restricted(models: list[EmulatedModel]) -> list[str]:
    """The names of the EU-restricted models, sorted."""
    return sorted(m.name for m in models if m.eu_restricted)


@pytest.fixture
def us_emulator(models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    with NgcEmulator(models, fixtures_dir=fixtures_dir, eu_addresses={"127.0.0.2"}) as emulator:
        yield emulator
    assert not emulator.errors, emulator.errors


@pytest.fixture
def eu_emulator(models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    with NgcEmulator(models, fixtures_dir=fixtures_dir, eu_mode=True) as emulator:
        yield emulator
    assert not emulator.errors, emulator.errors


@pytest.fixture
def eu_proxy() -> Iterator[ForwardProxy]:
    """The proxy "in the EU", with credentials that must never be shown."""
    with ForwardProxy(username=PROXY_USER, password=PROXY_PASSWORD) as proxy:
        yield proxy
