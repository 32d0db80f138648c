"""``nimgen diff`` end to end: the installed console script on trees, ConfigMaps and snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nimgen.catalog import EuStatus, ModelRecord, SnapshotModel
from nimgen.snapshot import load_models, sample_path, snapshot_json
from tests.support.nimgen_runner import clean_env, run_nimgen


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample as a tree and a snapshot, and a changed copy of it as a ConfigMap."""
    root = tmp_path_factory.mktemp("diff-sides")
    tree = root / "tree"
    assert run_nimgen("render", "--output", str(tree), "--quiet").code == 0

    models = list(load_models(sample_path()).models)
    by_name = {m.record.name: m for m in models}
    first, second, third = sorted(by_name)[:3]

    def change(name: str, **update: object) -> None:
        model = by_name[name]
        by_name[name] = model.replace(record=model.record.replace(**update))

    record = by_name[second].record
    change(
        second,
        tags=("99.0.0", *record.tags),
        latestTag="99.0.0",
        euRestricted=not record.euRestricted,
        displayName="Renamed | model",
    )
    # render applies the snapshot's EU statuses: flip the status with the flag
    status = "available" if record.euRestricted else "restricted"
    by_name[second] = by_name[second].replace(eu=EuStatus(status=status))
    del by_name[first]
    extra = ModelRecord(
        name="zz-brand-new",
        displayName="Brand new",
        shortDescription="New.",
        namespace="nim/test",
        tags=("1.0.0", "latest"),
        latestTag="1.0.0",
        updatedDate="2026-01-01T00:00:00Z",
        euRestricted=False,
    )
    by_name[extra.name] = SnapshotModel(
        record=extra, catalog=by_name[third].catalog.replace(resourceId="nim/test/zz-brand-new")
    )
    changed_snapshot = root / "changed.json"
    changed_snapshot.write_bytes(
        snapshot_json(tuple(by_name.values()), api_url="http://x", fetched_at="t")
    )
    changed_tree = root / "changed-tree"
    result = run_nimgen(
        "render", "--from", str(changed_snapshot), "--output", str(changed_tree), "--quiet"
    )
    assert result.code == 0, result.stderr
    return {
        "tree": tree,
        "snapshot": sample_path(),
        "changed-configmap": changed_tree / "base" / "nim-models-data.yaml",
        "first": Path(first),
        "second": Path(second),
    }


def test_json_format_on_a_tree_against_a_configmap(sides: dict[str, Path]) -> None:
    result = run_nimgen(
        "diff", str(sides["tree"]), str(sides["changed-configmap"]), "--format", "json"
    )
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["added"] == ["zz-brand-new"]
    assert document["removed"] == [str(sides["first"])]
    [changed] = document["changed"]
    assert changed["name"] == str(sides["second"])
    assert changed["tagsAdded"] == ["99.0.0"] and changed["tagsRemoved"] == []
    assert changed["latestTag"]["new"] == "99.0.0"
    assert changed["euRestricted"] is not None
    assert changed["fields"]["displayName"]["new"] == "Renamed | model"
    assert document["old"]["kind"] == "tree" and document["new"]["kind"] == "configmap"


def test_markdown_and_table_formats(sides: dict[str, Path]) -> None:
    markdown = run_nimgen(
        "diff", str(sides["snapshot"]), str(sides["changed-configmap"]), "--format", "markdown"
    )
    assert markdown.code == 0, markdown.stderr
    assert markdown.stdout.startswith("## NIM catalog changes\n")
    assert "**1 added \u00b7 1 removed \u00b7 1 changed**" in markdown.stdout
    assert "### Added (1)" in markdown.stdout and "### Changed (1)" in markdown.stdout

    table = run_nimgen("diff", str(sides["snapshot"]), str(sides["changed-configmap"]))
    assert table.code == 0, table.stderr
    assert "nimgen diff: 1 added, 1 removed, 1 changed" in table.stdout
    assert "zz-brand-new" in table.stdout


def test_no_difference_still_exits_0(sides: dict[str, Path]) -> None:
    for fmt in ("table", "markdown", "json"):
        result = run_nimgen("diff", str(sides["tree"]), str(sides["snapshot"]), "--format", fmt)
        assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["identical"] is True


def test_output_file(sides: dict[str, Path], tmp_path: Path) -> None:
    for fmt in ("markdown", "json", "table"):
        target = tmp_path / f"report.{fmt}"
        args = ("diff", str(sides["tree"]), str(sides["changed-configmap"]), "--format", fmt)
        result = run_nimgen(*args, "--output", str(target))
        assert result.code == 0, result.stderr
        assert result.stdout == ""
        if fmt == "table":
            assert "\x1b[" not in target.read_text()
            assert "zz-brand-new" in target.read_text()
        else:
            assert target.read_text() == run_nimgen(*args).stdout


def test_unreadable_side_is_bad_input(sides: dict[str, Path], tmp_path: Path) -> None:
    missing = run_nimgen("diff", str(tmp_path / "nope.json"), str(sides["tree"]))
    assert missing.code == 2
    assert missing.stderr.startswith("nimgen: error: cannot read")
    assert "Traceback" not in missing.output
    junk = tmp_path / "junk.yaml"
    junk.write_text("a: [\n")
    assert run_nimgen("diff", str(sides["tree"]), str(junk)).code == 2
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    result = run_nimgen("diff", str(empty), str(sides["tree"]))
    assert result.code == 2 and "no nim-models-data ConfigMap" in result.stderr
    bad_format = run_nimgen("diff", str(sides["tree"]), str(sides["tree"]), "--format", "html")
    assert bad_format.code == 2


def test_the_table_works_in_any_locale(sides: dict[str, Path]) -> None:
    """LC_ALL=C and an ASCII stream: ASCII boxes and arrows, escapes for the rest."""
    env = clean_env(LC_ALL="C", LANG="C", PYTHONIOENCODING="ascii")
    result = run_nimgen("diff", str(sides["tree"]), str(sides["changed-configmap"]), env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.isascii() and "->" in result.stdout and "+---" in result.stdout
