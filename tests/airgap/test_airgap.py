"""nimgen.airgap.plan and nimgen.airgap.render: the plan, the mirror mapping and every file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.airgap.plan import (
    AirgapPlan,
    Mirror,
    TagChoice,
    parse_mirror,
    plan_airgap,
)
from nimgen.airgap.render import (
    CONFIGMAP_FILE,
    DASHBOARD_PATCH_FILE,
    DSC_PATCH_FILE,
    IDMS_FILE,
    IMAGESET_FILE,
    ITMS_FILE,
    KUSTOMIZATION_FILE,
    render_airgap,
    render_custom_configmap,
)
from nimgen.airgap.steps import next_steps
from nimgen.catalog import ModelRecord
from nimgen.errors import BadInput
from nimgen.selection import Selection
from nimgen.snapshot import Loaded, load_models
from nimgen.tree.configmap import ANNOTATION_SCHEMA, LABEL_MANAGED, LABEL_MODELS_DATA
from nimgen.validate import validate_text
from tests.airgap.conftest import loaded_of, with_digest
from tests.support.model_records import make_record

MIRROR = Mirror("registry.example.com:5000", "mirror")


def record(name: str, namespace: str = "nim/meta", **changes: Any) -> ModelRecord:
    fields: dict[str, Any] = {
        "displayName": name.title(),
        "shortDescription": "A model.",
        "namespace": namespace,
        "tags": ["1.2.0", "1.2", "1.1.0", "latest", "1.2.0-rtx"],
        "latestTag": "1.2.0",
    }
    return make_record(name, **(fields | changes))


# --- --mirror ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry", "prefix"),
    [
        ("registry.example.com", "registry.example.com", ""),
        ("registry.example.com/", "registry.example.com", ""),
        ("registry.example.com:5000/mirror", "registry.example.com:5000", "mirror"),
        ("registry.example.com/a/b-c/d_e", "registry.example.com", "a/b-c/d_e"),
        ("localhost:5000", "localhost:5000", ""),
        ("localhost/nim-mirror", "localhost", "nim-mirror"),
        ("10.0.0.7:8443/m", "10.0.0.7:8443", "m"),
        ("[fd00::1]:5000/m", "[fd00::1]:5000", "m"),
        ("Registry.Example.com/m", "Registry.Example.com", "m"),
        ("quay:5000", "quay:5000", ""),
    ],
)
def test_mirror_accepts_registry_and_prefix(text: str, registry: str, prefix: str) -> None:
    mirror = parse_mirror(text)
    assert (mirror.registry, mirror.prefix) == (registry, prefix)
    assert str(mirror) == (f"{registry}/{prefix}" if prefix else registry)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "it is empty"),
        ("https://registry.example.com/m", "without a scheme (https://): --mirror registry"),
        ("docker://registry.example.com", "without a scheme"),
        ("registry.example.com/m:1.0", "ends in a tag ('1.0')"),
        ("registry.example.com/a:latest/b", "ends in a tag"),
        ("registry.example.com:latest", "'latest' is not a port; a tag is not allowed"),
        ("registry.example.com:99999/m", "'99999' is not a port number"),
        ("registry.example.com/m@sha256:abc", "a digest (@...) names an image"),
        ("registry/nim", "does not look like a registry host"),
        ("registry.example.com/Mirror", "has upper-case letters"),
        ("registry.example.com/a//b", "the path part '' is empty"),
        ("registry.example.com/-a", "is not a valid repository path component"),
        ("reg_istry.example.com/m", "is not a registry host name"),
        ("registry.example.com /m", "must not contain spaces"),
        ("nvcr.io/mirror", "the mirror must be your registry, not nvcr.io"),
    ],
)
def test_mirror_refuses_what_is_not_registry_and_prefix(text: str, what: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_mirror(text)
    assert what in caught.value.message
    assert caught.value.exit_code == 2


# --- --tags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "offered"),
    [
        ("latest", "latest", ("1.2.0",)),
        ("all", "all", ("1.2.0", "1.2.0-rtx", "1.2", "1.1.0", "latest")),  # canonical order
        # A glob always keeps the latest tag.
        ("1.1*", "glob", ("1.2.0", "1.1.0")),
        ("*-rtx", "glob", ("1.2.0", "1.2.0-rtx")),
        ("nothing*", "glob", ("1.2.0",)),
    ],
)
def test_tags_offered(text: str, kind: str, offered: tuple[str, ...]) -> None:
    choice = TagChoice.parse(text)
    assert choice.kind == kind
    assert choice.choose(record("a")) == offered


# --- the plan ----------------------------------------------------------------------------


def test_images_are_named_after_the_mirror_namespace_name_and_tag() -> None:
    plan = plan_airgap(loaded_of(record("llama-x")), mirror=MIRROR, tags=TagChoice.parse("1.2*"))
    image = "nim/meta/llama-x"
    assert [(i.source, i.destination) for i in plan.images] == [
        (f"nvcr.io/{image}:{tag}", f"registry.example.com:5000/mirror/{image}:{tag}")
        for tag in ("1.2", "1.2.0", "1.2.0-rtx")
    ]
    (narrowed,) = plan.records
    assert narrowed.tags == ("1.2.0", "1.2.0-rtx", "1.2")
    assert narrowed.latestTag == "1.2.0"


def test_the_plan_keeps_only_selected_models_and_counts_the_rest(sample: Loaded) -> None:
    selection = Selection(include=("llama-3.1-*", "no-such-model"), exclude=("*-base",))
    plan = plan_airgap(sample, mirror=MIRROR, selection=selection)
    names = [r.name for r in plan.records]
    assert names == sorted(names)
    assert all(n.startswith("llama-3.1-") and not n.endswith("-base") for n in names)
    assert plan.skipped_by_selection == 186 - len(names)
    assert plan.unmatched_patterns == ("no-such-model",)
    # --tags latest: one image per model, plus the version pinned beside a moving latest.
    moving = {m.model for m in plan.moving_tags}
    assert moving == {r.name for r in plan.records if r.latestTag == "latest"}
    assert len(plan.images) == len(names) + len(moving)


def test_glob_misses_are_reported() -> None:
    plan = plan_airgap(
        loaded_of(record("a"), record("b", tags=["2.0"], latestTag="2.0")),
        mirror=MIRROR,
        tags=TagChoice.parse("1.1*"),
    )
    assert plan.glob_misses == ("b",)


def test_models_that_cannot_be_image_references_are_refused() -> None:
    # A tag that is not an image tag never reaches a record (nimgen.tags.tag_problem).
    bad = (record("a", namespace="nim/Meta"), record("Upper"))
    with pytest.raises(BadInput) as caught:
        plan_airgap(loaded_of(*bad), mirror=MIRROR)
    assert caught.value.message == "2 image reference(s) cannot be mirrored"
    details = "\n".join(caught.value.details)
    assert "a: 'nim/Meta/a' is not a valid image repository ('Meta'" in details
    assert "Upper: 'nim/meta/Upper' is not a valid image repository" in details


def test_every_org_gets_its_own_mirror_entry() -> None:
    plan = plan_airgap(
        loaded_of(record("a"), record("b", namespace="nvidia/team"), record("c", namespace="nim")),
        mirror=MIRROR,
    )
    assert plan.orgs == ("nim", "nvidia")
    itms = yaml.safe_load(render_airgap(plan)[ITMS_FILE])
    assert itms["spec"]["imageTagMirrors"] == [
        {"source": "nvcr.io/nim", "mirrors": ["registry.example.com:5000/mirror/nim"]},
        {"source": "nvcr.io/nvidia", "mirrors": ["registry.example.com:5000/mirror/nvidia"]},
    ]
    assert [i.source for i in plan.images] == [
        "nvcr.io/nim/c:1.2.0",
        "nvcr.io/nim/meta/a:1.2.0",
        "nvcr.io/nvidia/team/b:1.2.0",
    ]


# --- digests -----------------------------------------------------------------------------


def test_digests_are_refused_when_none_are_known(sample: Loaded) -> None:
    with pytest.raises(BadInput) as caught:
        plan_airgap(
            sample, mirror=MIRROR, selection=Selection(include=("llama-3.1-8b-*",)), digests=True
        )
    assert caught.value.exit_code == 2
    assert "records no image digests (it was written before nimgen" in caught.value.message
    assert "drop --digests" in caught.value.message


def test_digests_are_refused_when_some_are_unknown() -> None:
    loaded = loaded_of(with_digest(record("a"), "sha256:" + "a" * 64), record("b"))
    with pytest.raises(BadInput, match="no digest is known for 1 of 2 image") as caught:
        plan_airgap(loaded, mirror=MIRROR, digests=True)
    assert caught.value.details == ("nvcr.io/nim/meta/b:1.2.0: no digest recorded",)
    assert "--exclude" in caught.value.message


def test_known_digests_add_an_image_digest_mirror_set() -> None:
    models = [with_digest(record(name), "sha256:" + name * 64) for name in "ab"]
    plan = plan_airgap(loaded_of(*models), mirror=MIRROR, digests=True)
    assert plan.has_digests
    files = render_airgap(plan)
    idms = yaml.safe_load(files[IDMS_FILE])
    assert idms["apiVersion"] == "config.openshift.io/v1"
    assert idms["kind"] == "ImageDigestMirrorSet"
    assert idms["spec"]["imageDigestMirrors"] == [
        {"source": "nvcr.io/nim", "mirrors": ["registry.example.com:5000/mirror/nim"]}
    ]
    kustomization = yaml.safe_load(files[KUSTOMIZATION_FILE])
    assert kustomization["resources"] == [CONFIGMAP_FILE, ITMS_FILE, IDMS_FILE]
    steps = next_steps(plan, Path("out"))
    assert "ImageTagMirrorSet and ImageDigestMirrorSet" in steps[3].what


# --- the files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_tags_plan(sample: Loaded) -> AirgapPlan:
    return plan_airgap(sample, mirror=MIRROR, tags=TagChoice.parse("all"))


def test_the_configmap_offers_the_whole_model_but_only_the_chosen_tags(sample: Loaded) -> None:
    plan = plan_airgap(sample, mirror=MIRROR, selection=Selection(include=("alphafold2",)))
    configmap = yaml.safe_load(render_airgap(plan)[CONFIGMAP_FILE])
    (original,) = [m.record for m in sample.models if m.record.name == "alphafold2"]
    entry = json.loads(configmap["data"]["alphafold2"])
    # Its latestTag is 'latest', which moves: the newest version tag is offered too.
    assert original.latestTag == "latest"
    assert entry == {**original.as_json_dict(), "tags": ["2.1.1", "latest"]}


def test_the_configmap_is_the_admins_own(all_tags_plan: AirgapPlan) -> None:
    rendered = render_custom_configmap(all_tags_plan)
    document = yaml.safe_load(rendered.text)
    assert document["metadata"]["name"] == "custom-nim-models" == rendered.name
    assert document["metadata"]["namespace"] == "redhat-ods-applications"
    assert "immutable" not in document
    labels = document["metadata"].get("labels", {})
    assert LABEL_MANAGED not in labels and LABEL_MODELS_DATA not in labels
    assert document["metadata"]["annotations"][ANNOTATION_SCHEMA] == "1"
    assert validate_text(rendered.text).problems == ()
    assert rendered.text.startswith("# Generated by nimgen airgap")


def test_an_immutable_configmap_is_written_on_request(sample: Loaded) -> None:
    plan = plan_airgap(
        sample, mirror=MIRROR, selection=Selection(include=("a*",)), immutable=True, name="nims"
    )
    text = render_custom_configmap(plan).text
    assert yaml.safe_load(text)["immutable"] is True
    (warning,) = validate_text(text).warnings
    assert warning.key == "immutable"


def test_the_dashboard_patch(sample: Loaded) -> None:
    plan = plan_airgap(
        sample,
        mirror=MIRROR,
        selection=Selection(include=("a*",)),
        name="my-models",
        namespace="opendatahub",
    )
    patch = yaml.safe_load(render_airgap(plan)[DASHBOARD_PATCH_FILE])
    assert patch == {
        "apiVersion": "opendatahub.io/v1alpha",
        "kind": "OdhDashboardConfig",
        "metadata": {"name": "odh-dashboard-config"},
        "spec": {
            "nimConfig": {
                "customConfigMap": {"name": "my-models", "namespace": "opendatahub"},
                "disconnected": {"disableKeyCollection": True},
            }
        },
    }


def test_the_account_route_writes_the_controllers_configmap_and_the_dsc_patch(
    sample: Loaded,
) -> None:
    plan = plan_airgap(
        sample, mirror=MIRROR, selection=Selection(include=("a*",)), account=True, name=None
    )
    files = render_airgap(plan)
    assert DASHBOARD_PATCH_FILE not in files
    assert yaml.safe_load(files[DSC_PATCH_FILE]) == {
        "spec": {"components": {"kserve": {"nim": {"airGapped": True}}}}
    }
    configmap = yaml.safe_load(files[CONFIGMAP_FILE])
    assert configmap["metadata"]["name"] == "odh-nim-account-cm"
    assert "immutable" not in configmap and "labels" not in configmap["metadata"]
    commands = [c for step in next_steps(plan, Path("out")) for c in step.commands]
    assert (
        "oc patch datasciencecluster default-dsc --type merge --patch-file "
        "out/datasciencecluster-patch.yaml" in commands
    )
    assert not any("odhdashboardconfig" in c for c in commands)


def test_the_imageset_configuration_is_for_oc_mirror_v2(all_tags_plan: AirgapPlan) -> None:
    imageset = yaml.safe_load(render_airgap(all_tags_plan)[IMAGESET_FILE])
    assert imageset["apiVersion"] == "mirror.openshift.io/v2alpha1"
    assert imageset["kind"] == "ImageSetConfiguration"
    assert list(imageset) == ["apiVersion", "kind", "mirror"]
    assert list(imageset["mirror"]) == ["additionalImages"]


def test_a_plan_from_its_own_configmap_renders_the_same_files(
    sample: Loaded, tmp_path: Path
) -> None:
    selection = Selection(include=("llama-*",))
    plan = plan_airgap(sample, mirror=MIRROR, selection=selection, tags=TagChoice.parse("1.*"))
    files = render_airgap(plan)
    path = tmp_path / CONFIGMAP_FILE
    path.write_bytes(files[CONFIGMAP_FILE])
    again = plan_airgap(load_models(path), mirror=MIRROR, tags=TagChoice.parse("all"))
    assert again.images == plan.images
    assert render_airgap(again) == files


def test_next_steps_are_exact_commands_for_this_output(sample: Loaded) -> None:
    plan = plan_airgap(
        sample,
        mirror=parse_mirror("registry.example.com/mirror"),
        selection=Selection(include=("a*",)),
        namespace="opendatahub",
    )
    steps = next_steps(plan, Path("my dir/air gap"))
    commands = [c for s in steps for c in s.commands]
    assert commands == [
        "oc-mirror --config 'my dir/air gap/imageset-config.yaml' file://nim-mirror-archive --v2",
        "oc-mirror --config 'my dir/air gap/imageset-config.yaml' --from "
        "file://nim-mirror-archive docker://registry.example.com/mirror --v2",
        'while read -r src dst; do skopeo copy --all "docker://$src" "docker://$dst"; '
        "done < 'my dir/air gap/images.txt'",
        "oc apply -k 'my dir/air gap'",
        "oc explain odhdashboardconfig.spec.nimConfig",
        "oc patch odhdashboardconfig odh-dashboard-config -n opendatahub --type merge "
        "--patch-file 'my dir/air gap/odhdashboardconfig-patch.yaml'",
    ]
    assert [s.alternative for s in steps] == [False, False, True, False, False]
