"""Names and locks of nimgen's temporary paths, and removal of those a killed run left.

Each is named ``.nimgen-tmp-<pid>-<host>-<random>`` and flocked while its run lives; the
next run removes those of the same user whose pid is gone and whose lock nobody holds
(which covers pid reuse, containers where every run is pid 1, and shared file systems).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import sys
from collections.abc import Callable, Collection
from pathlib import Path

TEMP_PREFIX = ".nimgen-tmp-"
_OWNED_TEMP = re.compile(rf"{re.escape(TEMP_PREFIX)}(?P<pid>[0-9]+)-(?P<host>[0-9a-f]{{8}})-")
_SHOWN = 3


def _warn_on_stderr(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


# How the removal is reported: a ``warning:`` line on stderr, as the Console writes
# them (``report.run.run_command`` points this at the command's Console's ``warn``).
notice: Callable[[str], None] = _warn_on_stderr


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def temp_prefix() -> str:
    return f"{TEMP_PREFIX}{os.getpid()}-{_host_tag()}-"


def lock_temp(path: Path) -> int | None:
    """Hold an exclusive flock on a new temporary path; the descriptor to close when
    the path is gone (None where the file system cannot lock)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def _is_leftover(entry: os.DirEntry[str], live: Collection[Path]) -> bool:
    owner = _OWNED_TEMP.match(entry.name)
    if owner is None or Path(entry.path) in live:
        return False
    try:
        if entry.stat(follow_symlinks=False).st_uid != os.getuid():
            return False
        pid = int(owner["pid"])
        if owner["host"] == _host_tag() and pid != os.getpid() and _pid_alive(pid):
            return False
        fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except (OSError, ValueError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live run holds it, wherever it runs
    finally:
        os.close(fd)
    return True


def remove_leftovers(directory: Path, live: Collection[Path] = ()) -> tuple[str, ...]:
    """Remove what killed nimgen runs left in ``directory`` (never a path in ``live``,
    this process's own); report it through ``notice``; return the names removed."""
    try:
        with os.scandir(directory) as scan:
            entries = [e for e in scan if _is_leftover(e, live)]
    except OSError:
        return ()
    removed: list[str] = []
    for entry in sorted(entries, key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        if not (path.exists() or path.is_symlink()):
            removed.append(entry.name)
    if removed:
        shown = ", ".join(removed[:_SHOWN])
        more = f" and {len(removed) - _SHOWN} more" if len(removed) > _SHOWN else ""
        notice(
            f"removed {len(removed)} temporary path(s) an interrupted nimgen run left "
            f"in {directory}: {shown}{more}"
        )
    return tuple(removed)
