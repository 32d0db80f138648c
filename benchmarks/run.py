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

Each scenario reports wall time, CPU time (the child's user + system time, ``os.wait4``)
and, for the live ones, CPU per request, the emulator's request counts and the wall time
split into start-up (spawn to first request), network (first request to last answer)
and the rest (rendering, writing, the summary). Live scenarios run ``--live-repeat``
times (medians), local ones ``--repeat`` times.

``--baseline PATH`` runs every scenario with a second ``nimgen`` too (say, the code before
a change, installed in another virtualenv), interleaved run by run so that both meet the
same load, and reports its figures and the ratios beside this one's.

    python -m benchmarks.run             # everything, about 2 minutes on 2 cores
    python -m benchmarks.run --quick     # without the 1000-model serial baseline
    python -m benchmarks.run --json      # the figures as JSON on stdout
    python -m benchmarks.run --baseline /tmp/before/.venv/bin/nimgen   # before/after
    python -m benchmarks.run --models 500 --latency 0.2 --concurrency 16   # one custom run
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.measure import Measure, checked, median_of, median_run, precompile, run_child
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, nimgen_executable

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Side:
    """One nimgen's figures for a scenario."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    cpu_per_request_ms: float | None = None
    phases_s: dict[str, float] = field(default_factory=dict)
    beyond_startup_s: float | None = None


@dataclass
class Row:
    scenario: str
    command: str
    this: Side
    requests: dict[str, int] = field(default_factory=dict)
    serial_wall_s: float | None = None  # the same run at --concurrency 1
    speedup: float | None = None
    baseline: Side | None = None  # --baseline's nimgen
    cpu_ratio: float | None = None  # baseline CPU / this CPU
    wall_ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


def side_of(measure: Measure, phases: dict[str, float] | None = None, requests: int = 0) -> Side:
    side = Side(measure.wall, measure.cpu, measure.rss_mib, phases_s=phases or {})
    if requests:
        side.cpu_per_request_ms = measure.cpu / requests * 1000
    return side


def compare(row: Row) -> Row:
    if row.baseline is not None:
        row.cpu_ratio = row.baseline.cpu_s / row.this.cpu_s if row.this.cpu_s else None
        row.wall_ratio = row.baseline.wall_s / row.this.wall_s if row.this.wall_s else None
    return row


# -- live scenarios --------------------------------------------------------------------


def live_once(
    emu: NgcEmulator, nimgen: str, out: Path, options: Sequence[str]
) -> tuple[Measure, dict[str, int], dict[str, float]]:
    emu.reset_counters()
    argv = [nimgen, "generate", "--ngc-api-url", emu.url, "--output", str(out), *options]
    argv += eu_options(nimgen)
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


def live_side(runs: list[tuple[Measure, dict[str, int], dict[str, float]]]) -> Side:
    measure = median_of([m for m, _, _ in runs])
    phases = {k: statistics.median(p[k] for _, _, p in runs) for k in runs[0][2]}
    return side_of(measure, phases, runs[0][1]["total"])


def live_scenario(
    name: str,
    nimgens: Sequence[str],
    work: Path,
    *,
    models: int,
    latency: float,
    options: Sequence[str],
    repeat: int,
    serial: bool,
) -> Row:
    runs: list[list[tuple[Measure, dict[str, int], dict[str, float]]]] = [[] for _ in nimgens]
    with NgcEmulator(make_models(models), latency=latency) as emu:
        for n in range(repeat):
            for i, nimgen in enumerate(nimgens):  # interleaved: both meet the same load
                runs[i].append(live_once(emu, nimgen, work / f"{name}-{i}-{n}", options))
        row = Row(
            scenario=name,
            command=" ".join(["nimgen generate", *options]),
            this=live_side(runs[0]),
            requests=runs[0][0][1],
            note=f"{models} models, {latency * 1000:g} ms per request",
        )
        if len(nimgens) > 1:
            row.baseline = live_side(runs[1])
        if serial:
            slow, _, _ = live_once(emu, nimgens[0], work / f"{name}-serial", ["--concurrency", "1"])
            row.serial_wall_s = slow.wall
            row.speedup = slow.wall / row.this.wall_s
    return compare(row)


# -- local scenarios -------------------------------------------------------------------


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


@functools.lru_cache
def eu_options(nimgen: str) -> tuple[str, ...]:
    """``--no-eu`` where this nimgen wants the EU facts' absence said (newer versions)."""
    run = run_child([nimgen, "render", "--help"], clean_env(), REPO)
    return ("--no-eu",) if "--no-eu" in run.stdout else ()


def local_scenarios(nimgens: Sequence[str], work: Path, repeat: int, *, models: int) -> list[Row]:
    env = clean_env()
    snapshot = make_snapshot(nimgens[0], work, models)
    for nimgen in nimgens:  # warm the page cache and the bytecode caches first
        run_child(
            [nimgen, "render", "--output", str(work / "warm"), *eu_options(nimgen)], env, work
        )

    def measure(
        label: str,
        command: str,
        args: Sequence[str],
        *,
        startup: Side | None = None,
        baseline_startup: Side | None = None,
    ) -> Row:
        sides = []
        for i, nimgen in enumerate(nimgens):
            argv = [nimgen, *(a.replace("{out}", str(work / f"{label}-{i}")) for a in args)]
            if args[0] == "render":
                argv += eu_options(nimgen)
            sides.append(side_of(median_run(argv, env, work, repeat)))
        for side, base in zip(sides, (startup, baseline_startup), strict=False):
            if base is not None:
                side.beyond_startup_s = side.wall_s - base.wall_s
        row = Row(label, command, sides[0], baseline=sides[1] if len(sides) > 1 else None)
        return compare(row)

    rows = [measure("help", "nimgen --help", ["--help"])]
    rows[-1].target, rows[-1].met = "≤ 0.15 s", rows[-1].this.wall_s <= 0.15
    version = measure("version", "nimgen --version", ["--version"])
    version.note = "start-up of every command"
    rows.append(version)
    starts = (version.this, version.baseline)
    rows.append(
        measure(
            "render-186",
            "nimgen render (built-in sample)",
            ["render", "--output", "{out}"],
            startup=starts[0],
            baseline_startup=starts[1],
        )
    )
    big = measure(
        f"render-{models}",
        f"nimgen render --from <{models}-model snapshot>",
        ["render", "--from", str(snapshot), "--output", "{out}"],
        startup=starts[0],
        baseline_startup=starts[1],
    )
    beyond = big.this.beyond_startup_s
    big.target, big.met = "≤ 0.5 s beyond start-up", beyond is not None and beyond <= 0.5
    rows.append(big)
    if has_command(nimgens[0], "validate"):
        configmap = work / f"render-{models}-0" / "base" / "nim-models-data.yaml"
        rows.append(
            measure(
                "validate",
                f"nimgen validate <{models}-model ConfigMap>",
                ["validate", str(configmap)],
                startup=starts[0],
            )
        )
    return rows


# -- the table -------------------------------------------------------------------------


def _f(value: float | None, fmt: str = ".2f", suffix: str = "") -> str:
    return "" if value is None else f"{value:{fmt}}{suffix}"


def format_table(rows: list[Row]) -> str:
    with_baseline = any(r.baseline is not None for r in rows)
    header = [
        "scenario",
        "wall s",
        "CPU s",
        "CPU/request ms",
        "start-up / network / after s",
        "peak RSS MiB",
        "requests (pages/key/models; max in flight)",
        "--concurrency 1 s (speedup)",
    ]
    if with_baseline:
        header += ["baseline wall / CPU s", "baseline CPU/request ms", "ratio wall / CPU"]
    header.append("target")
    lines = [header]
    for r in rows:
        requests = ""
        if r.requests:
            q = r.requests
            requests = f"{q['total']} ({q['catalog']}/{q['key']}/{q['model']}; {q['maxInFlight']})"
        phases = ""
        if r.this.phases_s:
            phases = " / ".join(
                f"{r.this.phases_s[k]:.2f}" for k in ("startup", "network", "after")
            )
        serial = f"{r.serial_wall_s:.2f} ({r.speedup:.1f}x)" if r.serial_wall_s else ""
        wall = _f(r.this.wall_s)
        if r.this.beyond_startup_s is not None:
            wall += f" ({r.this.beyond_startup_s:.2f} beyond start-up)"
        line = [
            r.scenario,
            wall,
            _f(r.this.cpu_s),
            _f(r.this.cpu_per_request_ms, ".3f"),
            phases,
            _f(r.this.peak_rss_mib, ".0f"),
            requests,
            serial,
        ]
        if with_baseline:
            b = r.baseline
            line += [
                f"{b.wall_s:.2f} / {b.cpu_s:.2f}" if b else "",
                _f(b.cpu_per_request_ms, ".3f") if b else "",
                f"{_f(r.wall_ratio, '.1f', 'x')} / {_f(r.cpu_ratio, '.1f', 'x')}" if b else "",
            ]
        line.append(r.target + ("" if r.met is None else (" met" if r.met else " MISSED")))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def judge_live_186(row: Row) -> None:
    startup = row.this.phases_s["startup"]
    met = row.this.wall_s <= 1.3 and startup <= 0.15
    row.target = "≤ 1.3 s wall, first request ≤ 0.15 s after spawn"
    if row.speedup is not None:
        row.target += ", ≥ 15x"
        met = met and row.speedup >= 15
    row.met = met


def judge_live_1000(row: Row) -> None:
    per_request = row.this.cpu_per_request_ms or 0.0
    row.target = "≤ 0.6 ms CPU/request, ≤ 4 s, ≤ 120 MiB"
    row.met = per_request <= 0.6 and row.this.wall_s <= 4.0 and row.this.peak_rss_mib <= 120


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the installed nimgen against the NGC emulator."
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--quick", action="store_true", help="skip the 1000-model --concurrency 1 baseline"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs per local scenario (median)")
    parser.add_argument("--live-repeat", type=int, default=3, help="runs per live scenario")
    parser.add_argument(
        "--baseline", metavar="NIMGEN", help="another nimgen console script to compare with"
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
    nimgens = [nimgen_executable()] + ([args.baseline] if args.baseline else [])
    for nimgen in nimgens:
        precompile(nimgen)
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nimgen-bench-") as tmp:
        work = Path(tmp)

        def live(name: str, models: int, latency: float, options: list[str], serial: bool) -> Row:
            return live_scenario(
                name,
                nimgens,
                work,
                models=models,
                latency=latency,
                options=options,
                repeat=args.live_repeat,
                serial=serial,
            )

        if args.models is not None:
            options = [] if args.concurrency is None else ["--concurrency", str(args.concurrency)]
            rows.append(live("custom", args.models, args.latency, options, not args.quick))
        else:
            groups = set(args.only or ("local", "live-186", "live-1000"))
            if "local" in groups:
                rows += local_scenarios(nimgens, work, args.repeat, models=1000)
            if "live-186" in groups:
                rows.append(live("live-186", 186, 0.1, [], True))
                judge_live_186(rows[-1])
            if "live-1000" in groups:
                rows.append(live("live-1000", 1000, 0.05, ["--concurrency", "32"], not args.quick))
                judge_live_1000(rows[-1])
    machine = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadAverageBefore": round(load_before, 2),
        "loadAverageAfter": round(os.getloadavg()[0], 2),
        "nimgen": nimgens[0],
        "baseline": args.baseline,
    }
    if args.json:
        document = {"machine": machine, "rows": [asdict(r) for r in rows]}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(format_table(rows))
        print(
            f"\n{machine['cpus']} CPUs, Python {machine['python']}, load average "
            f"{machine['loadAverageBefore']} before and {machine['loadAverageAfter']} after "
            "(other work on the machine slows every figure, CPU time too)"
        )
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
