"""Reading the files a user names: regular files only, and never more than a cap.

A FIFO or a device would block a plain ``read`` forever (or never end), so the file is
opened without blocking, checked with ``fstat`` and read up to its cap plus one byte.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from nimgen.errors import BadInput

KIB = 1024
MIB = 1024 * KIB

# etcd stores at most 1 MiB per object; YAML adds indentation and comments, and
# ``kubectl kustomize`` output holds a few small objects beside the ConfigMap. A
# YAML file over twice the object limit cannot be one ConfigMap the API server takes.
YAML_MAX_BYTES = 2 * MIB
# A snapshot or EU probe file: room for a catalog a hundred times today's, while the
# worst JSON of this size still parses cheaply.
JSON_MAX_BYTES = 16 * MIB
# One model name (at most 253 characters) a line: thousands of names.
MODELS_FILE_MAX_BYTES = 1 * MIB
# A personal key is about 70 characters.
KEY_FILE_MAX_BYTES = 4 * KIB

_CHUNK = 1 * MIB


class UnreadableFile(BadInput):
    """A file refused: ``reason`` says why, without the path; ``os_error``: the system could
    not read it (missing, no permission), rather than nimgen refusing it."""

    def __init__(self, message: str, reason: str, *, os_error: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.os_error = os_error


def _size_text(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size:,} bytes"


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode):
        return "is a character device, not a regular file"
    if stat.S_ISBLK(mode):
        return "is a block device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _too_large(size: int | None, max_bytes: int) -> str:
    """``size`` None: the file grew past the cap while being read (or is a pipe)."""
    limit = f"the {_size_text(max_bytes)} nimgen reads here"
    return f"is {size:,} bytes, over {limit}" if size is not None else f"is over {limit}"


def _refuse(what: str, path: Path | str, reason: str, *, os_error: bool = False) -> UnreadableFile:
    named = f"{what} {path}" if what else str(path)
    return UnreadableFile(f"cannot read {named}: {reason}", reason, os_error=os_error)


def read_regular_file(path: Path, *, what: str = "", max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path`` (``UnreadableFile`` otherwise, or over
    ``max_bytes``); ``what`` names it: ``cannot read the EU list PATH: REASON``."""
    try:
        # stat first, so a device is refused without even opening it.
        reason = _not_regular(path.stat().st_mode)
        if reason is not None:
            raise _refuse(what, path, reason)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refuse(what, path, exc.strerror or str(exc), os_error=True) from None
    try:
        # fstat again: the path may have been swapped for a FIFO since the stat.
        info = os.fstat(fd)
        reason = _not_regular(info.st_mode)
        if reason is not None:
            raise _refuse(what, path, reason)
        if info.st_size > max_bytes:
            raise _refuse(what, path, _too_large(info.st_size, max_bytes))
        return _read_at_most(fd, max_bytes, what, path)
    except OSError as exc:
        raise _refuse(what, path, exc.strerror or str(exc), os_error=True) from None
    finally:
        os.close(fd)


def read_stdin(*, max_bytes: int) -> bytes:
    """Standard input (``-``), at most ``max_bytes`` of it (a pipe is fine here)."""
    try:
        data = sys.stdin.buffer.read(max_bytes + 1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _refuse("", "standard input", reason, os_error=True) from None
    if len(data) > max_bytes:
        raise _refuse("", "standard input", _too_large(None, max_bytes))
    return data


def _read_at_most(fd: int, max_bytes: int, what: str, path: Path | str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:  # grew since fstat, or a pipe on stdin
        raise _refuse(what, path, _too_large(None, max_bytes))
    return b"".join(chunks)


def decode_utf8(raw: bytes, *, label: str) -> str:
    """``raw`` as UTF-8 text without a leading byte-order mark; ``label: not UTF-8 text``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{label}: not UTF-8 text (byte {exc.start})", f"not UTF-8 text (byte {exc.start})"
        ) from None
    return text.removeprefix("\ufeff")
