"""pytest fixtures for tests against a real kube-apiserver (``tests/support/kube/cluster.py``).

Registered as a plugin from tests/conftest.py (``pytest_plugins``). Without the binaries
(``tests/support/kube/build.sh`` builds them) the cluster tests skip, unless
``NIMGEN_REQUIRE_KUBE=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.kube.cluster import KubeCluster, KubeClusterError, missing_reason

CRD_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "crds"
CRD_FILES = (
    "serving.kserve.io_servingruntimes.yaml",
    "template.openshift.io_templates.stand-in.yaml",
    "config.openshift.io_imagetagmirrorsets.yaml",
    "config.openshift.io_imagedigestmirrorsets.yaml",
    "opendatahub.io_odhdashboardconfigs.yaml",
    "nim.opendatahub.io_accounts.yaml",
    "serving.kserve.io_inferenceservices.stand-in.yaml",
    "apps.nvidia.com_nimservices.stand-in.yaml",
)


@contextlib.contextmanager
def running_cluster() -> Iterator[KubeCluster]:
    """A cluster with the CRDs of tests/fixtures/crds/ established, stopped afterwards.

    Contexts ``admin`` (system:masters) and ``user`` (no rights until a test grants some).
    """
    reason = missing_reason()
    if reason and os.environ.get("NIMGEN_REQUIRE_KUBE") == "1":
        pytest.fail(f"{reason} (NIMGEN_REQUIRE_KUBE=1)", pytrace=False)
    if reason:
        pytest.skip(reason)
    cluster = KubeCluster(crds=[CRD_DIR / name for name in CRD_FILES])
    try:
        cluster.start()
    except KubeClusterError as err:
        pytest.fail(f"the test cluster did not start (or its CRDs): {err}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kube_cluster() -> Iterator[KubeCluster]:
    """One cluster per xdist worker."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def kube_namespace(kube_cluster: KubeCluster) -> Iterator[str]:
    """A fresh namespace for one test; deleted afterwards (best effort, not waited for)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    kube_cluster.kubectl("create", "namespace", name, check=True)
    try:
        yield name
    finally:
        kube_cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")
