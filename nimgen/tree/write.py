"""Writing results: whole tree or nothing, whole file or nothing. A tree is written beside
the target and swapped in with one ``renameat2(RENAME_EXCHANGE)`` (two renames where the
system cannot), so a reader sees the old tree or the new one, and a failed run leaves the
old one. What a run killed outright leaves, the next one removes and names."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

from nimgen.errors import BadInput, RunFailed
from nimgen.tempnames import lock_temp, remove_leftovers, temp_prefix

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

# Temporary paths this process made and has not removed yet, each with the descriptor
# holding its flock (closing it frees the lock): ``cleanup_temps()`` (called by the CLI
# on its way out, also after a signal) removes whatever is left.
_LIVE_TEMPS: dict[Path, int | None] = {}
_DEFERRED_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _track(path: Path) -> None:
    """Record a new temporary path and hold its flock while this process lives."""
    _LIVE_TEMPS[path] = lock_temp(path)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM around what must not be cut in half (making and recording
    a temporary path, the swap); a signal arriving meanwhile is delivered right after."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def cleanup_temps() -> None:
    """Remove every temporary path this process still holds (safe to call repeatedly)."""
    for path in sorted(_LIVE_TEMPS, reverse=True):
        _remove_temp(path)


def _forget(path: Path) -> None:
    fd = _LIVE_TEMPS.pop(path, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def output_path(target: Path) -> Path:
    """``target`` with its parent resolved as the kernel would (no ``newdir`` is made for
    ``newdir/../out``); ``..`` is refused: no rename replaces a directory named by its child."""
    if target.name == "..":
        raise BadInput(f"--output {target}: ends in '..'; give the directory by its own name")
    return Path(os.path.realpath(target.parent)) / target.name


def check_writable_parent(target: Path, what: str = "--output") -> None:
    """Refuse, before any work, a target whose directory cannot be written (a file, a
    read-only file system, permissions) by making a temporary directory there."""
    existing = target.parent  # the nearest path that exists
    while not (existing.exists() or existing.is_symlink()) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BadInput(f"{what} {target}: {existing} is a file, not a directory")
    try:
        probe = _new_temp(existing)
        probe.rmdir()
        _forget(probe)
    except OSError as exc:
        raise BadInput(
            f"{what} {target}: cannot write to {existing}: {exc.strerror or exc}"
        ) from None


def check_output_file(target: Path) -> None:
    """Refuse a file target that is a directory or cannot be written."""
    target = output_path(target)
    if target.is_dir():
        raise BadInput(f"--output {target} is a directory; give a file name")
    check_writable_parent(target)


def check_output_dir(target: Path, owned: Collection[str], *, writable: bool = True) -> None:
    """Refuse a target that is a file, holds files nimgen did not write, or (``writable``:
    not for a run that only compares) whose parent cannot be written."""
    target = output_path(target)
    if target.is_symlink():
        raise BadInput(f"--output {target} is a symbolic link; give the directory itself")
    if target.exists() and not target.is_dir():
        raise BadInput(f"--output {target} is a file, not a directory")
    if writable and target.is_dir() and os.path.ismount(target):
        raise BadInput(
            f"--output {target} is a mount point, which nimgen cannot replace as a whole; "
            "give a directory inside it"
        )
    foreign = _foreign_entries(target, owned) if target.exists() else []
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise BadInput(
            f"--output {target} holds files nimgen did not write ({shown}); "
            "refusing to replace it: move them away or choose another directory"
        )
    if writable:
        check_writable_parent(target)


def _foreign_entries(target: Path, owned: Collection[str], enough: int = 6) -> list[str]:
    """Entries of ``target`` nimgen did not write, sorted; stops after ``enough``. A foreign
    directory is not descended into: ``-o $HOME`` is refused at once, not after a walk."""
    foreign: list[str] = []
    for root, dirs, files in os.walk(target):
        base = Path(root).relative_to(target).as_posix()
        prefix = "" if base == "." else base + "/"
        descend = []
        for name in sorted(dirs):
            relative = prefix + name
            if Path(root, name).is_symlink():
                if relative not in owned:
                    foreign.append(relative)
            elif any(path.startswith(relative + "/") for path in owned):
                descend.append(name)
            else:
                foreign.append(relative + "/")
        dirs[:] = descend
        foreign.extend(prefix + name for name in sorted(files) if prefix + name not in owned)
        if len(foreign) >= enough:
            break
    return sorted(foreign)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(staging: Path, target: Path) -> bool:
    """Atomically swap two paths with ``renameat2(RENAME_EXCHANGE)``; False where the C
    library has no such call or the file system cannot."""
    import ctypes  # only when a tree is swapped

    try:  # the symbols the process has loaded: the C library's among them
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at, name = ctypes.c_int, ctypes.c_char_p
    renameat2.argtypes = [at, name, at, name, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    paths = (_AT_FDCWD, os.fsencode(staging), _AT_FDCWD, os.fsencode(target))
    if renameat2(*paths, _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(target))


def _new_temp(directory: Path, *, file: bool = False) -> Path:
    """A new temporary directory (or empty file) in ``directory``, recorded and locked
    before a signal can cut in."""
    with signals_deferred():
        if file:
            fd, name = tempfile.mkstemp(prefix=temp_prefix(), dir=directory)
            os.close(fd)
            path = Path(name)
        else:
            path = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=directory))
        _track(path)
    return path


def _make_temp_dir(target: Path, *, file: bool = False) -> Path:
    """A temporary path beside ``target``, after removing what killed runs left there."""
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(parent, _LIVE_TEMPS)
        return _new_temp(parent, file=file)
    except OSError as exc:
        raise BadInput(f"cannot write to {parent}: {exc.strerror or exc}") from None


def _write(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _failing_run(target: Path, temp: Path | None = None) -> Iterator[None]:
    """An OSError inside fails the run (exit 1); any exception removes ``temp``."""
    try:
        yield
    except BaseException as exc:
        if temp is not None:
            _remove_temp(temp)
        if isinstance(exc, OSError):
            raise RunFailed(f"could not write {target}: {exc.strerror or exc}") from None
        raise


def _remove_temp(path: Path) -> None:
    with signals_deferred():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        _forget(path)


def write_tree(
    target: Path, files: Mapping[str, bytes], *, owned: Collection[str], result: bool = False
) -> None:
    """Replace ``target`` with exactly ``files`` (relative path -> bytes), atomically; a
    command's ``result`` waits for its report (``swaps_after_report``)."""
    target = output_path(target)
    check_output_dir(target, owned)
    staging = _make_temp_dir(target)
    with _failing_run(target, staging):
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, content)
        for directory in sorted({(staging / r).parent for r in files}, reverse=True):
            _fsync_dir(directory)
        staging.chmod(0o755)

    def swap() -> None:
        left = staging
        try:
            with _failing_run(target), signals_deferred():
                left = _swap_in(staging, target)  # the previous tree now, or Path()
            _fsync_dir(target.parent)
        finally:
            if left != Path():
                _remove_temp(left)

    _swap_or_wait(swap, staging, result)


def _swap_in(staging: Path, target: Path) -> Path:
    """Put ``staging`` at ``target``; return the path now holding the old tree, or Path()."""
    if not target.exists():
        staging.rename(target)
        _forget(staging)
        return Path()
    if _exchange(staging, target):
        return staging  # now holds the previous tree
    old = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=target.parent))
    old.rmdir()
    target.rename(old)
    _track(old)
    try:
        staging.rename(target)
    except OSError:
        old.rename(target)
        _forget(old)
        raise
    _forget(staging)
    return old


def write_file(target: Path, content: bytes, *, result: bool = False, mode: int = 0o644) -> None:
    """Replace one file atomically (temp file in the same directory + rename); the temp file
    has ``mode`` before it gets the target's name. A command's ``result`` waits for its
    report (``swaps_after_report``)."""
    target = output_path(target)
    if target.is_dir():
        raise BadInput(f"{target} is a directory, not a file")
    temp = _make_temp_dir(target, file=True)
    with _failing_run(target, temp):
        _write(temp, content)
        temp.chmod(mode)

    def swap() -> None:
        with _failing_run(target, temp), signals_deferred():
            temp.replace(target)
            _forget(temp)
        _fsync_dir(target.parent)

    _swap_or_wait(swap, temp, result)


# A command's result waits until it is reported (``report.run``): a run that cannot report
# it (stdout closed or full) fails with the previous output as it was. Other writes (a
# backup made before a change to a cluster) happen at once.
_WAITING: list[tuple[Callable[[], None], Path]] | None = None


def _swap_or_wait(swap: Callable[[], None], staged: Path, result: bool) -> None:
    if _WAITING is None or not result:
        swap()
    else:
        _WAITING.append((swap, staged))


@contextlib.contextmanager
def swaps_after_report() -> Iterator[Callable[[], None]]:
    """Hold the result writes inside; the function yielded puts them in place and, if there
    were any, holds SIGINT and SIGTERM for good (cli.main says one arrived). What is still
    held on leaving is removed."""
    global _WAITING
    outer, _WAITING = _WAITING, []
    waiting = _WAITING

    def put_in_place() -> None:
        if waiting:
            signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
        while waiting:
            swap, _ = waiting.pop(0)
            swap()

    try:
        yield put_in_place
    finally:
        _WAITING = outer
        for _, staged in waiting:
            _remove_temp(staged)
