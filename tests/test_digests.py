"""Image digests: recorded by ``fetch`` from NGC's per-model answer, used by ``airgap --digests``.

NGC's per-model answer lists the latest tag's image per platform in
``latestArchitectureVariants`` (``architecture``, ``os``, ``digest``); the emulator
serves a deterministic fake digest per model (``fake_digest``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.catalog import CatalogFacts, ImageDigest, ModelRecord, SnapshotModel
from nimgen.cli import main
from nimgen.errors import BadInput
from nimgen.ngc import digests_from_answer
from nimgen.snapshot import load_models, sample_path, snapshot_json
from tests.support.model_records import make_record
from tests.support.ngc_emulator import (
    REMOVE,
    VALID_KEY,
    Fault,
    NgcEmulator,
    fake_digest,
    load_fixture_models,
)
from tests.support.nimgen_runner import kustomize, run_nimgen, tree_bytes

REPO_ANSWER = "ngc/repo-llama-3.1-8b-instruct.json"
MIRROR = "registry.example.com:5000/mirror"
N = 30
AIRGAP_FILES = {
    "configmap.yaml",
    "imagetagmirrorset.yaml",
    "imagedigestmirrorset.yaml",
    "kustomization.yaml",
    "odhdashboardconfig-patch.yaml",
    "imageset-config.yaml",
    "images.txt",
}


def sha(char: str) -> str:
    return "sha256:" + char * 64


def variant(architecture: Any = "amd64", os: Any = "linux", digest: Any = None) -> dict[str, Any]:
    return {"architecture": architecture, "os": os, "digest": digest or sha("a"), "rating": "A"}


# --- reading NGC's answer -------------------------------------------------------------------


def test_the_real_answer_gives_the_latest_tags_digest(fixtures_dir: Path) -> None:
    body = json.loads((fixtures_dir / REPO_ANSWER).read_text())
    assert digests_from_answer(body, body["latestTag"]) == (
        ImageDigest(
            tag="1.2.2",
            architecture="amd64",
            os="linux",
            digest="sha256:e990eb6915c0917509318942bb5440291b0a2d498bdd6f2ebc1b8dfc4580f2d4",
        ),
    )


def test_multi_arch_gives_one_digest_per_platform_in_order() -> None:
    body = {"latestArchitectureVariants": [variant("arm64", digest=sha("b")), variant("amd64")]}
    found = digests_from_answer(body, "1.0")
    assert [(d.platform, d.digest) for d in found] == [
        ("linux/amd64", sha("a")),
        ("linux/arm64", sha("b")),
    ]
    assert all(d.tag == "1.0" for d in found)


@pytest.mark.parametrize(
    "bad",
    [
        "not-an-object",
        None,
        {"os": "linux", "digest": sha("c")},  # no architecture
        variant(os=None),
        variant(digest="md5:abc"),
        variant(digest="sha256:" + "C" * 64),  # upper-case hex is not an OCI sha256 digest
        variant(digest="sha256:" + "c" * 63),
        variant(digest=12),
        variant(architecture=""),
        variant(architecture="amd 64"),
        variant(architecture=["amd64"]),
    ],
)
def test_a_malformed_variant_is_skipped_never_fatal(bad: Any) -> None:
    body = {"latestArchitectureVariants": [bad, variant("arm64", digest=sha("d"))]}
    found = digests_from_answer(body, "1.0")
    assert [(d.platform, d.digest) for d in found] == [("linux/arm64", sha("d"))]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"latestArchitectureVariants": None},
        {"latestArchitectureVariants": "sha256:abc"},
        {"latestArchitectureVariants": {"amd64": sha("a")}},
        {"latestArchitectureVariants": []},
        [],
        None,
        # two different digests for one platform: nothing is guessed
        {"latestArchitectureVariants": [variant(), variant(digest=sha("e"))]},
    ],
)
def test_no_usable_variants_means_no_digests(body: Any) -> None:
    assert digests_from_answer(body, "1.0") == ()


def test_a_repeated_variant_is_kept_once() -> None:
    body = {"latestArchitectureVariants": [variant(), variant()]}
    assert len(digests_from_answer(body, "1.0")) == 1


# --- the snapshot model --------------------------------------------------------------------


def record(name: str = "a", tags: tuple[str, ...] = ("1.1", "1.0")) -> ModelRecord:
    return make_record(
        name,
        displayName=name.upper(),
        shortDescription="A model.",
        namespace="nim/meta",
        tags=tags,
        latestTag=tags[0],
    )


def snap(r: ModelRecord, *digests: ImageDigest) -> SnapshotModel:
    return SnapshotModel(
        record=r, catalog=CatalogFacts(resourceId=f"nim/meta/{r.name}"), digests=digests
    )


def test_snapshot_digests_are_sorted_checked_and_omitted_when_empty() -> None:
    arm = ImageDigest(tag="1.1", architecture="arm64", os="linux", digest=sha("b"))
    amd = ImageDigest(tag="1.1", architecture="amd64", os="linux", digest=sha("a"))
    model = snap(record(), arm, amd)
    assert model.digests == (amd, arm)
    assert model.digests_of("1.1") == (amd, arm) and model.digests_of("1.0") == ()
    with pytest.raises(ValueError, match=re.escape("two digests for tag '1.1' on linux/amd64")):
        snap(record(), amd, dataclasses.replace(amd, digest=sha("c")))
    with pytest.raises(ValueError, match=re.escape("tag '9.9', which is not among the tags")):
        snap(record(), dataclasses.replace(amd, tag="9.9"))
    with pytest.raises(ValueError):
        ImageDigest(tag="1.1", architecture="amd64", os="linux", digest="sha256:xyz")

    text = snapshot_json((snap(record("b")), model), api_url="http://x", fetched_at="t")
    document = json.loads(text)
    assert "digests" not in document["models"][1]  # b, sorted after a
    assert document["models"][0]["digests"] == [
        {"tag": "1.1", "architecture": "amd64", "os": "linux", "digest": sha("a")},
        {"tag": "1.1", "architecture": "arm64", "os": "linux", "digest": sha("b")},
    ]


def test_old_snapshots_without_digests_still_load_and_keep_their_bytes(tmp_path: Path) -> None:
    sample = sample_path()
    loaded = load_models(sample)
    assert len(loaded.models) == 186 and all(m.digests == () for m in loaded.models)
    document = json.loads(sample.read_text())
    again = snapshot_json(
        loaded.models,
        api_url=document["source"]["apiUrl"],
        fetched_at=document["source"]["fetchedAt"],
        eu_facts=loaded.eu_facts,
    )
    assert again == sample.read_bytes()
    assert "digests" not in sample.read_text()


def test_a_snapshot_with_a_corrupt_digest_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    good = snap(record(), ImageDigest(tag="1.1", architecture="amd64", os="linux", digest=sha("a")))
    path.write_bytes(snapshot_json((good,), api_url="http://x", fetched_at="t"))
    assert load_models(path).models == (good,)
    path.write_text(path.read_text().replace(sha("a"), "sha256:nope"))
    with pytest.raises(BadInput, match=re.escape("invalid snapshot: models.0.digests.0.digest")):
        load_models(path)


# --- fetch against the emulator -----------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    emu: NgcEmulator
    snapshot: Path
    tmp: Path
    multi: str  # amd64 + arm64
    mixed: str  # one malformed variant, one good
    malformed: str  # only malformed variants
    missing: str  # no latestArchitectureVariants at all


@pytest.fixture(scope="module")
def fetched(fixtures_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fetched]:
    models = load_fixture_models(fixtures_dir)[:N]
    multi, mixed, malformed, missing = (m.name for m in models[:4])
    with NgcEmulator(models, fixtures_dir=fixtures_dir) as emu:
        tag = {m.name: m.latest_tag for m in models}
        emu.fault_model_forever(
            multi,
            Fault.wrong_fields(
                latestArchitectureVariants=[
                    variant("amd64", digest=fake_digest(multi, str(tag[multi]), "amd64")),
                    variant("arm64", digest=fake_digest(multi, str(tag[multi]), "arm64")),
                ]
            ),
        )
        emu.fault_model_forever(
            mixed,
            Fault.wrong_fields(
                latestArchitectureVariants=[
                    {"architecture": "arm64", "os": "linux", "digest": "sha256:short"},
                    variant("amd64", digest=fake_digest(mixed, str(tag[mixed]), "amd64")),
                ]
            ),
        )
        emu.fault_model_forever(
            malformed,
            Fault.wrong_fields(latestArchitectureVariants=[None, {"digest": sha("f")}, "x"]),
        )
        emu.fault_model_forever(missing, Fault.wrong_fields(latestArchitectureVariants=REMOVE))
        tmp = tmp_path_factory.mktemp("digests")
        snapshot = tmp / "snapshot.json"
        result = run_nimgen(
            "fetch", "--ngc-api-url", emu.url, "-o", str(snapshot), "--quiet", key=VALID_KEY
        )
        assert result.code == 0, result.stderr
        yield Fetched(emu, snapshot, tmp, multi, mixed, malformed, missing)


def test_fetch_records_the_latest_tags_digests(fetched: Fetched) -> None:
    models = {m.record.name: m for m in load_models(fetched.snapshot).models}
    assert len(models) == N  # malformed variants never fail a model
    for name, model in models.items():
        latest = model.record.latestTag
        if name in (fetched.malformed, fetched.missing):
            assert model.digests == ()
            continue
        platforms = ("amd64", "arm64") if name == fetched.multi else ("amd64",)
        assert model.digests == tuple(
            ImageDigest(tag=latest, architecture=a, os="linux", digest=fake_digest(name, latest, a))
            for a in platforms
        )
    raw = json.loads(fetched.snapshot.read_text())
    assert [m["record"]["name"] for m in raw["models"] if "digests" not in m] == sorted(
        (fetched.malformed, fetched.missing)
    )


def test_records_reused_through_previous_keep_their_digests(fetched: Fetched) -> None:
    again = fetched.tmp / "again.json"
    fetched.emu.reset_counters()
    result = run_nimgen(
        "fetch",
        "--ngc-api-url",
        fetched.emu.url,
        "-o",
        str(again),
        "--previous",
        str(fetched.snapshot),
        "--json",
        key=VALID_KEY,
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["reused"] == N
    assert fetched.emu.count("model") == 0
    assert (
        json.loads(again.read_text())["models"]
        == json.loads(fetched.snapshot.read_text())["models"]
    )


def without_digests(snapshot: Path, target: Path) -> Path:
    document = json.loads(snapshot.read_text())
    for model in document["models"]:
        model.pop("digests", None)
    target.write_text(json.dumps(document, indent=2) + "\n")
    return target


def test_the_generated_tree_is_unchanged_by_digests(fetched: Fetched) -> None:
    """generate, and render from snapshots with and without digests: the same bytes."""
    tmp = fetched.tmp
    generated = tmp / "generated"
    result = run_nimgen(
        "generate", "--ngc-api-url", fetched.emu.url, "-o", str(generated), "-q", key=VALID_KEY
    )
    assert result.code == 0, result.stderr
    old = without_digests(fetched.snapshot, tmp / "old.json")
    for source, out in ((fetched.snapshot, tmp / "r-new"), (old, tmp / "r-old")):
        result = run_nimgen("render", "--from", str(source), "-o", str(out), "-q")
        assert result.code == 0, result.stderr
        assert tree_bytes(out) == tree_bytes(generated)
    configmap = (generated / "base" / "nim-models-data.yaml").read_text()
    recorded = [d.digest for m in load_models(fetched.snapshot).models for d in m.digests]
    assert recorded and not any(digest in configmap for digest in recorded)


# --- airgap --digests ------------------------------------------------------------------------


def airgap(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as caught:
        main(["airgap", "--mirror", MIRROR, *args])
    captured = capsys.readouterr()
    assert isinstance(caught.value.code, int)
    return caught.value.code, captured.out, captured.err


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_airgap_digests_end_to_end(fetched: Fetched, capsys: pytest.CaptureFixture[str]) -> None:
    out, by_tag = fetched.tmp / "airgap", fetched.tmp / "airgap-by-tag"
    skip = ("--exclude", fetched.malformed, "--exclude", fetched.missing, "--no-weights")
    source = ("--from", str(fetched.snapshot))
    code, stdout, stderr = airgap(capsys, *source, "-o", str(out), *skip, "--digests", "--json")
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == AIRGAP_FILES
    code, _, stderr = airgap(capsys, *source, "-o", str(by_tag), *skip, "-q")
    assert code == 0, stderr
    assert "imagedigestmirrorset.yaml" not in {p.name for p in by_tag.iterdir()}

    # The ConfigMap and the ImageTagMirrorSet are those of a run by tag.
    for name in ("configmap.yaml", "imagetagmirrorset.yaml", "odhdashboardconfig-patch.yaml"):
        assert (out / name).read_bytes() == (by_tag / name).read_bytes()

    snapshot = {m.record.name: m for m in load_models(fetched.snapshot).models}
    configmap = yaml.safe_load((out / "configmap.yaml").read_text())
    groups: list[list[str]] = []
    for key, value in configmap["data"].items():
        entry = json.loads(value)
        # The latestTag; beside a moving one ('latest'), also the newest version tag.
        assert entry["latestTag"] in entry["tags"] and len(entry["tags"]) <= 2
        repository = f"nvcr.io/{entry['namespace']}/{key}"
        digests = snapshot[key].digests  # sorted by platform
        for tag in entry["tags"]:
            groups.append([f"{repository}:{tag}"])
            if tag == entry["latestTag"]:
                groups[-1] += [f"{repository}@{d.digest}" for d in digests]
    expected = [reference for group in sorted(groups) for reference in group]
    assert len(configmap["data"]) == N - 2

    pairs = [line.split(" ") for line in (out / "images.txt").read_text().splitlines()]
    imageset = yaml.safe_load((out / "imageset-config.yaml").read_text())
    listed = [image["name"] for image in imageset["mirror"]["additionalImages"]]
    sources = [source for source, _ in pairs]
    # each tag reference, then its digest references (by platform)
    assert sources == listed == expected
    for src, destination in pairs:
        assert destination == f"{MIRROR}/{src.removeprefix('nvcr.io/')}"
    tag_lines = [s for s in sources if "@" not in s]
    assert tag_lines == (by_tag / "images.txt").read_text().split()[::2]
    multi = [s for s in sources if f"/{fetched.multi}@" in s]
    assert len(multi) == 2  # one digest reference per architecture

    report = json.loads(stdout)
    assert [f"{i['source']} {i['destination']}" for i in report["images"]] == [
        " ".join(p) for p in pairs
    ]
    pinned = [i for i in report["images"] if "digest" in i]
    assert {i["platform"] for i in pinned} == {"linux/amd64", "linux/arm64"}
    assert all(i["source"].endswith("@" + i["digest"]) for i in pinned)
    steps = [s["what"] for s in report["nextSteps"]]
    assert any("ImageTagMirrorSet and ImageDigestMirrorSet" in s for s in steps)

    built = yaml.safe_load_all(kustomize(out))
    kinds = {d["kind"]: d for d in built if d}
    assert set(kinds) == {"ConfigMap", "ImageTagMirrorSet", "ImageDigestMirrorSet"}
    idms = kinds["ImageDigestMirrorSet"]
    assert idms["apiVersion"] == "config.openshift.io/v1"
    assert idms["spec"]["imageDigestMirrors"] == [
        {"source": "nvcr.io/nim", "mirrors": [f"{MIRROR}/nim"]}
    ]
    assert kinds["ConfigMap"]["data"] == configmap["data"]


def test_airgap_digests_with_all_tags_is_refused_naming_the_images(
    fetched: Fetched, capsys: pytest.CaptureFixture[str]
) -> None:
    out = fetched.tmp / "refused"
    skip = (fetched.malformed, fetched.missing)
    code, _, stderr = airgap(
        capsys,
        *("--from", str(fetched.snapshot), "-o", str(out), "--digests", "--tags", "all"),
        *("--exclude", skip[0], "--exclude", skip[1]),
    )
    assert code == 2
    records = [m.record for m in load_models(fetched.snapshot).models if m.record.name not in skip]
    every = sorted(f"nvcr.io/{r.namespace}/{r.name}:{t}" for r in records for t in r.tags)
    missing = sorted(
        f"nvcr.io/{r.namespace}/{r.name}:{t}" for r in records for t in r.tags if t != r.latestTag
    )
    assert len(missing) > 20
    first, *details = stderr.strip().splitlines()
    assert first == (
        f"nimgen: error: --digests: no digest is known for {len(missing)} of {len(every)} "
        "image(s); snapshots record only each model's latestTag digests, and --tags all "
        "offers other tags: use --tags latest (digests are never guessed)"
    )
    assert details == [
        *(f"  - {source}: no digest recorded" for source in missing[:20]),
        f"  - ... and {len(missing) - 20} more",
    ]
    assert not out.exists()


def test_airgap_digests_names_models_ngc_gave_no_digest_for(
    fetched: Fetched, capsys: pytest.CaptureFixture[str]
) -> None:
    out = fetched.tmp / "refused-latest"
    code, _, stderr = airgap(capsys, "--from", str(fetched.snapshot), "-o", str(out), "--digests")
    assert code == 2
    first, *details = stderr.strip().splitlines()
    assert "no digest is known for 2 of 30 image(s)" in first and "--exclude" in first
    assert "use --tags latest" not in first
    assert sorted(d.split("/")[-1].split(":")[0] for d in details) == sorted(
        (fetched.malformed, fetched.missing)
    )
    assert not out.exists()


def test_airgap_digests_from_sources_without_digests(
    fetched: Fetched, capsys: pytest.CaptureFixture[str]
) -> None:
    old = without_digests(fetched.snapshot, fetched.tmp / "old-for-airgap.json")
    code, _, stderr = airgap(capsys, "--from", str(old), "-o", str(fetched.tmp / "x"), "--digests")
    assert code == 2
    assert "records no image digests (it was written before nimgen recorded them)" in stderr
    assert "nimgen fetch" in stderr and len(stderr.strip().splitlines()) == 1
    code, _, stderr = airgap(
        capsys, "--from", str(sample_path()), "-o", str(fetched.tmp / "y"), "--digests"
    )
    assert code == 2 and "records no image digests" in stderr

    tree = fetched.tmp / "tree-for-airgap"
    assert run_nimgen("render", "--from", str(fetched.snapshot), "-o", str(tree)).code == 0
    code, _, stderr = airgap(capsys, "--from", str(tree), "-o", str(fetched.tmp / "z"), "--digests")
    assert code == 2
    assert "(a ConfigMap holds tags only)" in stderr
    assert not (fetched.tmp / "z").exists()
