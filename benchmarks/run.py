#!/usr/bin/env python3
"""Benchmark nimgen as a user runs it: the installed console script against the NGC emulator.

Scenarios, all measured in one run so that the ratios compare like with like:

* ``live-186``:    186 models, every request answered after 100 ms, default settings;
                   against the same run with ``--concurrency 1``;
* ``live-1000``:   1000 models at 50 ms with ``--concurrency 32``; against
                   ``--concurrency 1`` (a minute of serial requests: ``--quick`` skips it);
* ``render-1000``: ``nimgen render --from`` a 1000-model snapshot that this script first
                   fetches from the emulator; beside ``render-186`` (the built-in sample);
* ``help``:        ``nimgen --help``; ``version``: ``nimgen --version``, the start-up every
                   command pays (interpreter, CLI, command modules) and the base of
                   "beyond start-up";
* ``validate``:    ``nimgen validate`` of the 1000-model ConfigMap, if this nimgen has it.

Wall time is taken around the child process; peak RSS is the child's own
``ru_maxrss`` (``os.wait4``); requests are the emulator's counters (catalog pages,
key checks, per-model calls, most requests in flight at once). For the live
scenarios the emulator's request log also splits the wall time into start-up
(spawn to first request), network (first request to last answer) and the rest
(last answer to exit: rendering, writing, the summary).

    python -m benchmarks.run             # everything, about 1.5 minutes on 2 cores
    python -m benchmarks.run --quick     # without the 1000-model serial baseline
    python -m benchmarks.run --json      # the figures as JSON on stdout
    python -m benchmarks.run --models 500 --latency 0.2 --concurrency 16   # one custom run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, nimgen_executable

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Measure:
    """One child process: how long, how much memory, how it ended."""

    wall: float
    rss_mib: float
    exit_code: int
    started: float  # time.monotonic() at spawn (the emulator's clock)
    ended: float
    stdout: str = ""
    stderr: str = ""


@dataclass
class Row:
    scenario: str
    command: str
    wall_s: float
    peak_rss_mib: float
    requests: dict[str, int] = field(default_factory=dict)
    phases_s: dict[str, float] = field(default_factory=dict)
    baseline_wall_s: float | None = None
    speedup: float | None = None
    beyond_startup_s: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


def run_child(argv: Sequence[str], env: dict[str, str], cwd: Path) -> Measure:
    """Run ``argv`` to completion: wall time and the child's own peak RSS (``wait4``)."""
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
            f"benchmarks/run.py: {' '.join(argv)} exited {measure.exit_code}:\n{measure.stderr}"
        )
    return measure


def median_run(argv: Sequence[str], env: dict[str, str], cwd: Path, repeat: int) -> Measure:
    """The run of median wall time among ``repeat`` runs (peak RSS: the most of any)."""
    runs = sorted((checked(run_child(argv, env, cwd), argv) for _ in range(repeat)),
                  key=lambda m: m.wall)  # fmt: skip
    median = runs[(len(runs) - 1) // 2]
    median.rss_mib = max(r.rss_mib for r in runs)
    return median


def live_run(
    emu: NgcEmulator, nimgen: str, out: Path, options: Sequence[str]
) -> tuple[Measure, dict[str, int], dict[str, float]]:
    emu.reset_counters()
    argv = [nimgen, "generate", "--ngc-api-url", emu.url, "--output", str(out), "--no-eu", *options]
    measure = checked(run_child(argv, clean_env(VALID_KEY), out.parent), argv)
    log = emu.requests
    if emu.errors:
        raise SystemExit(f"benchmarks/run.py: the emulator failed:\n{emu.errors[0]}")
    counts = {
        "catalog": emu.count("catalog"),
        "key": emu.count("key"),
        "model": emu.count("model"),
        "total": len(log),
        "maxInFlight": emu.max_in_flight,
    }
    first = min(r.start_time for r in log)
    last = max(r.end_time for r in log)
    phases = {
        "startup": first - measure.started,
        "network": last - first,
        "after": measure.ended - last,
    }
    return measure, counts, phases


def live_scenario(
    name: str,
    nimgen: str,
    work: Path,
    *,
    models: int,
    latency: float,
    options: Sequence[str],
    baseline: bool,
) -> Row:
    with NgcEmulator(make_models(models), latency=latency) as emu:
        fast, counts, phases = live_run(emu, nimgen, work / f"{name}-fast", options)
        row = Row(
            scenario=name,
            command=" ".join(["nimgen generate", *options]),
            wall_s=fast.wall,
            peak_rss_mib=fast.rss_mib,
            requests=counts,
            phases_s=phases,
            note=f"{models} models, {latency * 1000:g} ms per request",
        )
        if baseline:
            slow, _, _ = live_run(emu, nimgen, work / f"{name}-serial", ["--concurrency", "1"])
            row.baseline_wall_s = slow.wall
            row.speedup = slow.wall / fast.wall
    return row


def make_snapshot(nimgen: str, work: Path, models: int) -> Path:
    """A ``nimgen fetch`` snapshot of ``models`` emulated models (no latency)."""
    path = work / f"snapshot-{models}.json"
    with NgcEmulator(make_models(models)) as emu:
        argv = [nimgen, "fetch", "--ngc-api-url", emu.url, "--output", str(path), "--quiet"]
        checked(run_child(argv, clean_env(VALID_KEY), work), argv)
    return path


def has_command(nimgen: str, command: str) -> bool:
    run = run_child([nimgen, "--help"], clean_env(), REPO)
    return any(line.split()[:1] == [command] for line in run.stdout.splitlines())


def local_scenarios(nimgen: str, work: Path, repeat: int, *, render_models: int) -> list[Row]:
    env = clean_env()
    rows: list[Row] = []
    snapshot = make_snapshot(nimgen, work, render_models)
    # Warm the page cache and the bytecode caches before timing anything.
    run_child([nimgen, "render", "--output", str(work / "warm")], env, work)

    help_run = median_run([nimgen, "--help"], env, work, repeat)
    rows.append(Row("help", "nimgen --help", help_run.wall, help_run.rss_mib, target="≤ 0.3 s"))
    rows[-1].met = help_run.wall <= 0.3
    version = median_run([nimgen, "--version"], env, work, repeat)
    rows.append(
        Row(
            "version",
            "nimgen --version",
            version.wall,
            version.rss_mib,
            note="start-up of every command",
        )
    )

    def render(label: str, argv: list[str], target: float | None) -> Row:
        measure = median_run(argv, env, work, repeat)
        beyond = measure.wall - version.wall
        row = Row(label, " ".join(["nimgen", *argv[1:3]]), measure.wall, measure.rss_mib)
        row.beyond_startup_s = beyond
        if target is not None:
            row.target = f"≤ {target:g} s beyond start-up"
            row.met = beyond <= target
        return row

    rows.append(
        render("render-186", [nimgen, "render", "--output", str(work / "render-186")], None)
    )
    rows[-1].command = "nimgen render (built-in sample)"
    big_out = work / f"render-{render_models}"
    rows.append(
        render(
            f"render-{render_models}",
            [nimgen, "render", "--from", str(snapshot), "--output", str(big_out), "--no-eu"],
            0.5,
        )
    )
    rows[-1].command = f"nimgen render --from <{render_models}-model snapshot>"

    if has_command(nimgen, "validate"):
        configmap = big_out / "base" / "nim-models-data.yaml"
        measure = median_run([nimgen, "validate", str(configmap)], env, work, repeat)
        row = Row(
            "validate",
            f"nimgen validate <{render_models}-model ConfigMap>",
            measure.wall,
            measure.rss_mib,
        )
        row.beyond_startup_s = measure.wall - version.wall
        rows.append(row)
    return rows


def format_table(rows: list[Row]) -> str:
    header = (
        "scenario",
        "wall s",
        "--concurrency 1 s",
        "ratio",
        "beyond start-up s",
        "start-up / network / after s",
        "peak RSS MiB",
        "requests (pages/key/models; max in flight)",
        "target",
    )
    lines = [header]
    for r in rows:
        requests = phases = ""
        if r.requests:
            q = r.requests
            requests = f"{q['total']} ({q['catalog']}/{q['key']}/{q['model']}; {q['maxInFlight']})"
        if r.phases_s:
            phases = " / ".join(f"{r.phases_s[k]:.2f}" for k in ("startup", "network", "after"))
        target = r.target + ("" if r.met is None else (" met" if r.met else " MISSED"))
        lines.append(
            (
                r.scenario,
                f"{r.wall_s:.2f}",
                f"{r.baseline_wall_s:.2f}" if r.baseline_wall_s is not None else "",
                f"{r.speedup:.1f}x" if r.speedup is not None else "",
                f"{r.beyond_startup_s:.2f}" if r.beyond_startup_s is not None else "",
                phases,
                f"{r.peak_rss_mib:.0f}",
                requests,
                target,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def judge(row: Row, *, wall: float, speedup: float | None = None, rss: float | None = None) -> None:
    met = row.wall_s <= wall
    parts = [f"≤ {wall:g} s"]
    if speedup is not None:
        parts.append(f"≥ {speedup:g}x")
        met = met and row.speedup is not None and row.speedup >= speedup
    if rss is not None:
        parts.append(f"≤ {rss:g} MiB")
        met = met and row.peak_rss_mib <= rss
    row.target = ", ".join(parts)
    row.met = met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the installed nimgen against the NGC emulator."
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="skip the 1000-model --concurrency 1 baseline"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs per local scenario, median (default 5)"
    )
    parser.add_argument(
        "--only",
        choices=("local", "live-186", "live-1000"),
        action="append",
        help="run only these scenario groups (repeatable)",
    )
    parser.add_argument("--models", type=int, help="one custom live run: catalog size")
    parser.add_argument(
        "--latency", type=float, default=0.1, help="custom run: seconds per request"
    )
    parser.add_argument("--concurrency", type=int, help="custom run: --concurrency")
    args = parser.parse_args(argv)
    nimgen = nimgen_executable()
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nimgen-bench-") as tmp:
        work = Path(tmp)
        if args.models is not None:
            options = [] if args.concurrency is None else ["--concurrency", str(args.concurrency)]
            rows.append(
                live_scenario(
                    "custom",
                    nimgen,
                    work,
                    models=args.models,
                    latency=args.latency,
                    options=options,
                    baseline=not args.quick,
                )
            )
        else:
            groups = set(args.only or ("local", "live-186", "live-1000"))
            if "local" in groups:
                rows += local_scenarios(nimgen, work, args.repeat, render_models=1000)
            if "live-186" in groups:
                row = live_scenario(
                    "live-186", nimgen, work, models=186, latency=0.1, options=[], baseline=True
                )
                judge(row, wall=1.5, speedup=15)
                rows.append(row)
            if "live-1000" in groups:
                row = live_scenario(
                    "live-1000",
                    nimgen,
                    work,
                    models=1000,
                    latency=0.05,
                    options=["--concurrency", "32"],
                    baseline=not args.quick,
                )
                judge(row, wall=4.0, rss=120)
                rows.append(row)
    machine = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadAverageBefore": round(load_before, 2),
        "loadAverageAfter": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(
            json.dumps(
                {"machine": machine, "rows": [asdict(r) for r in rows]},
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(format_table(rows))
        print(
            f"\n{machine['cpus']} CPUs, Python {machine['python']}, load average "
            f"{machine['loadAverageBefore']} before and {machine['loadAverageAfter']} after "
            "(other work on the machine slows every figure)"
        )
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
