"""Incremental refresh: ``generate --previous`` / ``fetch --previous`` against the NGC emulator."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from nimgen.commands.previous import load_previous
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator, make_models
from tests.support.nimgen_runner import NimgenResult, run_nimgen, tree_bytes

N = 40  # models in the emulated catalog: two pages at the emulator's page-size cap of 25


@pytest.fixture
def emulator(ngc_models: list[EmulatedModel], fixtures_dir: Path) -> Iterator[NgcEmulator]:
    """An emulator seeded with the first N fixture models (fewer calls, same code paths)."""
    with NgcEmulator(ngc_models[:N], fixtures_dir=fixtures_dir) as emu:
        yield emu


def nimgen(emu: NgcEmulator, command: str, out: Path, *extra: str) -> NimgenResult:
    return run_nimgen(
        command, "--ngc-api-url", emu.url, "--output", str(out), *extra, key=VALID_KEY
    )


def test_previous_fetches_only_new_models_and_matches_a_full_run(
    emulator: NgcEmulator, tmp_path: Path
) -> None:
    emu = emulator
    snapshot = tmp_path / "nim-snapshot.json"
    assert nimgen(emu, "fetch", snapshot, "--quiet").code == 0

    # nothing changed: no per-model call at all, and the same bytes as a full run
    emu.reset_counters()
    unchanged = nimgen(emu, "generate", tmp_path / "inc0", "--previous", str(snapshot), "--json")
    assert unchanged.code == 0, unchanged.stderr
    assert emu.count("model") == 0
    assert emu.count("catalog") > 0 and emu.count("key") == 1
    assert json.loads(unchanged.stdout)["reused"] == N
    assert nimgen(emu, "generate", tmp_path / "full0", "--quiet").code == 0
    assert tree_bytes(tmp_path / "inc0") == tree_bytes(tmp_path / "full0")

    # four models appear: only their four per-model calls
    added = make_models(4, emu.models[:4], prefix="zz-added")
    emu.add_models(added)
    emu.reset_counters()
    result = nimgen(emu, "generate", tmp_path / "inc1", "--previous", str(snapshot), "--json")
    assert result.code == 0, result.stderr
    assert emu.model_calls == Counter({m.name: 1 for m in added})
    summary = json.loads(result.stdout)
    assert (summary["reused"], summary["fetched"], summary["models"]) == (N, 4, N + 4)
    assert f"--previous {snapshot}: reused {N} record(s), fetched 4" in result.stderr
    assert nimgen(emu, "generate", tmp_path / "full1", "--quiet").code == 0
    assert tree_bytes(tmp_path / "inc1") == tree_bytes(tmp_path / "full1")

    # --check --previous: the same incremental run, compared instead of written
    emu.reset_counters()
    check = nimgen(emu, "generate", tmp_path / "full1", "--check", "--previous", str(snapshot))
    assert check.code == 0, check.stderr
    assert emu.count("model") == 4


def test_a_changed_catalog_entry_is_refetched(emulator: NgcEmulator, tmp_path: Path) -> None:
    emu = emulator
    snapshot = tmp_path / "snap.json"
    assert nimgen(emu, "fetch", snapshot, "--quiet").code == 0
    moved, pushed, removed = emu.models[10], emu.models[20], emu.models[30]
    emu.update_model(
        moved.name,
        tags=("9.9.9", *moved.tags),
        latest_tag="9.9.9",
        date_modified="2026-05-01T00:00:00.000Z",
    )
    emu.update_model(pushed.name, latest_tag_pushed_date="2026-05-02T00:00:00.000Z")
    emu.remove_model(removed.name)
    emu.reset_counters()
    result = nimgen(emu, "generate", tmp_path / "inc", "--previous", str(snapshot))
    assert result.code == 0, result.stderr
    assert emu.model_calls == Counter({moved.name: 1, pushed.name: 1})
    assert nimgen(emu, "generate", tmp_path / "full", "--quiet").code == 0
    assert tree_bytes(tmp_path / "inc") == tree_bytes(tmp_path / "full")
    configmap = (tmp_path / "inc" / "base" / "nim-models-data.yaml").read_text()
    assert '"latestTag": "9.9.9"' in configmap and f"{removed.name}:" not in configmap

    # fetch --previous refreshes the snapshot itself the same way
    emu.reset_counters()
    refreshed = tmp_path / "refreshed.json"
    assert nimgen(emu, "fetch", refreshed, "--previous", str(snapshot), "--quiet").code == 0
    assert emu.count("model") == 2
    full = tmp_path / "full.json"
    assert nimgen(emu, "fetch", full, "--quiet").code == 0
    left, right = json.loads(refreshed.read_text()), json.loads(full.read_text())
    assert left["models"] == right["models"]


def test_full_and_a_previous_without_catalog_facts(emulator: NgcEmulator, tmp_path: Path) -> None:
    emu = emulator
    tree = tmp_path / "tree"
    snapshot = tmp_path / "snap.json"
    assert nimgen(emu, "generate", tree, "--quiet").code == 0
    assert nimgen(emu, "fetch", snapshot, "--quiet").code == 0

    emu.reset_counters()
    full = nimgen(emu, "generate", tmp_path / "full", "--previous", str(snapshot), "--full")
    assert full.code == 0, full.stderr
    assert emu.count("model") == N
    assert "--full: fetching every model" in full.stderr

    # a tree (or a ConfigMap) lacks dateModified / latestTagPushedDate: all fetched, with a warning
    configmap = load_previous(tree / "base" / "nim-models-data.yaml")
    assert (configmap.kind, len(configmap.by_id), configmap.with_facts) == ("configmap", N, 0)
    assert load_previous(tree).kind == "tree"
    emu.reset_counters()
    result = nimgen(emu, "generate", tmp_path / "again", "--previous", str(tree), "--json")
    assert result.code == 0, result.stderr
    assert emu.count("model") == N
    assert "without the catalog facts" in result.stderr
    assert any("without the catalog facts" in w for w in json.loads(result.stdout)["warnings"])
    assert tree_bytes(tmp_path / "again") == tree_bytes(tree)


def test_previous_records_carry_no_eu_flag(emulator: NgcEmulator, tmp_path: Path) -> None:
    """A reused record equals what the per-model call gives: its old EU flag is not carried."""
    emu = emulator
    snapshot = tmp_path / "snap.json"
    assert nimgen(emu, "fetch", snapshot, "--quiet").code == 0
    document = json.loads(snapshot.read_text())
    for model in document["models"][:3]:
        model["record"]["euRestricted"] = True
        model["record"]["tags"].reverse()  # and out of canonical order
        model["eu"] = {"status": "restricted"}
    flagged = tmp_path / "flagged.json"
    flagged.write_text(json.dumps(document))
    previous = load_previous(flagged)
    assert previous.kind == "snapshot" and previous.with_facts == N
    assert not any(m.record.euRestricted or m.eu for m in previous.by_id.values())

    emu.reset_counters()
    assert nimgen(emu, "generate", tmp_path / "inc", "--previous", str(flagged)).code == 0
    assert emu.count("model") == 0
    assert nimgen(emu, "generate", tmp_path / "full", "--quiet").code == 0
    assert tree_bytes(tmp_path / "inc") == tree_bytes(tmp_path / "full")


def test_unreadable_previous_fails_before_any_request(
    emulator: NgcEmulator, tmp_path: Path
) -> None:
    result = nimgen(
        emulator, "generate", tmp_path / "out", "--previous", str(tmp_path / "nope.json")
    )
    assert result.code == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.output
    assert emulator.requests == []
    assert not (tmp_path / "out").exists()


def test_previous_records_never_outrank_the_catalog(emulator: NgcEmulator, tmp_path: Path) -> None:
    emu = emulator
    snapshot = tmp_path / "nim-snapshot.json"
    assert nimgen(emu, "fetch", snapshot, "--quiet").code == 0
    document = json.loads(snapshot.read_text())
    # A record whose latestTag disagrees with its own catalog facts: fetched again.
    stale = next(m for m in document["models"] if len(m["record"]["tags"]) > 1)
    stale["record"]["latestTag"] = next(
        t for t in stale["record"]["tags"] if t != stale["catalog"]["latestTag"]
    )
    document["source"]["apiUrl"] = "https://api.other-ngc.example"
    snapshot.write_text(json.dumps(document))
    emu.reset_counters()
    result = nimgen(emu, "generate", tmp_path / "inc", "--previous", str(snapshot), "--json")
    assert result.code == 0, result.stderr
    assert emu.model_calls == Counter({stale["record"]["name"]: 1})
    assert "was fetched from the NGC API https://api.other-ngc.example" in result.stderr
    assert nimgen(emu, "generate", tmp_path / "full", "--quiet").code == 0
    assert tree_bytes(tmp_path / "inc") == tree_bytes(tmp_path / "full")
    # A record renamed against its resourceId, or two entries of one resource: bad input.
    first = document["models"][0]["record"]
    first["name"], name = "totally-different-model", first["name"]
    snapshot.write_text(json.dumps(document))
    renamed = nimgen(emu, "generate", tmp_path / "bad", "--previous", str(snapshot))
    assert renamed.code == 2 and "totally-different-model" in renamed.stderr
    first["name"], document["models"][1] = name, document["models"][2]
    snapshot.write_text(json.dumps(document))
    twice = nimgen(emu, "generate", tmp_path / "bad", "--previous", str(snapshot))
    assert twice.code == 2 and "appears twice" in twice.stderr
