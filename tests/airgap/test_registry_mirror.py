"""Prove the mirror: copy what ``images.txt`` lists between two real registries.

A loopback registry stands in for nvcr.io and holds tiny real OCI images (one
single-platform, others an index of two platforms) under ``nim/<team>/<model>:<tag>``.
The copy runs exactly as the printed next step does (``skopeo copy --all`` per line of
images.txt), with only the ``nvcr.io`` host rewritten to the loopback source. Then every
image must be in the mirror at exactly the path the ImageTagMirrorSet (or, for digest
references, the ImageDigestMirrorSet) maps its nvcr.io name to, with the same digest,
and the mirror must hold nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from nimgen.airgap.plan import SOURCE_REGISTRY, AirgapPlan, TagChoice, parse_mirror, plan_airgap
from nimgen.airgap.render import IDMS_FILE, IMAGES_FILE, ITMS_FILE, render_airgap
from nimgen.catalog import CatalogFacts, ImageDigest, ModelRecord, SnapshotModel
from nimgen.snapshot import Loaded
from tests.airgap.conftest import REQUIRE_ENV, loaded_of, unavailable
from tests.support.model_records import make_record
from tests.support.registry import (
    BuiltImage,
    OciLayout,
    Registry,
    Skopeo,
    missing_reason,
    sha256_digest,
)

TWO_PLATFORMS = ("linux/amd64", "linux/arm64")
# repository -> {tag: platforms}; "latest" is the same image as the newest version.
CATALOG: dict[str, dict[str, tuple[str, ...]]] = {
    "nim/meta/llama-3.1-8b-instruct": {
        "1.15.5": TWO_PLATFORMS,
        "1.8.0": TWO_PLATFORMS,
        "latest": TWO_PLATFORMS,
    },
    "nim/nvidia/nv-embedqa-e5-v5": {"1.0.1": ("linux/amd64",), "1.0.0": ("linux/amd64",)},
    "nim/mistralai/mistral-7b-instruct-v0.3": {"1.12.0": TWO_PLATFORMS, "latest": TWO_PLATFORMS},
}
LATEST_TAGS = {
    "llama-3.1-8b-instruct": "latest",
    "nv-embedqa-e5-v5": "1.0.1",
    "mistral-7b-instruct-v0.3": "latest",
}


def _record(repository: str) -> ModelRecord:
    namespace, _, name = repository.rpartition("/")
    return make_record(
        name,
        namespace=namespace,
        tags=list(CATALOG[repository]),
        latestTag=LATEST_TAGS[name],
    )


@pytest.fixture(scope="module")
def pushed(
    source_and_mirror: tuple[Registry, Registry],
    skopeo: Skopeo,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, BuiltImage]:
    """Every image of CATALOG, built as OCI layouts and pushed to the source registry.

    ``latest`` is pushed from the same layout entry as the newest version tag, so the
    two tags name one image, as on nvcr.io.
    """
    source, _mirror = source_and_mirror
    layout = OciLayout(tmp_path_factory.mktemp("oci"))
    built: dict[str, BuiltImage] = {}
    for repository, tags in CATALOG.items():
        versions = [t for t in tags if t != "latest"]
        for tag in versions:
            image = layout.add_image(f"{repository}:{tag}", f"{repository}:{tag}", tags[tag])
            built[f"{repository}:{tag}"] = image
        if "latest" in tags:
            built[f"{repository}:latest"] = built[f"{repository}:{versions[0]}"]
    for reference, image in built.items():
        skopeo.copy(f"oci:{layout.root}:{image.ref_name}", f"docker://{source.host}/{reference}")
    assert sorted(source.repositories()) == sorted(CATALOG)
    return built


def _loaded(built: dict[str, BuiltImage], *, digests: bool) -> Loaded:
    """The catalog as a snapshot; with ``digests``, each latestTag's per platform."""
    models = []
    for repository in CATALOG:
        record = _record(repository)
        platforms = built[f"{repository}:{record.latestTag}"].platform_digests if digests else {}
        recorded = []
        for platform, digest in platforms.items():
            os_name, arch = platform.split("/")
            pin = ImageDigest(tag=record.latestTag, os=os_name, architecture=arch, digest=digest)
            recorded.append(pin)
        facts = CatalogFacts(resourceId=repository)
        models.append(SnapshotModel(record=record, catalog=facts, digests=tuple(recorded)))
    return loaded_of(*models)


def _mapped(reference: str, mirror_sets: list[dict[str, Any]]) -> str:
    """Where a node pulling ``reference`` is sent: the longest matching source, replaced."""
    best = None
    for entry in mirror_sets:
        source = entry["source"]
        if reference.startswith(source + "/") and (best is None or len(source) > len(best[0])):
            best = (source, entry["mirrors"][0])
    assert best is not None, f"no mirror set entry maps {reference}"
    return best[1] + reference[len(best[0]) :]


def _copy_as_images_txt_says(
    plan: AirgapPlan, source: Registry, skopeo: Skopeo
) -> list[tuple[str, str]]:
    files = render_airgap(plan)
    lines = [line.split(" ") for line in files[IMAGES_FILE].decode().splitlines()]
    assert all(len(parts) == 2 for parts in lines)
    for src, dst in lines:
        assert src.startswith(f"{SOURCE_REGISTRY}/")
        loopback = source.host + src.removeprefix(SOURCE_REGISTRY)
        skopeo.copy(f"docker://{loopback}", f"docker://{dst}")
    return [(src, dst) for src, dst in lines]


def _assert_mirrored(
    plan: AirgapPlan, copied: list[tuple[str, str]], source: Registry, skopeo: Skopeo
) -> None:
    files = render_airgap(plan)
    tag_sets = yaml.safe_load(files[ITMS_FILE])["spec"]["imageTagMirrors"]
    digest_sets = (
        yaml.safe_load(files[IDMS_FILE])["spec"]["imageDigestMirrors"] if plan.has_digests else []
    )
    for src, dst in copied:
        by_digest = "@" in src
        assert _mapped(src, digest_sets if by_digest else tag_sets) == dst
        at_source = skopeo.raw_manifest(source.host + src.removeprefix(SOURCE_REGISTRY))
        at_mirror = skopeo.raw_manifest(dst)
        assert sha256_digest(at_mirror) == sha256_digest(at_source), dst
        if by_digest:
            assert sha256_digest(at_mirror) == src.partition("@")[2]


def test_every_image_arrives_where_the_image_tag_mirror_set_sends_it(
    source_and_mirror: tuple[Registry, Registry],
    skopeo: Skopeo,
    pushed: dict[str, BuiltImage],
) -> None:
    source, mirror = source_and_mirror
    plan = plan_airgap(
        _loaded(pushed, digests=False),
        mirror=parse_mirror(f"{mirror.host}/mirror/by-tag"),
        tags=TagChoice.parse("latest"),
    )
    # Both moving latestTags are pinned by their newest version tag, mirrored beside them.
    assert {m.model: m.pinned_tag for m in plan.moving_tags} == {
        "llama-3.1-8b-instruct": "1.15.5",
        "mistral-7b-instruct-v0.3": "1.12.0",
    }
    copied = _copy_as_images_txt_says(plan, source, skopeo)
    assert len(copied) == 5
    _assert_mirrored(plan, copied, source, skopeo)
    for src, dst in copied:
        assert sha256_digest(skopeo.raw_manifest(dst)) == pushed[src.split("/", 1)[1]].digest
    # Exactly these repositories and tags, nothing else.
    in_mirror = [r for r in mirror.repositories() if r.startswith("mirror/by-tag/")]
    assert in_mirror == sorted(f"mirror/by-tag/{r}" for r in CATALOG)
    assert mirror.tags("mirror/by-tag/nim/meta/llama-3.1-8b-instruct") == ["1.15.5", "latest"]
    assert mirror.tags("mirror/by-tag/nim/nvidia/nv-embedqa-e5-v5") == ["1.0.1"]


def test_digest_references_arrive_where_the_image_digest_mirror_set_sends_them(
    source_and_mirror: tuple[Registry, Registry],
    skopeo: Skopeo,
    pushed: dict[str, BuiltImage],
) -> None:
    source, mirror = source_and_mirror
    plan = plan_airgap(
        _loaded(pushed, digests=True),
        mirror=parse_mirror(f"{mirror.host}/mirror/by-digest"),
        digests=True,
    )
    assert plan.has_digests
    assert all(m.pinned_by_digest for m in plan.moving_tags)
    copied = _copy_as_images_txt_says(plan, source, skopeo)
    # 3 latestTags and 2 version tags beside 'latest', then one digest reference per
    # platform of each latestTag: 2 + 1 + 2.
    assert len(copied) == 5 + 5
    assert sum("@sha256:" in src for src, _ in copied) == 5
    _assert_mirrored(plan, copied, source, skopeo)
    llama = pushed["nim/meta/llama-3.1-8b-instruct:latest"]
    for digest in llama.platform_digests.values():
        raw = skopeo.raw_manifest(
            f"{mirror.host}/mirror/by-digest/nim/meta/llama-3.1-8b-instruct@{digest}"
        )
        assert sha256_digest(raw) == digest


def test_missing_programs_skip_or_fail_as_the_environment_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    reason = missing_reason()
    assert reason is not None and "apt-get install -y docker-registry skopeo" in reason
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="NIMGEN_REQUIRE_REGISTRY=1"):
        unavailable(reason)
    monkeypatch.delenv(REQUIRE_ENV)
    with pytest.raises(pytest.skip.Exception):
        unavailable(reason)
