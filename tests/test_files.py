"""nimgen.files: the bounded reader every file option goes through."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from nimgen.errors import BadInput
from nimgen.files import UnreadableFile, decode_utf8, read_regular_file


def _within(seconds: float, call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread; fail the test if it does not end in time (a hang)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # returned to the test, which asserts on it
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader blocked"
    return outcome[0]


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, max_bytes=100) == b"x" * 100


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error = _within(10, lambda: read_regular_file(fifo, what="the EU list", max_bytes=10))
    assert isinstance(error, UnreadableFile)
    assert (
        error.message
        == f"cannot read the EU list {fifo}: is a named pipe (FIFO), not a regular file"
    )
    assert error.exit_code == 2


def test_a_fifo_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    error = _within(10, lambda: read_regular_file(link, max_bytes=10))
    assert isinstance(error, UnreadableFile) and "named pipe" in error.reason


@pytest.mark.parametrize(
    ("device", "reason"),
    [("/dev/zero", "is a character device"), ("/dev/null", "is a character device")],
)
def test_devices_are_refused(device: str, reason: str) -> None:
    error = _within(10, lambda: read_regular_file(Path(device), max_bytes=10))
    assert isinstance(error, UnreadableFile) and error.reason.startswith(reason)


def test_a_directory_and_a_socket_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="is a directory, not a file"):
        read_regular_file(tmp_path, max_bytes=10)
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(UnreadableFile, match="is a socket"):
            read_regular_file(path, max_bytes=10)
    finally:
        server.close()


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: no disk used
    with pytest.raises(UnreadableFile) as info:
        read_regular_file(path, what="the models file", max_bytes=1024 * 1024)
    assert info.value.message == (
        f"cannot read the models file {path}: is 67,108,864 bytes, over the 1 MiB nimgen reads here"
    )


def test_the_cap_itself_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "exact"
    path.write_bytes(b"y" * 4096)
    assert len(read_regular_file(path, max_bytes=4096)) == 4096
    with pytest.raises(UnreadableFile, match="over the 4,095 bytes"):
        read_regular_file(path, max_bytes=4095)


def test_missing_and_unreadable_files_name_the_reason(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="No such file or directory"):
        read_regular_file(tmp_path / "missing", max_bytes=10)
    if os.getuid() != 0:  # root reads anything
        locked = tmp_path / "locked"
        locked.write_text("x")
        locked.chmod(0)
        with pytest.raises(BadInput, match="Permission denied"):
            read_regular_file(locked, max_bytes=10)


def test_decoding_drops_a_byte_order_mark_and_names_bad_bytes() -> None:
    assert decode_utf8(b"\xef\xbb\xbfkind: x", label="f") == "kind: x"
    with pytest.raises(UnreadableFile, match=r"f: not UTF-8 text \(byte 1\)"):
        decode_utf8(b"a\xff", label="f")
