"""``generate --check``: how a rendered result compares with the tree in ``--output``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nimgen.catalog import SnapshotModel
from nimgen.errors import NimgenError
from nimgen.tree.diff import CatalogDiff, DiffSide, diff_models


def tree_differences(output: Path, files: dict[str, bytes]) -> tuple[str, ...]:
    """The files of ``output`` that a write of ``files`` would change, add or remove. Each is
    read as a regular file of at most the new size: a FIFO, device or larger file differs."""
    from nimgen.files import UnreadableFile, read_regular_file
    from nimgen.tree.layout import TREE_FILES

    differing: list[str] = []
    for relative, content in files.items():
        try:
            current = read_regular_file(output / relative, max_bytes=len(content))
        except UnreadableFile:  # missing, not a regular file, or larger than ours
            differing.append(relative)
            continue
        if current != content:
            differing.append(relative)
    differing.extend(r for r in TREE_FILES - files.keys() if (output / r).is_file())
    return tuple(sorted(differing))


@dataclass(frozen=True)
class CheckResult:
    """``--check``: how the rendered result compares with the tree in ``--output``."""

    output: Path
    tree_exists: bool
    files: tuple[str, ...]  # files that differ, are missing, or would be removed
    diff: CatalogDiff | None  # None when the tree's ConfigMap could not be read
    unreadable: str | None = None

    @property
    def identical(self) -> bool:
        return self.tree_exists and not self.files


def check_tree(
    output: Path, files: dict[str, bytes], models: tuple[SnapshotModel, ...]
) -> CheckResult:
    """Compare the rendered ``files`` byte for byte with ``output``; reads, never writes."""
    from nimgen.snapshot import load_models

    new_side = DiffSide("this run", "live", len(models))
    if not output.is_dir():
        missing = DiffSide(str(output), "missing", 0)
        diff = diff_models((), models, old_side=missing, new_side=new_side)
        return CheckResult(output, False, tuple(sorted(files)), diff)
    differing = tree_differences(output, files)
    try:
        loaded = load_models(output)
    except NimgenError as exc:
        return CheckResult(output, True, differing, None, exc.message)
    old_side = DiffSide(str(output), "tree", len(loaded.models), loaded.configmap_name)
    diff = diff_models(loaded.models, models, old_side=old_side, new_side=new_side)
    return CheckResult(output, True, differing, diff)
