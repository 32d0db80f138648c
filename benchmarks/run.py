#!/usr/bin/env python3
"""Benchmark nimgen as a user runs it: the installed console script against the NGC emulator,
beside a baseline build measured in the same run (interleaved run by run, so that both meet
the same load), and judged against the bounds of issue 25:

* ``live-186``:  186 models, every request answered after 100 ms, default settings: wall
                 time at most 1.3 times the baseline's;
* ``live-1000``: 1000 models at 50 ms with ``--concurrency 32``: at most 1.5 ms of CPU per
                 request (the child's user + system time over every request it made);
* ``help``:      ``nimgen --help`` within 0.3 s;
* ``version``, ``render-186``, ``render-1000`` and ``validate``: for the record.

The baseline is commit ``f5d0eaf`` (the last build with nimgen's own HTTP client), installed
from its source into a virtualenv of its own under ``~/.cache/nimgen-bench`` on first use
(``--baseline-commit`` picks another commit, ``--baseline NIMGEN`` an installed script,
``--no-baseline`` none). CPU time and peak RSS are the child's own (``os.wait4``); live
figures are medians of ``--live-repeat`` runs, local ones of ``--repeat``.

    python -m benchmarks.run              # everything, a few minutes on 2 cores
    python -m benchmarks.run --json       # the figures as JSON on stdout
    python -m benchmarks.run --only live-186 --live-repeat 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.measure import Measure, checked, median_of, median_run, precompile, run_child
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models
from tests.support.nimgen_runner import clean_env, nimgen_executable

REPO = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "f5d0eaf"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nimgen-bench"


@dataclass
class Side:
    """One nimgen's figures for a scenario."""

    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    cpu_per_request_ms: float | None = None
    phases_s: dict[str, float] = field(default_factory=dict)


@dataclass
class Row:
    scenario: str
    command: str
    this: Side
    baseline: Side | None = None
    requests: dict[str, int] = field(default_factory=dict)
    target: str = ""
    met: bool | None = None

    def ratio(self, attribute: str) -> float | None:
        """This build's figure over the baseline's (1.1 is 10 % slower)."""
        if self.baseline is None or not getattr(self.baseline, attribute):
            return None
        return float(getattr(self.this, attribute) / getattr(self.baseline, attribute))


def baseline_nimgen(commit: str) -> str:
    """``nimgen`` of ``commit``, installed (not editable) into a virtualenv of its own."""
    home = CACHE / commit
    script = home / "venv" / "bin" / "nimgen"
    if script.exists():
        return str(script)
    source = home / "source"
    source.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    pip = [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", str(source)]
    subprocess.run(pip, check=True)
    return str(script)


# -- live scenarios --------------------------------------------------------------------


def live_once(
    emu: NgcEmulator, nimgen: str, out: Path, options: Sequence[str]
) -> tuple[Measure, dict[str, int], dict[str, float]]:
    emu.reset_counters()
    argv = [nimgen, "generate", "--ngc-api-url", emu.url, "--output", str(out), "--no-eu"]
    measure = checked(run_child([*argv, *options], clean_env(VALID_KEY), out.parent), argv)
    if emu.errors:
        raise SystemExit(f"benchmarks/run.py: the emulator failed:\n{emu.errors[0]}")
    log = emu.requests
    counts = {kind: emu.count(kind) for kind in ("catalog", "key", "model")}
    counts.update(total=len(log), maxInFlight=emu.max_in_flight)
    first, last = min(r.start_time for r in log), max(r.end_time for r in log)
    phases = {
        "startup": first - measure.started,
        "network": last - first,
        "after": measure.ended - last,
    }
    return measure, counts, phases


def live_scenario(
    name: str,
    nimgens: Sequence[str],
    work: Path,
    models: int,
    latency: float,
    repeat: int,
    options: Sequence[str] = (),
) -> Row:
    runs: list[list[tuple[Measure, dict[str, int], dict[str, float]]]] = [[] for _ in nimgens]
    every_kind = dict.fromkeys(("catalog", "key", "model"), latency)
    with NgcEmulator(make_models(models), latency_by_kind=every_kind) as emu:
        for n in range(repeat):
            for i, nimgen in enumerate(nimgens):  # interleaved: both meet the same load
                runs[i].append(live_once(emu, nimgen, work / f"{name}-{i}-{n}", options))

    def side(of: list[tuple[Measure, dict[str, int], dict[str, float]]]) -> Side:
        measure = median_of([m for m, _, _ in of])
        phases = {k: statistics.median(p[k] for _, _, p in of) for k in of[0][2]}
        per_request = measure.cpu / of[0][1]["total"] * 1000
        return Side(measure.wall, measure.cpu, measure.rss_mib, per_request, phases)

    command = " ".join(["nimgen generate", *options])
    row = Row(name, f"{command} ({models} models, {latency * 1000:g} ms a request)", side(runs[0]))
    row.baseline = side(runs[1]) if len(nimgens) > 1 else None
    row.requests = runs[0][0][1]
    return row


# -- local scenarios -------------------------------------------------------------------


def make_snapshot(nimgen: str, work: Path, models: int) -> Path:
    """A ``nimgen fetch`` snapshot of ``models`` emulated models (no latency)."""
    path = work / f"snapshot-{models}.json"
    with NgcEmulator(make_models(models)) as emu:
        argv = [nimgen, "fetch", "--ngc-api-url", emu.url, "--output", str(path), "--quiet"]
        checked(run_child(argv, clean_env(VALID_KEY), work), argv)
    return path


def local_scenarios(nimgens: Sequence[str], work: Path, repeat: int) -> list[Row]:
    env = clean_env()
    snapshot = make_snapshot(nimgens[0], work, 1000)
    for nimgen in nimgens:  # warm the page cache first
        run_child([nimgen, "render", "--output", str(work / "warm"), "--no-eu"], env, work)

    def measure(label: str, command: str, args: Sequence[str]) -> Row:
        sides = []
        for i, nimgen in enumerate(nimgens):
            argv = [nimgen, *(a.replace("{out}", str(work / f"{label}-{i}")) for a in args)]
            found = median_run(argv, env, work, repeat)
            sides.append(Side(found.wall, found.cpu, found.rss_mib))
        return Row(label, command, sides[0], sides[1] if len(sides) > 1 else None)

    rows = [measure("help", "nimgen --help", ["--help"])]
    rows[-1].target, rows[-1].met = "≤ 0.3 s", rows[-1].this.wall_s <= 0.3
    rows.append(measure("version", "nimgen --version (start-up)", ["--version"]))
    render = ["render", "--output", "{out}", "--no-eu"]
    rows.append(measure("render-186", "nimgen render (built-in sample)", render))
    big = [*render, "--from", str(snapshot)]
    rows.append(measure("render-1000", "nimgen render --from <1000-model snapshot>", big))
    configmap = work / "render-1000-0" / "base" / "nim-models-data.yaml"
    check = ["validate", str(configmap)]
    rows.append(measure("validate", "nimgen validate <1000-model ConfigMap>", check))
    return rows


# -- the table -------------------------------------------------------------------------


def format_table(rows: list[Row]) -> str:
    header = [
        "scenario",
        "wall s",
        "CPU s",
        "CPU/request ms",
        "start-up / network / after s",
        "peak RSS MiB",
        "requests (pages/key/models; max in flight)",
        "baseline wall / CPU s",
        "baseline CPU/request ms",
        "this / baseline wall, CPU",
        "target",
    ]
    lines = [header]
    for r in rows:
        q, b = r.requests, r.baseline
        phases = " / ".join(
            f"{r.this.phases_s.get(k, 0):.2f}" for k in ("startup", "network", "after")
        )
        counts = (
            f"{q['total']} ({q['catalog']}/{q['key']}/{q['model']}; {q['maxInFlight']})"
            if q
            else ""
        )
        wall, cpu = r.ratio("wall_s"), r.ratio("cpu_s")
        lines.append(
            [
                r.scenario,
                f"{r.this.wall_s:.2f}",
                f"{r.this.cpu_s:.2f}",
                f"{r.this.cpu_per_request_ms:.3f}" if r.this.cpu_per_request_ms else "",
                phases if r.this.phases_s else "",
                f"{r.this.peak_rss_mib:.0f}",
                counts,
                f"{b.wall_s:.2f} / {b.cpu_s:.2f}" if b else "",
                f"{b.cpu_per_request_ms:.3f}" if b and b.cpu_per_request_ms else "",
                f"{wall:.2f}x, {cpu:.2f}x" if wall and cpu else "",
                r.target + ("" if r.met is None else (" met" if r.met else " MISSED")),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--repeat", type=int, default=5, help="runs per local scenario (median)")
    parser.add_argument("--live-repeat", type=int, default=5, help="runs per live scenario")
    parser.add_argument("--baseline", metavar="NIMGEN", help="an installed nimgen to compare")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT, help="else build this")
    parser.add_argument("--no-baseline", action="store_true", help="measure this build only")
    parser.add_argument(
        "--only", choices=("local", "live-186", "live-1000"), action="append", help="repeatable"
    )
    args = parser.parse_args(argv)
    nimgens = [nimgen_executable()]
    if not args.no_baseline:
        nimgens.append(args.baseline or baseline_nimgen(args.baseline_commit))
    for nimgen in nimgens:  # as pip compiles a wheel it installs
        precompile(nimgen)
    load_before = os.getloadavg()[0]
    groups = set(args.only or ("local", "live-186", "live-1000"))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nimgen-bench-") as tmp:
        work = Path(tmp)
        if "local" in groups:
            rows += local_scenarios(nimgens, work, args.repeat)
        if "live-186" in groups:
            row = live_scenario("live-186", nimgens, work, 186, 0.1, args.live_repeat)
            ratio = row.ratio("wall_s")
            row.target = "≤ 1.3x the baseline's wall time"
            row.met = None if ratio is None else ratio <= 1.3
            rows.append(row)
        if "live-1000" in groups:
            options = ("--concurrency", "32")
            row = live_scenario("live-1000", nimgens, work, 1000, 0.05, args.live_repeat, options)
            row.target = "≤ 1.5 ms CPU/request"
            row.met = (row.this.cpu_per_request_ms or 0.0) <= 1.5
            rows.append(row)
    machine = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "loadAverageBefore": round(load_before, 2),
        "loadAverageAfter": round(os.getloadavg()[0], 2),
        "nimgen": nimgens[0],
        "baseline": nimgens[1] if len(nimgens) > 1 else None,
    }
    if args.json:
        print(json.dumps({"machine": machine, "rows": [asdict(r) for r in rows]}, indent=2))
    else:
        print(format_table(rows))
        print(
            f"\n{machine['cpus']} CPUs, Python {machine['python']}, load average "
            f"{machine['loadAverageBefore']} before and {machine['loadAverageAfter']} after; "
            f"baseline: {machine['baseline'] or 'none'}"
        )
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
