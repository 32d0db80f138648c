"""Fixtures of the EU command-line tests: a US build server, an EU runner and an EU proxy.

The US build server is an emulator on 127.0.0.1 that answers 451 for restricted
models only to callers from 127.0.0.2, the address the real forward proxy dials
from; the EU runner is an emulator in EU mode. ``models`` (the 4 EU-restricted
fixture models and 8 others) seeds both.
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
    """The 4 EU-restricted fixture models and 8 others: quick runs, real names."""
    restricted = [m for m in ngc_models if m.eu_restricted]
    others = [m for m in ngc_models if not m.eu_restricted][:8]
    return restricted + others


@pytest.fixture
def restricted(models: list[EmulatedModel]) -> list[str]:
    """The names of the EU-restricted models, sorted."""
    return sorted(m.name for m in models if m.eu_restricted)


@pytest.fixture
def us_emulator(models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """Answers 451 for restricted models only to callers from 127.0.0.2 (the proxy)."""
    with NgcEmulator(models, fixtures_dir=fixtures_dir, eu_addresses={"127.0.0.2"}) as emulator:
        yield emulator


@pytest.fixture
def eu_emulator(models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """Every caller is in the EU: it plays an EU runner."""
    with NgcEmulator(models, fixtures_dir=fixtures_dir, eu_mode=True) as emulator:
        yield emulator


@pytest.fixture
def auth_proxy() -> Iterator[ForwardProxy]:
    """The loopback forward proxy, with credentials that must never be printed."""
    with ForwardProxy(username=PROXY_USER, password=PROXY_PASSWORD) as proxy:
        yield proxy
