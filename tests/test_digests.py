"""Image digests: recorded by ``fetch`` from each answer's ``latestArchitectureVariants``
(the emulator serves ``fake_digest``), kept in snapshots, used by ``airgap --digests``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nimgen.catalog import CatalogFacts, ImageDigest, SnapshotModel
from nimgen.cli import main
from nimgen.errors import BadInput
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
from tests.support.nimgen_runner import run_nimgen, tree_bytes

MIRROR = "registry.example.com:5000/mirror"
N = 30


def sha(char: str) -> str:
    return "sha256:" + char * 64


def variant(architecture: str, digest: str) -> dict[str, str]:
    return {"architecture": architecture, "os": "linux", "digest": digest, "rating": "A"}


# --- the snapshot model --------------------------------------------------------------------


def snap(name: str, *digests: ImageDigest) -> SnapshotModel:
    record = make_record(name, namespace="nim/meta", tags=("1.1", "1.0"), latestTag="1.1")
    return SnapshotModel(
        record=record, catalog=CatalogFacts(resourceId=f"nim/meta/{name}"), digests=digests
    )


def test_snapshot_digests_are_sorted_checked_and_omitted_when_empty(tmp_path: Path) -> None:
    arm = ImageDigest(tag="1.1", architecture="arm64", os="linux", digest=sha("b"))
    amd = ImageDigest(tag="1.1", architecture="amd64", os="linux", digest=sha("a"))
    model = snap("a", arm, amd)
    assert model.digests == (amd, arm)
    assert model.digests_of("1.1") == (amd, arm) and model.digests_of("1.0") == ()
    with pytest.raises(ValueError, match=re.escape("two digests for tag '1.1' on linux/amd64")):
        snap("a", amd, amd.replace(digest=sha("c")))
    with pytest.raises(ValueError, match=re.escape("tag '9.9', which is not among the tags")):
        snap("a", amd.replace(tag="9.9"))
    path = tmp_path / "snap.json"
    path.write_bytes(snapshot_json((snap("b"), model), api_url="http://x", fetched_at="t"))
    document = json.loads(path.read_text())
    assert "digests" not in document["models"][1]  # b, sorted after a
    assert document["models"][0]["digests"] == [d.as_json_dict() for d in (amd, arm)]
    assert load_models(path).models == (model, snap("b"))
    path.write_text(path.read_text().replace(sha("a"), "sha256:nope"))
    refused = "invalid snapshot: model 'a': models.0.digests.0.digest"
    with pytest.raises(BadInput, match=re.escape(refused)):
        load_models(path)


def test_old_snapshots_without_digests_still_load_and_keep_their_bytes() -> None:
    loaded = load_models(sample_path())
    assert len(loaded.models) == 186 and all(m.digests == () for m in loaded.models)
    source = json.loads(sample_path().read_text())["source"]
    again = snapshot_json(
        loaded.models,
        api_url=source["apiUrl"],
        fetched_at=source["fetchedAt"],
        eu_facts=loaded.eu_facts,
    )
    assert again == sample_path().read_bytes() and b"digests" not in again


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
                    variant("amd64", fake_digest(multi, str(tag[multi]), "amd64")),
                    variant("arm64", fake_digest(multi, str(tag[multi]), "arm64")),
                ]
            ),
        )
        emu.fault_model_forever(
            mixed,
            Fault.wrong_fields(
                latestArchitectureVariants=[
                    variant("arm64", "sha256:short"),
                    variant("amd64", fake_digest(mixed, str(tag[mixed]), "amd64")),
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
    url, previous = fetched.emu.url, str(fetched.snapshot)
    result = run_nimgen(
        *("fetch", "--ngc-api-url", url, "-o", str(again), "--previous", previous, "--json"),
        key=VALID_KEY,
    )
    assert result.code == 0 and json.loads(result.stdout)["reused"] == N, result.stderr
    assert fetched.emu.count("model") == 0
    models = [json.loads(path.read_text())["models"] for path in (again, fetched.snapshot)]
    assert models[0] == models[1]


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


def test_airgap_digests_never_guesses(fetched: Fetched, capsys: pytest.CaptureFixture[str]) -> None:
    source = ("--from", str(fetched.snapshot), "--digests")
    code, _, stderr = airgap(capsys, *source, "-o", str(fetched.tmp / "r1"))
    assert code == 2 and "no digest is known for 2 of 30 image(s)" in stderr
    skip = ("--exclude", fetched.malformed, "--exclude", fetched.missing)
    code, _, stderr = airgap(capsys, *source, *skip, "--tags", "all", "-o", str(fetched.tmp / "r2"))
    assert code == 2 and "use --tags latest (digests are never guessed)" in stderr
    tree = fetched.tmp / "tree-for-airgap"
    assert run_nimgen("render", "--from", str(fetched.snapshot), "-o", str(tree)).code == 0
    code, _, stderr = airgap(capsys, "--from", str(tree), "-o", str(fetched.tmp / "z"), "--digests")
    assert code == 2 and "(a ConfigMap holds tags only)" in stderr
    assert not any((fetched.tmp / name).exists() for name in ("r1", "r2", "z"))
