"""Fixtures of the air-gap tests: the sample snapshot, snapshots made of records, and two
real registries on loopback with a skopeo for them.

Without ``docker-registry`` and ``skopeo`` (``apt-get install -y docker-registry skopeo``)
the tests that need them skip, unless ``NIMGEN_REQUIRE_REGISTRY=1`` (CI) makes that a
failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimgen.catalog import CatalogFacts, ImageDigest, ModelRecord, SnapshotModel
from nimgen.snapshot import Loaded, load_models, sample_path
from tests.support.registry import Registry, RegistryError, Skopeo, missing_reason, registries

REQUIRE_ENV = "NIMGEN_REQUIRE_REGISTRY"


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment requires the real programs."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sample() -> Loaded:
    return load_models(sample_path())


def with_digest(record: ModelRecord, digest: str) -> SnapshotModel:
    """``record`` with one recorded digest (linux/amd64) for its latestTag."""
    recorded = ImageDigest(tag=record.latestTag, architecture="amd64", os="linux", digest=digest)
    return SnapshotModel(
        record=record,
        catalog=CatalogFacts(resourceId=f"{record.namespace}/{record.name}"),
        digests=(recorded,),
    )


def loaded_of(*models: ModelRecord | SnapshotModel) -> Loaded:
    """A snapshot of ``models``; a bare record gets only its resource ID."""
    wrapped = tuple(
        m
        if isinstance(m, SnapshotModel)
        else SnapshotModel(record=m, catalog=CatalogFacts(resourceId=f"{m.namespace}/{m.name}"))
        for m in models
    )
    return Loaded(Path("snapshot.json"), "snapshot", wrapped)


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
