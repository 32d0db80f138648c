"""How ``nimgen generate`` spreads its requests, seen from the NGC emulator's side.

The installed console script runs against the emulator; the emulator's request
log (start and end of every request) and counters show the mechanisms behind the
speed: requests in flight up to ``--concurrency`` and never beyond, catalog pages
after the first fetched together, per-model calls starting as pages arrive, the
key checked alongside page 0 but before any per-model call, and concurrency
halving under a burst of 429s and growing back. No timing asserts: the figures
are in ``benchmarks/run.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.ngc_emulator import VALID_KEY, Fault, NgcEmulator, RequestRecord, make_models
from tests.support.nimgen_runner import NimgenResult, run_nimgen

FAST = ("--max-attempts", "3", "--request-timeout", "10")


def generate(emu: NgcEmulator, out: Path, *extra: str, key: str = VALID_KEY) -> NimgenResult:
    return run_nimgen(
        "generate", "--ngc-api-url", emu.url, "--output", str(out), "--json", *FAST, *extra, key=key
    )


def of_kind(emu: NgcEmulator, kind: str) -> list[RequestRecord]:
    return sorted((r for r in emu.requests if r.kind == kind), key=lambda r: r.start_time)


def page_of(record: RequestRecord) -> int:
    query = parse_qs(urlsplit(record.path).query)
    return int(json.loads(query["q"][0])["page"])


def model_of(record: RequestRecord) -> str:
    return urlsplit(record.path).path.rsplit("/", 1)[-1]


def in_flight_at_each_start(records: Iterable[RequestRecord]) -> list[tuple[float, int]]:
    """(start, requests in flight at that instant) for every request, by start time."""
    records = list(records)
    return [
        (r.start_time, sum(1 for o in records if o.start_time <= r.start_time < o.end_time))
        for r in sorted(records, key=lambda r: r.start_time)
    ]


@pytest.mark.parametrize("bound", [3, 8])
def test_requests_in_flight_reach_the_bound_and_never_exceed_it(
    bound: int, tmp_path: Path, fixtures_dir: Path
) -> None:
    models = make_models(6 * bound, fixtures_dir=fixtures_dir)
    with NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind={"model": 0.05}) as emu:
        result = generate(emu, tmp_path / "out", "--concurrency", str(bound))
        assert result.code == 0, result.stderr
        assert emu.count("model") == len(models)
        assert emu.max_in_flight <= bound
        assert emu.max_in_flight_by_kind["model"] == bound
        timeline = in_flight_at_each_start(of_kind(emu, "model"))
        assert max(n for _, n in timeline) == bound


def test_pages_after_the_first_are_fetched_together(tmp_path: Path, fixtures_dir: Path) -> None:
    models = make_models(200, fixtures_dir=fixtures_dir)  # 8 pages of 25
    # A page answers after 1 s: ample time, even on a loaded machine, to send the other
    # seven before the first of them is answered (which 0.1 s was not, under load).
    with NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind={"catalog": 1.0}) as emu:
        result = generate(emu, tmp_path / "out")
        assert result.code == 0, result.stderr
        pages = {page_of(r): r for r in of_kind(emu, "catalog")}
        assert sorted(pages) == list(range(8)) and emu.count("catalog") == 8
        later = [pages[p] for p in range(1, 8)]
        # Only page 0 tells how many pages there are...
        assert all(r.start_time >= pages[0].end_time for r in later)
        # ...then the other seven are all in flight at once.
        assert max(r.start_time for r in later) < min(r.end_time for r in later)
        assert emu.max_in_flight_by_kind["catalog"] == 7


def test_model_calls_start_as_pages_arrive_not_after_the_whole_catalog(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    models = make_models(100, fixtures_dir=fixtures_dir)  # pages 0-3
    with NgcEmulator(models, fixtures_dir=fixtures_dir) as emu:
        emu.fault_page(3, Fault.delay(1.5))  # the last page is slow (a margin for loaded CI)
        result = generate(emu, tmp_path / "out")
        assert result.code == 0, result.stderr
        slow_page = next(r for r in of_kind(emu, "catalog") if page_of(r) == 3)
        starts = {model_of(r): r.start_time for r in of_kind(emu, "model")}
        assert len(starts) == 100
        early = [starts[m.name] for m in models[:75]]  # listed on pages 0-2
        late = [starts[m.name] for m in models[75:]]  # listed on page 3
        assert max(early) < slow_page.end_time
        assert min(late) >= slow_page.end_time


def test_key_is_checked_alongside_page_0_and_before_any_model_call(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    models = make_models(30, fixtures_dir=fixtures_dir)
    latency = {"key": 0.5, "catalog": 0.02}  # a margin a loaded machine cannot eat
    with NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind=latency) as emu:
        result = generate(emu, tmp_path / "out")
        assert result.code == 0, result.stderr
        (key,) = of_kind(emu, "key")
        page0 = next(r for r in of_kind(emu, "catalog") if page_of(r) == 0)
        # Concurrent: each started before the other ended.
        assert key.start_time < page0.end_time and page0.start_time < key.end_time
        # Page 0 came back first, yet no per-model call went out before the key was accepted.
        assert page0.end_time < key.end_time
        assert min(r.start_time for r in of_kind(emu, "model")) >= key.end_time


def test_a_rejected_key_means_no_model_call_at_all(tmp_path: Path, fixtures_dir: Path) -> None:
    models = make_models(30, fixtures_dir=fixtures_dir)
    latency = {"key": 0.2, "catalog": 0.02}
    with NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind=latency) as emu:
        result = generate(emu, tmp_path / "out", key="nvapi-not-the-right-key-000000")
        assert result.code == 4, result.stderr
        assert emu.count("key") == 1 and emu.count("catalog") >= 1
        assert emu.count("model") == 0
        assert not (tmp_path / "out").exists()


def test_concurrency_halves_under_a_429_storm_and_grows_back(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    bound = 8
    models = make_models(100, fixtures_dir=fixtures_dir)
    # The models listed on page 0, queued first: each answers 429 once, then normally.
    storm = models[:25]
    # 0.1 s a call: time, even under load, to have the whole bound in flight before the
    # first answer comes back.
    with NgcEmulator(models, fixtures_dir=fixtures_dir, latency_by_kind={"model": 0.1}) as emu:
        for model in storm:
            emu.fault_model(model.name, Fault.status(429, retry_after="0"))
        result = generate(emu, tmp_path / "out", "--concurrency", str(bound))
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)["models"] == len(models)
        assert emu.pending_faults() == 0

        calls = of_kind(emu, "model")
        throttled = [r for r in calls if r.status == 429]
        assert len(throttled) == len(storm) and len(calls) == len(models) + len(storm)
        assert emu.max_in_flight <= bound

        timeline = in_flight_at_each_start(calls)
        assert max(n for _, n in timeline) == bound  # before the first 429 came back
        first_429 = min(r.end_time for r in throttled)
        last_429 = max(r.start_time for r in throttled)
        # While the storm lasts (and the queue is long), at most half the bound is used.
        during = [n for t, n in timeline if first_429 + 0.1 < t <= last_429]
        assert during, "the storm should outlast the first shrinks"
        assert max(during) <= bound // 2
        # Once the answers are healthy again, concurrency grows back towards the bound.
        after = [n for t, n in timeline if t > max(r.end_time for r in throttled)]
        assert max(after) >= bound * 3 // 4
