"""The console script's end: exit codes and every byte of output survive, whatever state
stdout is in; a non-zero exit means the previous output is untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.nimgen_runner import clean_env, nimgen_executable, run_nimgen, tree_bytes


def test_exit_codes_and_every_byte_of_output_survive() -> None:
    schema = run_nimgen("schema", "--json-output")
    assert schema.code == 0
    json.loads(schema.stdout)  # complete: flushed before the process ended
    assert run_nimgen("render", "--from", "/nonexistent/snapshot.json").code == 2
    assert run_nimgen("no-such-command").code == 2


def test_a_closed_pipe_takes_the_ordinary_exit() -> None:
    # stdout closed early (``nimgen schema | head -c 1``): Python's own report and status.
    with subprocess.Popen(
        [nimgen_executable(), "schema", "--json-output"],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.read(1)
        child.stdout.close()
        stderr = child.stderr.read()
        code = child.wait(timeout=120)
    assert code != 0 or stderr == b""  # never a silent success with output lost...
    assert b"Traceback" not in stderr


def test_a_closed_stdout_is_no_crash() -> None:
    # Started with descriptor 1 closed (``nimgen schema >&-``): sys.stdout is None.
    done = subprocess.run(
        [nimgen_executable(), "schema"],
        env=clean_env(),
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),
        timeout=120,
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr


def _render(out: Path, *extra: str, **popen: Any) -> subprocess.CompletedProcess[bytes]:
    command = [nimgen_executable(), "render", "--no-eu", "--output", str(out), *extra]
    return subprocess.run(command, env=clean_env(), stderr=subprocess.PIPE, timeout=120, **popen)


def test_json_to_a_full_or_closed_stdout_fails_with_the_previous_tree_untouched(
    tmp_path: Path,
) -> None:
    out = tmp_path / "tree"
    assert _render(out, "--models", "alphafold2", stdout=subprocess.DEVNULL).returncode == 0
    before = tree_bytes(out)
    with Path("/dev/full").open("wb") as full:
        done = _render(out, "--json", stdout=full)
    assert done.returncode == 1, done.stderr
    assert b"cannot write the result to stdout" in done.stderr
    closed = _render(out, "--json", preexec_fn=lambda: os.close(1))
    assert closed.returncode == 1 and b"Traceback" not in closed.stderr
    assert tree_bytes(out) == before  # exit 1: nothing replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tree"]  # no temporary left


_SIGNAL_AFTER_SWAP = """
import contextlib, os, signal, sys
from nimgen.cli import main
from nimgen.tree import write

real = write.swaps_after_report

@contextlib.contextmanager
def then_a_signal():
    with real() as put_in_place:
        def put_then_signal():
            swapped = put_in_place()
            os.kill(os.getpid(), signal.SIGTERM)  # just after the swap
            return swapped
        yield put_then_signal

write.swaps_after_report = then_a_signal
main(sys.argv[1:])
"""


def test_a_signal_once_the_new_tree_is_in_place_ends_nothing(tmp_path: Path) -> None:
    out = tmp_path / "tree"
    argv = ["render", "--no-eu", "--output", str(out), "--models", "alphafold2", "--json"]
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AFTER_SWAP, *argv],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "SIGTERM arrived once the new output was in place" in done.stderr
    assert json.loads(done.stdout)["ok"] is True
    assert "alphafold2" in (out / "base" / "nim-models-data.yaml").read_text()
