"""``nimgen generate --check`` against the NGC emulator: exit codes, summary, nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator, make_models
from tests.support.nimgen_runner import NimgenResult, run_nimgen, tree_bytes

N = 40  # models in the emulated catalog: two pages at the emulator's page-size cap of 25


@pytest.fixture
def emulator(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """An emulator seeded with the first N fixture models (fewer calls, same code paths)."""
    with NgcEmulator(ngc_models[:N], fixtures_dir=fixtures_dir) as emu:
        yield emu


def generate(emu: NgcEmulator, out: Path, *extra: str, key: str = VALID_KEY) -> NimgenResult:
    return run_nimgen("generate", "--ngc-api-url", emu.url, "--output", str(out), *extra, key=key)


def state(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` (and ``root``'s siblings): mtime and size, to prove no write."""
    seen: dict[str, tuple[int, int]] = {}
    for path in sorted(root.parent.rglob("*")):
        info = path.lstat()
        seen[path.relative_to(root.parent).as_posix()] = (info.st_mtime_ns, info.st_size)
    return seen


def test_check_before_and_after_the_catalog_changes(emulator: NgcEmulator, tmp_path: Path) -> None:
    emu = emulator
    out = tmp_path / "config" / "nim"
    assert generate(emu, out, "--quiet").code == 0
    files, before = tree_bytes(out), state(out)

    same = generate(emu, out, "--check", "--json")
    assert same.code == 0, same.stderr
    assert f"check: {out} is up to date ({N} models); nothing written" in same.stderr
    document = json.loads(same.stdout)
    assert document["exitCode"] == 0
    assert document["check"] == {
        "identical": True,
        "treeExists": True,
        "filesDiffer": [],
        "unreadable": None,
        "added": [],
        "removed": [],
        "changed": [],
    }
    assert tree_bytes(out) == files and state(out) == before

    # the catalog changes: two models appear, one goes, one gets a new tag and latestTag
    emu.add_models(make_models(2, emu.models[:1], prefix="zz-new-model"))
    gone = emu.models[0].name
    emu.remove_model(gone)
    bumped = emu.models[5]
    emu.update_model(
        bumped.name,
        tags=("99.0.0", *bumped.tags),
        latest_tag="99.0.0",
        date_modified="2026-03-01T00:00:00.000Z",
    )
    drift = generate(emu, out, "--check", "--json")
    assert drift.code == 3, drift.stderr
    assert f"check: drift: {out} differs from this run; nothing written" in drift.stderr
    assert "  models: 2 added, 1 removed, 1 changed" in drift.stderr
    assert "  added: zz-new-model-0000, zz-new-model-0001" in drift.stderr
    assert f"  removed: {gone}" in drift.stderr
    assert f"  changed: {bumped.name} (tags, latestTag)" in drift.stderr
    assert "  files: base/nim-models-data.yaml" in drift.stderr
    document = json.loads(drift.stdout)
    assert document["ok"] is True and document["exitCode"] == 3
    check = document["check"]
    assert check["identical"] is False and check["treeExists"] is True
    assert check["filesDiffer"] == ["base/nim-models-data.yaml"]
    assert check["added"] == ["zz-new-model-0000", "zz-new-model-0001"]
    assert check["removed"] == [gone]
    assert check["changed"] == [{"name": bumped.name, "changes": ["tags", "latestTag"]}]
    assert document["models"] == N + 1
    # nothing was written: same bytes, same mtimes, no temporary directory left beside it
    assert tree_bytes(out) == files and state(out) == before
    assert VALID_KEY not in drift.output

    # regenerating brings the tree up to date
    assert generate(emu, out, "--quiet").code == 0
    assert generate(emu, out, "--check", "--quiet").code == 0


def test_check_with_no_tree_is_drift_and_creates_nothing(
    emulator: NgcEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "config" / "nim"
    result = generate(emulator, out, "--check", "--json")
    assert result.code == 3, result.stderr
    assert f"check: drift: no tree at {out} (a run would write it with {N} models)" in (
        result.stderr
    )
    check = json.loads(result.stdout)["check"]
    assert check["treeExists"] is False and len(check["added"]) == N
    assert len(check["filesDiffer"]) == 5
    assert not out.exists() and not out.parent.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_hand_edited_file_is_drift_without_model_changes(
    emulator: NgcEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "nim"
    assert generate(emulator, out, "--quiet").code == 0
    template = out / "base" / "nim-http-template.yaml"
    original = template.read_bytes()
    template.write_bytes(original + b"# edited\n")
    edited = template.read_bytes()
    result = generate(emulator, out, "--check")
    assert result.code == 3
    assert "  models: no model changes" in result.stderr
    assert "  files: base/nim-http-template.yaml" in result.stderr
    assert template.read_bytes() == edited
    # a different --name-suffix renders a different ConfigMap: drift too
    template.write_bytes(original)
    assert generate(emulator, out, "--check", "--name-suffix", "none").code == 3


def test_check_refuses_what_generate_refuses(emulator: NgcEmulator, tmp_path: Path) -> None:
    out = tmp_path / "nim"
    assert generate(emulator, out, "--quiet").code == 0
    files = tree_bytes(out)
    rejected = generate(emulator, out, "--check", key="nvapi-not-the-key")
    assert rejected.code == 4
    (out / "notes.txt").write_text("mine\n")
    foreign = generate(emulator, out, "--check")
    assert foreign.code == 2 and "did not write" in foreign.stderr
    (out / "notes.txt").unlink()
    assert tree_bytes(out) == files
