"""``nimgen.commands.tree``: the guards before a tree is written, and the loss count."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nimgen.catalog import CatalogFacts, SnapshotModel
from nimgen.commands.tree import build_tree, check_not_empty, model_loss, previous_names
from nimgen.errors import RunFailed
from nimgen.report.console import Console
from tests.support.model_records import make_record


def models(*names: str) -> tuple[SnapshotModel, ...]:
    return tuple(
        SnapshotModel(record=make_record(n), catalog=CatalogFacts(resourceId=f"nim/test/{n}"))
        for n in names
    )


def test_no_model_is_a_failure_unless_allowed() -> None:
    with pytest.raises(RunFailed, match="found no model to ship, so the tree was not written"):
        check_not_empty((), allow_empty=False, what="the tree")
    check_not_empty((), allow_empty=True, what="the tree")
    check_not_empty(models("a"), allow_empty=False, what="the tree")


def test_loss_is_counted_and_warned_over_the_threshold(tmp_path: Path) -> None:
    console = Console(quiet=True, stderr=io.StringIO())
    loss = model_loss(tmp_path, ("a", "b", "c", "d"), models("a", "b", "c"), 20, console)
    assert loss is not None and loss.lost == ("d",) and loss.share == 0.25 and loss.exceeded
    assert console.warnings and "drops 1 of the 4 models" in console.warnings[0]
    calm = Console(quiet=True, stderr=console.stderr)
    assert not model_loss(tmp_path, ("a", "b"), models("a", "b", "x"), 20, calm).lost  # type: ignore[union-attr]
    assert calm.warnings == []
    assert model_loss(None, ("a",), models(), 20, calm) is None


def test_previous_names_of_a_tree_or_nothing(tmp_path: Path) -> None:
    from nimgen.tree.layout import TREE_FILES
    from nimgen.tree.write import write_tree

    _, files = build_tree(models("b", "a"), versioned=True, eu_source="none")
    write_tree(tmp_path / "tree", files, owned=TREE_FILES)
    assert previous_names(tmp_path / "tree") == ("a", "b")
    assert previous_names(tmp_path / "missing") is None
    (tmp_path / "junk.yaml").write_text("kind: [\n")
    assert previous_names(tmp_path / "junk.yaml") is None


def test_the_names_read_from_previous_are_not_read_again(tmp_path: Path) -> None:
    from nimgen.commands.tree import TreeRequest, write_models

    # --previous was read before the run (for reuse): its names serve, the path is not opened.
    gone = tmp_path / "previous.json"
    request = TreeRequest(output=tmp_path / "out", max_loss_percent=20)
    console = Console(quiet=True, stderr=io.StringIO())
    tree = write_models(
        models("a"), "none", request, console, None, previous=gone, previous_read=("a", "b")
    )
    assert tree.loss is not None and tree.loss.lost == ("b",) and tree.loss.previous == str(gone)


def test_a_run_over_its_tree_reads_the_configmap_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    # The loss check after the run takes the names read before it: load_models never runs.
    script = (
        "import sys\n"
        "import nimgen.snapshot as s\n"
        "real = s.load_models\n"
        "def counted(path):\n"
        "    print('load_models', path, file=sys.stderr)\n"
        "    return real(path)\n"
        "s.load_models = counted\n"
        "from nimgen.cli import main\n"
        "main()\n"
    )
    out = tmp_path / "out"
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script, "render", "-o", str(out), "--no-eu", "-q"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert f"load_models {out}" not in done.stderr
