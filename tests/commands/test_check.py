"""``generate --check``'s library half: compare a rendered tree with the one on disk."""

from __future__ import annotations

from pathlib import Path

from nimgen.report.summary import check_lines
from nimgen.snapshot import load_models
from nimgen.tree.check import check_tree, tree_differences
from tests.support.nimgen_runner import run_nimgen, tree_bytes


def test_library_helpers(tmp_path: Path) -> None:
    assert run_nimgen("render", "--output", str(tmp_path / "tree"), "--quiet").code == 0
    tree = tmp_path / "tree"
    files = tree_bytes(tree)
    models = load_models(tree).models
    assert tree_differences(tree, files) == ()
    result = check_tree(tree, files, models)
    assert result.identical and result.diff is not None and result.diff.unchanged == 186
    # an owned file the new result no longer has counts as a difference
    fewer = {k: v for k, v in files.items() if not k.startswith("overlays/odh/")}
    assert tree_differences(tree, fewer) == ("overlays/odh/kustomization.yaml",)
    # a tree whose ConfigMap cannot be read: drift, and said why
    (tree / "base" / "nim-models-data.yaml").write_text("kind: [\n")
    broken = check_tree(tree, files, models)
    assert not broken.identical and broken.diff is None and broken.unreadable
    assert any("could not be read" in line for line in check_lines(broken))


def test_a_fifo_or_a_huge_file_in_the_tree_differs_without_blocking(tmp_path: Path) -> None:
    import os

    assert run_nimgen("render", "--output", str(tmp_path / "tree"), "--quiet").code == 0
    tree = tmp_path / "tree"
    files = tree_bytes(tree)
    configmap = tree / "base" / "nim-models-data.yaml"
    configmap.unlink()
    os.mkfifo(configmap)  # nobody writes to it: a plain read would wait forever
    template = tree / "base" / "kustomization.yaml"
    template.write_bytes(files["base/kustomization.yaml"] + b" " * 10_000_000)
    differing = tree_differences(tree, files)
    assert "base/nim-models-data.yaml" in differing
    assert "base/kustomization.yaml" in differing
