"""Writing results: whole tree or nothing, whole file or nothing.

A tree is rendered into a temporary directory beside the target and then
swapped in with one ``renameat2(RENAME_EXCHANGE)`` where Linux offers it (two
renames elsewhere), so a reader sees the old tree or the new one, never a mix,
and a failed or interrupted run leaves the old tree byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

from nimgen.errors import BadInput, RunFailed

TEMP_PREFIX = ".nimgen-tmp-"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_output_dir(target: Path, owned: Collection[str]) -> None:
    """Refuse a target that is a file, or a directory holding files nimgen did not write."""
    if target.is_symlink():
        raise BadInput(f"--output {target} is a symbolic link; give the directory itself")
    if target.exists() and not target.is_dir():
        raise BadInput(f"--output {target} is a file, not a directory")
    if not target.exists():
        return
    foreign: list[str] = []
    for path in sorted(target.rglob("*")):
        relative = path.relative_to(target).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(name.startswith(relative + "/") for name in owned):
                foreign.append(relative + "/")
        elif relative not in owned:
            foreign.append(relative)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise BadInput(
            f"--output {target} holds files nimgen did not write ({shown}); "
            "refusing to replace it: move them away or choose another directory"
        )


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _make_temp_dir(target: Path) -> Path:
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=parent))
    except OSError as exc:
        raise BadInput(f"cannot write to {parent}: {exc.strerror or exc}") from None


def write_tree(target: Path, files: Mapping[str, bytes], *, owned: Collection[str]) -> None:
    """Replace ``target`` with exactly ``files`` (relative path -> bytes), atomically."""
    target = target.absolute()
    check_output_dir(target, owned)
    staging = _make_temp_dir(target)
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        for directory in sorted({(staging / r).parent for r in files}, reverse=True):
            _fsync_dir(directory)
        staging.chmod(0o755)
        if target.exists():
            if _exchange(staging, target):
                # staging now holds the previous tree.
                _fsync_dir(target.parent)
                return
            old = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=target.parent))
            old.rmdir()
            target.rename(old)
            try:
                staging.rename(target)
            except OSError:
                old.rename(target)
                raise
            staging = old
        else:
            staging.rename(target)
            staging = Path()
        _fsync_dir(target.parent)
    except OSError as exc:
        raise RunFailed(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        if staging != Path() and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_file(target: Path, content: bytes) -> None:
    """Replace one file atomically (temp file in the same directory + rename)."""
    target = target.absolute()
    if target.is_dir():
        raise BadInput(f"{target} is a directory, not a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
    except OSError as exc:
        raise BadInput(f"cannot write to {target.parent}: {exc.strerror or exc}") from None
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(0o644)
        temp.replace(target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise RunFailed(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        if temp.exists():
            temp.unlink()
