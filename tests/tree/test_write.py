import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nimgen.errors import BadInput
from nimgen.tempnames import TEMP_PREFIX, remove_leftovers, temp_prefix
from nimgen.tree.write import write_file, write_tree

OWNED = frozenset({"a.yaml", "sub/b.yaml"})


def snapshot_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("renameat2", [True, False])
def test_a_tree_is_written_and_replaced_with_or_without_renameat2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renameat2: bool
) -> None:
    """One atomic exchange where the C library has it; two renames where it has not."""
    if not renameat2:
        import ctypes

        def no_libc(*args: object, **kwargs: object) -> None:
            raise OSError("no C library here")

        monkeypatch.setattr(ctypes, "CDLL", no_libc)
    target = tmp_path / "out"
    write_tree(target, {"a.yaml": b"1", "sub/b.yaml": b"2"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"1", "sub/b.yaml": b"2"}
    write_tree(target, {"a.yaml": b"3"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"3"}
    write_tree(target, {"a.yaml": b"4", "sub/b.yaml": b"5"}, owned=OWNED)
    assert snapshot_of(target) == {"a.yaml": b"4", "sub/b.yaml": b"5"}
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


def test_a_target_named_dot_dot_is_bad_input_and_leaves_no_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"newdir/\.\.: ends in '\.\.'; give the directory"):
        write_tree(tmp_path / "newdir" / "..", {"a.yaml": b"1"}, owned=OWNED)
    with pytest.raises(BadInput, match=r"ends in '\.\.'"):
        write_file(tmp_path / "newdir" / "..", b"1")
    assert list(tmp_path.iterdir()) == []
    # Through a directory that does not exist: the kernel's path, and still no stray one.
    write_tree(tmp_path / "newdir" / ".." / "out", {"a.yaml": b"1"}, owned=OWNED)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


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


# --- leftovers of killed runs ---------------------------------------------------------------

_REPO = Path(__file__).resolve().parents[2]

_MAKE_TEMPS = """
import os, sys
from pathlib import Path
from nimgen.tree import write as output
directory = Path(sys.argv[1])
staging = output._make_temp_dir(directory / "out")
(staging / "base").mkdir()
(staging / "base" / "half.yaml").write_bytes(b"half")
fd, name = output.tempfile.mkstemp(prefix=output.temp_prefix(), dir=directory)
output._track(Path(name))
print(staging.name, Path(name).name, flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), 9)
sys.stdin.read()  # "live": hold the temporary paths until told to go
"""


def _child(directory: Path, mode: str) -> tuple[subprocess.Popen[str], list[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _MAKE_TEMPS, str(directory), mode],
        cwd=_REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    names = child.stdout.readline().split()
    assert len(names) == 2, names
    return child, names


def test_leftovers_of_a_killed_run_are_removed_by_the_next_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    child, names = _child(tmp_path, "die")
    assert child.wait(30) == -signal.SIGKILL
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    write_tree(tmp_path / "out", {"a.yaml": b"1"}, owned=OWNED)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"warning: removed 2 temporary path(s) an interrupted nimgen run left in {tmp_path}: "
    )
    assert all(name in line for name in names)


def test_a_live_runs_temporary_paths_are_left_alone(tmp_path: Path) -> None:
    child, names = _child(tmp_path, "live")
    try:
        write_tree(tmp_path / "out", {"a.yaml": b"1"}, owned=OWNED)
        write_file(tmp_path / "snap.json", b"{}")
        assert {p.name for p in tmp_path.iterdir()} == {*names, "out", "snap.json"}
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


_HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_locked_path_is_left_alone_even_when_its_pid_is_dead(tmp_path: Path) -> None:
    # As a run on another host of a shared file system would hold it: its pid means
    # nothing here, its lock does.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(gone.stdout)
    prefix = temp_prefix().replace(f"-{os.getpid()}-", f"-{dead_pid}-")
    held = tmp_path / f"{prefix}elsewhere"
    held.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(held)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert remove_leftovers(tmp_path) == ()
        assert held.is_dir()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    assert remove_leftovers(tmp_path) == (held.name,)  # its owner gone, the lock free


def test_paths_not_named_by_a_run_are_never_touched(tmp_path: Path) -> None:
    for name in (f"{TEMP_PREFIX}abc123", f"{TEMP_PREFIX}12-nothex00-x", "notes.txt"):
        (tmp_path / name).mkdir()
    assert remove_leftovers(tmp_path) == ()
    assert len(list(tmp_path.iterdir())) == 3
