"""Ctrl-C and SIGTERM mid-run: the previous output is left byte for byte, no temporary file
stays behind, and the exit code says which signal it was (130 / 143).

Two moments matter: while models are being fetched (the common case: a slow catalog), and
while the new tree or snapshot is being written. The second is hit on purpose by running
the same entry point (``nimgen.cli.main``) with a slow ``os.fsync``, a slow disk, and
signalling as soon as the temporary directory appears.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nimgen.tempnames import TEMP_PREFIX
from tests.support.fault_kit import Nimgen, base_env, temp_leftovers
from tests.support.ngc_emulator import EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import tree_bytes
from tests.support.waiting import wait_until

SIGNALS = [
    pytest.param(signal.SIGINT, 130, "SIGINT", id="SIGINT-130"),
    pytest.param(signal.SIGTERM, 143, "SIGTERM", id="SIGTERM-143"),
]

# The real CLI entry point on a slow disk: every fsync takes 0.3 s.
SLOW_DISK = """
import os, sys, time
_fsync = os.fsync
def _slow_fsync(fd):
    time.sleep(0.3)
    _fsync(fd)
os.fsync = _slow_fsync
from nimgen.cli import main
main(sys.argv[1:])
"""


def _previous_tree(root: Path, clean_run: dict[str, Any]) -> dict[str, bytes]:
    """Lay down the output of an earlier run (all 186 models) at ``root``."""
    for relative, content in clean_run["tree"].items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return tree_bytes(root)


def _finish(proc: subprocess.Popen[str], signum: int) -> tuple[str, str, float]:
    proc.send_signal(signum)
    sent = time.monotonic()
    try:
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
    return stdout, stderr, time.monotonic() - sent


def _check_interrupted(
    proc: subprocess.Popen[str], stdout: str, stderr: str, code: int, name: str
) -> None:
    assert proc.returncode == code, stderr
    assert f"interrupted by {name}; previous output left untouched" in stderr
    assert "Traceback" not in stderr
    if stdout.strip():
        document = json.loads(stdout)
        assert document["ok"] is False and document["exitCode"] == code


@pytest.mark.parametrize(("signum", "code", "name"), SIGNALS)
def test_signal_while_fetching_leaves_previous_output(
    ngc_models: list[EmulatedModel],
    fixtures_dir: Path,
    nimgen: Nimgen,
    tmp_path: Path,
    clean_run: dict[str, Any],
    signum: int,
    code: int,
    name: str,
) -> None:
    out = tmp_path / "out"
    before = _previous_tree(out, clean_run)
    with NgcEmulator(ngc_models, fixtures_dir=fixtures_dir, latency_by_kind={"model": 0.2}) as emu:
        proc = nimgen.popen(nimgen.generate_args(emu, out, "--concurrency", "4"))
        wait_until(lambda: emu.count("model") >= 8)
        stdout, stderr, took = _finish(proc, signum)
    _check_interrupted(proc, stdout, stderr, code, name)
    assert took < 5  # prompt: in-flight requests are abandoned, not awaited
    assert tree_bytes(out) == before
    assert temp_leftovers(tmp_path) == []


@pytest.mark.parametrize(("signum", "code", "name"), SIGNALS)
def test_signal_while_writing_the_tree_leaves_previous_output(
    ngc_models: list[EmulatedModel],
    fixtures_dir: Path,
    nimgen: Nimgen,
    tmp_path: Path,
    clean_run: dict[str, Any],
    signum: int,
    code: int,
    name: str,
) -> None:
    out = tmp_path / "out"
    before = _previous_tree(out, clean_run)
    # Fewer models than the previous run: the new tree would differ from the old one.
    with NgcEmulator(ngc_models[:40], fixtures_dir=fixtures_dir) as emu:
        proc = subprocess.Popen(
            [sys.executable, "-c", SLOW_DISK, *nimgen.generate_args(emu, out), "--no-eu"],
            env=base_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        # The staging directory with its first file (not the early writability probe).
        wait_until(lambda: any(tmp_path.glob(f"{TEMP_PREFIX}*/base/*")), timeout=30, step=0.005)
        stdout, stderr, _ = _finish(proc, signum)
    _check_interrupted(proc, stdout, stderr, code, name)
    assert tree_bytes(out) == before
    assert temp_leftovers(tmp_path) == []


def test_sigterm_while_writing_a_snapshot_leaves_the_previous_one(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    snapshot.write_text('{"previous": true}\n')
    with NgcEmulator(ngc_models[:20], fixtures_dir=fixtures_dir) as emu:
        args = ["fetch", "--ngc-api-url", emu.url, "--output", str(snapshot), "--json"]
        proc = subprocess.Popen(
            [sys.executable, "-c", SLOW_DISK, *args],
            env=base_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        # The temporary snapshot file (not the early writability probe, a directory).
        wait_until(
            lambda: any(p.is_file() for p in tmp_path.glob(f"{TEMP_PREFIX}*")),
            timeout=30,
            step=0.005,
        )
        stdout, stderr, _ = _finish(proc, signal.SIGTERM)
    _check_interrupted(proc, stdout, stderr, 143, "SIGTERM")
    assert snapshot.read_text() == '{"previous": true}\n'
    assert temp_leftovers(tmp_path) == []
