"""``nimgen.tree.diff`` and its renderers: hand-made pairs covering each kind of change."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from nimgen.catalog import CatalogFacts, ModelRecord, SnapshotModel
from nimgen.errors import BadInput
from nimgen.report.diff import render_json, render_markdown, render_table
from nimgen.snapshot import snapshot_json
from nimgen.tree.configmap import render_configmap
from nimgen.tree.diff import CatalogDiff, DiffSide, compare_records, diff_models, diff_paths
from nimgen.tree.layout import render_tree
from tests.support.model_records import make_record as make


def snap(record: ModelRecord) -> SnapshotModel:
    facts = CatalogFacts(
        resourceId=f"{record.namespace}/{record.name}",
        dateModified=record.updatedDate,
        latestTag=record.latestTag,
        latestTagPushedDate=record.updatedDate,
    )
    return SnapshotModel(record=record, catalog=facts)


OLD = (
    make("same"),
    make("gone", tags=("2.0", "1.0"), latestTag="2.0"),
    make("retagged", tags=("1.0", "0.9", "latest")),
    make("moved", tags=("1.1", "1.0"), latestTag="1.0"),
    make("eu-flip"),
    make("renamed", displayName="Old name", shortDescription="Old | text"),
    make("everything", tags=("1.0",), namespace="nim/old"),
    make("reordered", tags=("latest", "1.0", "1.1")),
)
NEW = (
    make("same"),
    make("fresh", tags=("3.0", "3", "latest"), latestTag="3.0", euRestricted=True),
    make("retagged", tags=("1.1", "1.0", "latest")),
    make("moved", tags=("1.1", "1.0"), latestTag="1.1"),
    make("eu-flip", euRestricted=True),
    make("renamed", displayName="New name", shortDescription="New text [bold]"),
    make(
        "everything",
        tags=("2.0", "latest"),
        latestTag="2.0",
        namespace="nim/new",
        updatedDate="2026-01-01T00:00:00Z",
        euRestricted=True,
    ),
    make("reordered", tags=("1.1", "1.0", "latest")),
)


@pytest.fixture
def diff() -> CatalogDiff:
    return diff_models(
        OLD,
        NEW,
        old_side=DiffSide("old.yaml", "configmap", len(OLD), "nim-models-data-0123456789"),
        new_side=DiffSide("new.json", "snapshot", len(NEW)),
    )


def test_classifies_added_removed_changed_unchanged(diff: CatalogDiff) -> None:
    assert diff.added_names == ("fresh",)
    assert diff.removed_names == ("gone",)
    assert tuple(c.name for c in diff.changed) == (
        "eu-flip",
        "everything",
        "moved",
        "renamed",
        "retagged",
    )
    # "same" and "reordered" (tag order only: the canonical order is the same) are unchanged
    assert diff.unchanged == 2
    assert not diff.identical
    assert diff.headline() == "1 added, 1 removed, 5 changed"


def test_each_kind_of_change(diff: CatalogDiff) -> None:
    changes = {c.name: c for c in diff.changed}

    retagged = changes["retagged"]
    assert retagged.tags_added == ("1.1",)
    assert retagged.tags_removed == ("0.9",)
    assert not retagged.latest_tag_moved and not retagged.eu_flipped and not retagged.fields
    assert retagged.kinds == ("tags",)

    moved = changes["moved"]
    assert moved.latest_tag_moved and (moved.old.latestTag, moved.new.latestTag) == ("1.0", "1.1")
    assert moved.tags_added == () and moved.tags_removed == ()
    assert moved.kinds == ("latestTag",)

    flip = changes["eu-flip"]
    assert flip.eu_flipped and flip.old.euRestricted is False and flip.new.euRestricted is True
    assert flip.kinds == ("euRestricted",)

    renamed = changes["renamed"]
    assert [(f.field, f.old, f.new) for f in renamed.fields] == [
        ("displayName", "Old name", "New name"),
        ("shortDescription", "Old | text", "New text [bold]"),
    ]

    everything = changes["everything"]
    assert everything.kinds == (
        "tags",
        "latestTag",
        "euRestricted",
        "namespace",
        "updatedDate",
    )
    assert everything.tags_added == ("2.0", "latest")
    assert everything.tags_removed == ("1.0",)


def test_identical_sets_and_input_kinds() -> None:
    records = (make("a"), make("b"))
    same = diff_models(records, tuple(snap(r) for r in reversed(records)))
    assert same.identical and same.unchanged == 2 and same.headline() == "no model changes"
    assert compare_records(make("a", tags=("latest", "1.0")), make("a")) is None


def test_the_diff_is_frozen(diff: CatalogDiff) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        diff.unchanged = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        diff.changed[0].tags_added = ()  # type: ignore[misc]


def write_sides(tmp_path: Path, records: tuple[ModelRecord, ...]) -> dict[str, Path]:
    """The same records as a snapshot, a ConfigMap file and an output tree."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_bytes(
        snapshot_json(tuple(snap(r) for r in records), api_url="http://x", fetched_at="t")
    )
    configmap = render_configmap(records)
    cm_file = tmp_path / "configmap.yaml"
    cm_file.write_text(configmap.text)
    tree = tmp_path / "tree"
    for relative, content in render_tree(configmap, "kind: Template\n").items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_bytes(content)
    return {"snapshot": snapshot, "configmap": cm_file, "tree": tree}


def test_diff_paths_reads_any_mix(tmp_path: Path) -> None:
    old = write_sides(tmp_path / "old", OLD)
    new = write_sides(tmp_path / "new", NEW)
    results = []
    for old_kind, old_path in old.items():
        for new_kind, new_path in new.items():
            result = diff_paths(old_path, new_path)
            assert (result.old.kind, result.new.kind) == (old_kind, new_kind)
            assert result.old.models == len(OLD) and result.new.models == len(NEW)
            results.append(result)
    # whatever the kinds, the models compare the same
    assert {(r.added, r.removed, r.changed, r.unchanged) for r in results} == {
        (results[0].added, results[0].removed, results[0].changed, results[0].unchanged)
    }
    assert tuple(c.name for c in results[0].changed) == (
        "eu-flip",
        "everything",
        "moved",
        "renamed",
        "retagged",
    )
    tree_side = diff_paths(old["tree"], old["configmap"])
    assert tree_side.identical
    assert tree_side.old.configmap_name is not None
    assert tree_side.old.configmap_name.startswith("nim-models-data-")


def test_diff_paths_refuses_unreadable_input(tmp_path: Path) -> None:
    good = write_sides(tmp_path, (make("a"),))["snapshot"]
    with pytest.raises(BadInput, match="cannot read"):
        diff_paths(tmp_path / "missing.json", good)
    (tmp_path / "junk.yaml").write_text("just: text\n")
    with pytest.raises(BadInput):
        diff_paths(good, tmp_path / "junk.yaml")


def test_json_report(diff: CatalogDiff) -> None:
    text = render_json(diff)
    assert text == render_json(diff) and text.endswith("\n")
    document = json.loads(text)
    assert document["added"] == ["fresh"]
    assert document["removed"] == ["gone"]
    assert [c["name"] for c in document["changed"]] == [c.name for c in diff.changed]
    assert document["counts"] == {"added": 1, "removed": 1, "changed": 5, "unchanged": 2}
    assert document["identical"] is False
    assert document["old"] == {
        "source": "old.yaml",
        "kind": "configmap",
        "models": len(OLD),
        "configMap": "nim-models-data-0123456789",
    }
    by_name = {c["name"]: c for c in document["changed"]}
    assert by_name["retagged"] == {
        "name": "retagged",
        "changes": ["tags"],
        "tagsAdded": ["1.1"],
        "tagsRemoved": ["0.9"],
        "latestTag": None,
        "euRestricted": None,
        "fields": {},
    }
    assert by_name["moved"]["latestTag"] == {"old": "1.0", "new": "1.1"}
    assert by_name["eu-flip"]["euRestricted"] == {"old": False, "new": True}
    assert by_name["renamed"]["fields"] == {
        "displayName": {"old": "Old name", "new": "New name"},
        "shortDescription": {"old": "Old | text", "new": "New text [bold]"},
    }
    assert by_name["everything"]["fields"]["namespace"] == {"old": "nim/old", "new": "nim/new"}


def test_markdown_report(diff: CatalogDiff) -> None:
    text = render_markdown(diff)
    assert text == render_markdown(diff)
    lines = text.splitlines()
    assert lines[0] == "## NIM catalog changes"
    assert "**1 added \u00b7 1 removed \u00b7 5 changed** \u00b7 2 unchanged" in text
    # headline first, then the sections in order
    order = [text.index(h) for h in ("### Added (1)", "### Removed (1)", "### Changed (5)")]
    assert order == sorted(order) and text.index("**1 added") < order[0]
    assert "| `fresh` | Display fresh | `nvcr.io/nim/test/fresh` | `3.0` | 3 | yes |" in lines
    assert "| `gone` | Display gone | `nvcr.io/nim/test/gone` | `2.0` |" in lines
    assert "| `moved` | `1.0` \u2192 `1.1` |  |  | no |  |" in lines
    assert "| `retagged` | `1.0` | `1.1` | `0.9` | no |  |" in lines
    assert "| `eu-flip` | `1.0` |  |  | no \u2192 **yes** |  |" in lines
    assert "#### Metadata changes" in text
    # table-breaking and markup characters are escaped
    assert "  - shortDescription: Old \\| text \u2192 New text \\[bold\\]" in lines
    assert "`nim-models-data-0123456789`" in text
    # every table row has the header's column count
    for line in lines:
        if line.startswith("| `"):
            cells = line.replace("\\|", "").count("|")
            assert cells in (4, 5, 7), line


def test_markdown_puts_eu_flag_changes_first(diff: CatalogDiff) -> None:
    """QE reads the EU flips before anything else: their own section, ahead of Added."""
    text = render_markdown(diff)
    lines = text.splitlines()
    sections = [line for line in lines if line.startswith("### ")]
    assert sections == [
        "### EU restrictions (3)",
        "### Added (1)",
        "### Removed (1)",
        "### Changed (5)",
    ]
    assert text.index("- after:") < text.index("### EU restrictions (3)")
    eu = lines[lines.index("### EU restrictions (3)") :]
    eu = eu[: eu.index("### Added (1)")]
    assert "3 now EU-restricted \u00b7 0 no longer EU-restricted" in eu
    # flips and new restricted models, by name; unflipped models are not listed
    assert [row for row in eu if row.startswith("| `")] == [
        "| `eu-flip` | no | **yes** |",
        "| `everything` | no | **yes** |",
        "| `fresh` | new model | **yes** |",
    ]


def test_markdown_eu_section_lifted_and_absent() -> None:
    lifted = diff_models((make("a", euRestricted=True), make("b")), (make("a"), make("b")))
    text = render_markdown(lifted)
    assert "### EU restrictions (1)" in text
    assert "0 now EU-restricted \u00b7 1 no longer EU-restricted" in text
    assert "| `a` | yes | **no** |" in text.splitlines()
    assert text.index("### EU restrictions") < text.index("### Changed (1)")
    # no flip and no restricted newcomer: no EU section at all
    quiet = diff_models((make("a"),), (make("a", displayName="Renamed"), make("c")))
    assert "EU restrictions" not in render_markdown(quiet)


def test_markdown_when_identical() -> None:
    same = diff_models((make("a"),), (make("a"),))
    text = render_markdown(same)
    assert "**No changes**: both sides ship the same 1 models." in text
    assert "###" not in text


def test_table_report(diff: CatalogDiff) -> None:
    text = render_table(diff)
    assert text == render_table(diff)
    assert "\x1b[" not in text
    assert text.splitlines()[0] == "nimgen diff: 1 added, 1 removed, 5 changed"
    for name in ("fresh", "gone", "retagged", "moved", "eu-flip", "renamed", "everything"):
        assert name in text
    # rich markup in a value is printed literally, not interpreted
    assert "[bold]" in text


def test_markdown_warns_when_many_models_are_removed() -> None:
    old = [make(f"m{i}") for i in range(10)]
    heavy = diff_models(old, old[:7])  # 30 % removed
    assert "**Warning: 3 of 10 models (30%) removed.**" in render_markdown(heavy)
    light = diff_models(old, old[:9])  # 10 %
    assert "Warning" not in render_markdown(light)


def test_markdown_from_outside_stays_text() -> None:
    """What reaches the PR from outside stays text: a backtick run cannot end its code span,
    @org/team pings nobody, and control and bidi characters are shown as escapes."""
    hostile = make("m", displayName="cc @org/team &#64;me\r\n::warning::x \x1b[31m\u202e")
    side = DiffSide("tree``with`ticks", "tree", 0, "`cm")
    text = render_markdown(diff_models((), (hostile,), old_side=side))
    assert "- before: ``` tree``with`ticks ``` (tree, ConfigMap `` `cm ``, 0 models)" in text
    row = next(line for line in text.splitlines() if line.startswith("| `m`"))
    assert r"| cc @&#8203;org/team \&\#64;me\\r\\n::warning::x \\x1b\[31m\\u202e |" in row
    assert not any(c in text for c in "\x1b\r\u202e")
    assert "@org" not in text.replace("@&#8203;org", "")
