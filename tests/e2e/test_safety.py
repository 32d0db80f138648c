"""A run never replaces a full tree with an empty one, and says so when it drops many models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import NimgenResult, run_nimgen, tree_bytes

N = 20


@pytest.fixture
def emulator(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    with NgcEmulator(ngc_models[:N], fixtures_dir=fixtures_dir) as emu:
        yield emu


def generate(emu: NgcEmulator, out: Path, *extra: str) -> NimgenResult:
    return run_nimgen(
        "generate", "--ngc-api-url", emu.url, "--output", str(out), *extra, key=VALID_KEY
    )


def test_a_catalog_answering_nothing_fails_and_keeps_the_tree(
    emulator: NgcEmulator, fixtures_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    assert generate(emulator, out, "--quiet").code == 0
    before = tree_bytes(out)
    with NgcEmulator([], fixtures_dir=fixtures_dir) as empty:
        result = generate(empty, out, "--json")
        check = generate(empty, out, "--check")
        snapshot = run_nimgen(
            "fetch", "--ngc-api-url", empty.url, "-o", str(tmp_path / "s.json"), key=VALID_KEY
        )
        allowed = generate(empty, tmp_path / "empty", "--allow-empty", "--quiet")
    assert result.code == 1 and "found no model to ship" in result.stderr
    assert "--allow-empty" in result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["discovered"] == 0
    assert check.code == 1
    assert tree_bytes(out) == before
    assert snapshot.code == 1 and not (tmp_path / "s.json").exists()
    assert allowed.code == 0 and (tmp_path / "empty" / "base" / "nim-models-data.yaml").exists()


def test_an_over_narrow_models_glob_fails(emulator: NgcEmulator, tmp_path: Path) -> None:
    result = generate(emulator, tmp_path / "tree", "--models", "no-such-model-*")
    assert result.code == 1 and "'no-such-model-*' matches no model" in result.stderr
    assert not (tmp_path / "tree").exists()


def test_losing_many_models_warns_loudly(emulator: NgcEmulator, tmp_path: Path) -> None:
    out = tmp_path / "tree"
    assert generate(emulator, out, "--quiet").code == 0
    gone = [m.name for m in emulator.models[:5]]  # 25 % of the previous tree
    for name in gone:
        emulator.remove_model(name)
    result = generate(emulator, out, "--json")
    assert result.code == 0, result.stderr
    assert f"this run drops 5 of the {N} models in {out} (25%, over --max-loss 20%)" in (
        result.stderr
    )
    assert "DROPPED since previous" in result.stderr
    loss = json.loads(result.stdout)["modelLoss"]
    assert loss == {
        "previous": str(out),
        "previousModels": N,
        "lost": sorted(gone),
        "share": 0.25,
        "maxLossPercent": 20.0,
        "exceeded": True,
    }
    # under the threshold: counted, not warned about
    emulator.remove_model(emulator.models[0].name)
    quiet = generate(emulator, out, "--json", "--max-loss", "50")
    assert quiet.code == 0 and "drops" not in quiet.stderr
    assert json.loads(quiet.stdout)["modelLoss"]["exceeded"] is False


def test_the_previous_option_is_the_yardstick_without_a_tree(
    emulator: NgcEmulator, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    fetched = run_nimgen(
        "fetch", "--ngc-api-url", emulator.url, "-o", str(snapshot), "-q", key=VALID_KEY
    )
    assert fetched.code == 0, fetched.stderr
    for model in emulator.models[:10]:
        emulator.remove_model(model.name)
    result = generate(emulator, tmp_path / "new", "--previous", str(snapshot), "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["modelLoss"]["lost"].__len__() == 10
    assert "over --max-loss 20%" in result.stderr
