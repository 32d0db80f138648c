"""Moving tags, the weights plan and the weights files: nimgen.airgap.tags,
nimgen.airgap.weights and nimgen.airgap.steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.airgap.plan import TagChoice, parse_mirror, plan_airgap
from nimgen.airgap.render import AIRGAP_FILES, render_airgap
from nimgen.airgap.steps import next_steps
from nimgen.airgap.tags import MovingTag, is_moving_tag, newest_version_tag
from nimgen.airgap.weights import (
    LOADERS_FILE,
    PVCS_FILE,
    STAGE_SCRIPT_FILE,
    WEIGHTS_FILES,
    WeightsOptions,
    object_slugs,
    quantity_bytes,
)
from nimgen.errors import BadInput
from nimgen.selection import Selection
from nimgen.snapshot import Loaded
from nimgen.tree.template import render_template
from tests.airgap.conftest import loaded_of, with_digest
from tests.support.model_records import make_record

MIRROR = parse_mirror("registry.example.com:5000/nim")
LLAMA = "llama-3.1-8b-instruct"


def docs(text: str | bytes) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


# --- moving tags -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "moving"),
    [("latest", True), ("rtx-latest", True), ("1.2.0", False), ("1", False), ("1.8.0-RTX", False)],
)
def test_a_tag_moves_when_it_is_not_a_version(tag: str, moving: bool) -> None:
    assert is_moving_tag(tag) is moving


@pytest.mark.parametrize(
    ("tags", "newest"),
    [
        (["latest", "1.8.0-RTX", "1.15", "1.15.5", "1.9.0"], "1.15.5"),
        (["latest", "2.0.0-rtx", "1.9.0"], "1.9.0"),  # a plain version wins over a variant
        (["latest", "1.5-variant", "1.5.0-variant"], "1.5.0-variant"),  # only variants
        (["latest", "rtx-latest"], None),
    ],
)
def test_the_newest_version_tag(tags: list[str], newest: str | None) -> None:
    assert newest_version_tag(tags) == newest


def test_the_sample_has_34_moving_latest_tags_and_each_gets_a_version_beside_it(
    sample: Loaded,
) -> None:
    plan = plan_airgap(sample, mirror=MIRROR)
    moving = {r.name for r in plan.records if "latest" in r.tags}
    assert len(plan.moving_tags) == 34
    assert {m.model for m in plan.moving_tags} == moving
    assert plan.unpinned == ()
    llama = next(m for m in plan.moving_tags if m.model == LLAMA)
    assert (llama.tags, llama.pinned_tag, llama.pinned_by_digest) == (("latest",), "1.15.5", False)
    offered = {r.name: r.tags for r in plan.records}
    assert offered[LLAMA] == ("1.15.5", "latest")
    assert [i.tag for i in plan.images if i.model == LLAMA] == ["1.15.5", "latest"]
    assert len(plan.images) == 186 + 34


def test_a_model_with_nothing_to_pin_is_named() -> None:
    only_latest = make_record("only-latest", namespace="nim/x", tags=["latest"], latestTag="latest")
    plan = plan_airgap(loaded_of(only_latest, make_record("fixed")), mirror=MIRROR)
    (unpinned,) = plan.unpinned
    assert unpinned == MovingTag(
        model="only-latest", tags=("latest",), pinned_tag=None, pinned_by_digest=False
    )


def test_with_digests_a_moving_tag_is_pinned_by_its_digests_too() -> None:
    record = make_record("m", namespace="nim/x", tags=["2.0", "latest"], latestTag="latest")
    plan = plan_airgap(
        loaded_of(with_digest(record, "sha256:" + "c" * 64)), mirror=MIRROR, digests=True
    )
    (moving,) = plan.moving_tags
    assert moving.pinned_by_digest and moving.pinned_tag == "2.0"
    # The version tag added beside 'latest' needs no digest (snapshots record only the
    # latestTag's): it is mirrored by tag.
    assert [i.tag for i in plan.images] == ["2.0", "latest"]
    assert [i.reference for i in plan.mirrored] == [":2.0", ":latest", "@sha256:" + "c" * 64]


def test_with_digests_a_moving_tag_without_one_is_still_refused() -> None:
    record = make_record("m", namespace="nim/x", tags=["2.0", "latest"], latestTag="latest")
    other = make_record("o", namespace="nim/x", tags=["1.0"], latestTag="1.0")
    with pytest.raises(BadInput) as caught:
        plan_airgap(
            loaded_of(record, with_digest(other, "sha256:" + "d" * 64)), mirror=MIRROR, digests=True
        )
    assert caught.value.details == ("nvcr.io/nim/x/m:latest: no digest recorded",)


def test_a_glob_gets_the_newest_version_beside_a_moving_latest_tag(sample: Loaded) -> None:
    plan = plan_airgap(
        sample,
        mirror=MIRROR,
        selection=Selection(include=("alphafold2",)),
        tags=TagChoice.parse("1.*"),
    )
    (record,) = plan.records
    assert record.tags == ("2.1.1", "1.0.0", "latest")


# --- weights options ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"project": "Bad_Project"}, "--project 'Bad_Project' is not a valid"),
        ({"pvc_size": "100GB"}, "--pvc-size '100GB' is not a storage size"),
        ({"pvc_size": "10.5Gi"}, "is not a storage size"),
        ({"pvc_size": "512Mi"}, "is below 1Gi"),
        ({"storage_class": "Fast SSD"}, "--storage-class 'Fast SSD' is not a valid"),
        ({"storage_class": ""}, "--storage-class is empty"),
        ({"gpus": ["h100", "a100;rm"]}, "--gpu 'a100;rm' is not a GPU model"),
    ],
)
def test_weights_options_are_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput) as caught:
        WeightsOptions(**changes).checked()
    assert message in caught.value.message
    assert "\n" not in caught.value.message


def test_weights_options_are_normalised() -> None:
    options = WeightsOptions(gpus=["H100", "a100", "h100"], pvc_size=" 2Ti ").checked()
    assert options.gpus == ("a100", "h100")
    assert options.pvc_size == "2Ti"
    assert quantity_bytes("2Ti") == quantity_bytes(options.pvc_size) == 2 * 2**40
    assert quantity_bytes("100G") == 100 * 10**9


def test_object_names_are_unique_dns_labels_whatever_the_model_names() -> None:
    long = "a" * 80
    slugs = object_slugs(["a.b", "a-b", "A_B", long, "llama-3.1-8b-instruct"])
    assert slugs["llama-3.1-8b-instruct"] == "llama-3-1-8b-instruct"
    assert len(set(slugs.values())) == 5
    assert all(len("nim-cache-loader-" + s) <= 63 for s in slugs.values())
    assert slugs == object_slugs(reversed(list(slugs)))


# --- the weights files -------------------------------------------------------------------


def weights_plan(sample: Loaded, **options: Any) -> Any:
    return plan_airgap(
        sample,
        mirror=MIRROR,
        selection=Selection(include=(LLAMA, "nv-embedqa-e5-v5")),
        weights=WeightsOptions(**options).checked(),
    )


def test_weights_files_are_written_by_default_in_the_owned_list(sample: Loaded) -> None:
    files = render_airgap(weights_plan(sample))
    assert WEIGHTS_FILES <= set(files) <= AIRGAP_FILES
    assert render_airgap(weights_plan(sample)) == files  # deterministic


def test_one_pvc_per_model_that_the_dashboard_recognises(sample: Loaded) -> None:
    files = render_airgap(weights_plan(sample, project="team-a", pvc_size="300Gi"))
    pvcs = docs(files[PVCS_FILE])
    assert [p["metadata"]["name"] for p in pvcs] == [
        "nim-pvc-llama-3-1-8b-instruct",
        "nim-pvc-nv-embedqa-e5-v5",
    ]
    for pvc in pvcs:
        assert pvc["metadata"]["namespace"] == "team-a"
        assert pvc["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
        assert pvc["metadata"]["labels"]["opendatahub.io/nim-model-cache"] == "true"
        assert pvc["spec"]["resources"]["requests"]["storage"] == "300Gi"
        assert "storageClassName" not in pvc["spec"]
    assert pvcs[0]["metadata"]["annotations"]["nimgen.opendatahub.io/image"] == (
        "nvcr.io/nim/meta/llama-3.1-8b-instruct:1.15.5"
    )


def test_the_loader_mounts_the_pvc_where_nim_reads_its_cache(sample: Loaded) -> None:
    files = render_airgap(weights_plan(sample, storage_class="fast"))
    assert all(p["spec"]["storageClassName"] == "fast" for p in docs(files[PVCS_FILE]))
    runtime = yaml.safe_load(render_template())["objects"][0]["spec"]
    cache = next(
        e["value"] for e in runtime["containers"][0]["env"] if e["name"] == "NIM_CACHE_PATH"
    )
    nim_pvc = next(m for m in runtime["containers"][0]["volumeMounts"] if m["name"] == "nim-pvc")
    for pod in docs(files[LOADERS_FILE]):
        (container,) = pod["spec"]["containers"]
        assert container["volumeMounts"] == [{"name": "nim-pvc", "mountPath": cache}]
        assert nim_pvc["mountPath"] == cache
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["activeDeadlineSeconds"] == 86400
        assert pod["spec"]["restartPolicy"] == "Never"


def test_no_weights_writes_none_and_prints_no_weights_steps(sample: Loaded) -> None:
    plan = plan_airgap(sample, mirror=MIRROR, selection=Selection(include=(LLAMA,)))
    assert not WEIGHTS_FILES & set(render_airgap(plan))
    assert not any("stage-weights" in c for s in next_steps(plan, Path("d")) for c in s.commands)


def test_the_next_steps_go_from_the_connected_side_to_a_deployed_model(sample: Loaded) -> None:
    plan = weights_plan(sample, gpus=["h100"], project="team-a")
    steps = next_steps(plan, Path("out dir"))
    commands = [c for s in steps for c in s.commands]
    order = [
        "oc-mirror --config 'out dir/imageset-config.yaml' file://nim-mirror-archive --v2",
        f"sh 'out dir/{STAGE_SCRIPT_FILE}'",
        "oc apply -k 'out dir'",
        "oc explain odhdashboardconfig.spec.nimConfig",
        "(cd nim-weights && sha256sum -c SHA256SUMS)",
        "oc apply -f 'out dir/weights/pvcs.yaml'",
        "oc exec -i -n team-a nim-cache-loader-llama-3-1-8b-instruct -- tar -xf - "
        "-C /mnt/models/cache < nim-weights/llama-3.1-8b-instruct.tar",
        "oc delete -f 'out dir/weights/loaders.yaml'",
        "oc get inferenceservice -n team-a",
    ]
    assert [commands.index(c) for c in order] == sorted(commands.index(c) for c in order)
    deploy = steps[-1].what
    assert "without an NGC key" in deploy
    assert f"{LLAMA} with tag 1.15.5 and storage nim-pvc-llama-3-1-8b-instruct" in deploy
    prune = next(
        s.what for s in steps if "oc explain odhdashboardconfig.spec.nimConfig" in s.commands
    )
    assert "prunes it from the patch, which then changes nothing" in prune
