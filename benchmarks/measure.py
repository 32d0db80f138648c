"""Run one child process and measure it: wall time, CPU time, peak RSS, exit code.

CPU time is the child's own user + system time and peak RSS its own ``ru_maxrss``, both
from ``os.wait4``, so nothing else on the machine (the emulator, other processes) is
counted in them; wall time is taken around the child. A loaded machine still slows
every figure, CPU time included (shared caches), if less than wall time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Measure:
    """One child process: how long, how much CPU and memory, how it ended."""

    wall: float
    cpu: float  # user + system seconds
    rss_mib: float
    exit_code: int
    started: float  # time.monotonic() at spawn (the emulator's clock)
    ended: float
    stdout: str = ""
    stderr: str = ""


def run_child(argv: Sequence[str], env: dict[str, str], cwd: Path) -> Measure:
    """Run ``argv`` to completion and measure it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(
            list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd
        )
        _, status, usage = os.wait4(child.pid, 0)
        ended = time.monotonic()
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measure(
            wall=ended - started,
            cpu=usage.ru_utime + usage.ru_stime,
            rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
            exit_code=child.returncode,
            started=started,
            ended=ended,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def checked(measure: Measure, argv: Sequence[str]) -> Measure:
    if measure.exit_code != 0:
        raise SystemExit(
            f"benchmarks: {' '.join(argv)} exited {measure.exit_code}:\n{measure.stderr}"
        )
    return measure


def median_of(runs: Sequence[Measure]) -> Measure:
    """The run of median wall time, with the median CPU time and the most memory of any."""
    by_wall = sorted(runs, key=lambda m: m.wall)
    middle = by_wall[(len(by_wall) - 1) // 2]
    return replace(
        middle,
        cpu=statistics.median(m.cpu for m in runs),
        rss_mib=max(m.rss_mib for m in runs),
    )


def median_run(argv: Sequence[str], env: dict[str, str], cwd: Path, repeat: int) -> Measure:
    return median_of([checked(run_child(argv, env, cwd), argv) for _ in range(repeat)])


def precompile(nimgen: str) -> None:
    """Compile the nimgen package that the console script ``nimgen`` runs, as pip does when
    it installs a wheel: an editable install (or PYTHONDONTWRITEBYTECODE) would otherwise
    pay for compiling every module on every run, which no installed nimgen does."""
    beside = Path(nimgen).with_name("python")
    shebang = Path(nimgen).read_text(encoding="utf-8").splitlines()[0].removeprefix("#!").strip()
    python = str(beside) if beside.exists() else shebang
    find = "import nimgen, os; print(os.path.dirname(nimgen.__file__))"
    package = subprocess.run(
        [python, "-c", find], capture_output=True, text=True, check=True, cwd=tempfile.gettempdir()
    ).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", package], check=True)
