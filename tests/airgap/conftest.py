"""Fixtures of the air-gap tests: two real registries on loopback, and a skopeo for them.

Without ``docker-registry`` and ``skopeo`` (``apt-get install -y docker-registry skopeo``)
the tests that need them skip, unless ``NIMGEN_REQUIRE_REGISTRY=1`` (CI) makes that a
failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.registry import Registry, RegistryError, Skopeo, missing_reason, registries

REQUIRE_ENV = "NIMGEN_REQUIRE_REGISTRY"
KUBE_FIXTURES = "tests.support.kube.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    """Make sure the real-cluster fixtures (``kube_cluster``) are a plugin: a no-op when
    tests/conftest.py already registers them, as their module intends."""
    config.pluginmanager.import_plugin(KUBE_FIXTURES)


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment requires the real programs."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def source_and_mirror() -> Iterator[tuple[Registry, Registry]]:
    """Two empty registries: the stand-in for nvcr.io, and the mirror."""
    reason = missing_reason()
    if reason:
        unavailable(reason)
    try:
        with registries("source", "mirror") as started:
            yield started["source"], started["mirror"]
    except RegistryError as err:
        pytest.fail(f"the test registries did not start: {err}", pytrace=False)


@pytest.fixture(scope="module")
def skopeo(tmp_path_factory: pytest.TempPathFactory) -> Skopeo:
    return Skopeo(Path(tmp_path_factory.mktemp("skopeo")))
