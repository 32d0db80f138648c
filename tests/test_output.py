import os
from pathlib import Path

import pytest

from nimgen.errors import BadInput
from nimgen.output import TEMP_PREFIX, write_file, write_tree

OWNED = frozenset({"a.yaml", "sub/b.yaml"})


def snapshot_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_new_tree_and_replacement(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_tree(target, {"a.yaml": b"1", "sub/b.yaml": b"2"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"1", "sub/b.yaml": b"2"}
    write_tree(target, {"a.yaml": b"3"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"3"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_foreign_files_refused_and_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out"
    write_tree(target, {"a.yaml": b"1"}, owned=OWNED)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(BadInput, match=r"notes\.txt"):
        write_tree(target, {"a.yaml": b"2"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"1", "notes.txt": b"mine"}


def test_target_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(BadInput, match="is a file"):
        write_tree(target, {"a.yaml": b"1"}, owned=OWNED)
    assert target.read_text() == "x"


def test_failure_midway_leaves_previous_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out"
    write_tree(target, {"a.yaml": b"1", "sub/b.yaml": b"2"}, owned=OWNED)
    real_fsync = os.fsync
    calls = {"n": 0}

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(Exception, match="No space left"):
        write_tree(target, {"a.yaml": b"new", "sub/b.yaml": b"new"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"1", "sub/b.yaml": b"2"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_write_file_atomic(tmp_path: Path) -> None:
    path = tmp_path / "d" / "snap.json"
    write_file(path, b"one")
    write_file(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in path.parent.iterdir()] == ["snap.json"]
    with pytest.raises(BadInput, match="is a directory"):
        write_file(tmp_path, b"x")
