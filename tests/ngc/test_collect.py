"""One collection run, in process against the emulator: what a page count is believed,
how many page tasks exist at once, and what the run returns."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nimgen.apikey import ApiKey
from nimgen.collection import Collection, NullProgress
from nimgen.errors import RunFailed
from nimgen.ngc import MAX_CATALOG_PAGES, ClientSettings, NgcClient, Scope, collect_catalog
from tests.ngc.conftest import fast_settings
from tests.support.ngc_emulator import VALID_KEY, NgcEmulator, make_models


def collect(settings: ClientSettings, scope: Scope | None = None) -> Collection:
    async def run() -> Collection:
        async with NgcClient(settings, ApiKey(VALID_KEY)) as client:
            return await collect_catalog(client, scope or Scope(), NullProgress())

    return asyncio.run(run())


def test_a_run_returns_its_collection() -> None:
    with NgcEmulator(make_models(30)) as emu:
        collection = collect(fast_settings(emu.url))
    assert len(collection.models) == 30 and collection.discovered == 30
    assert collection.eu_statuses == {} and collection.eu_attempts == {}
    assert "30 models" in repr(collection)  # counts, not 30 records


def test_a_billion_announced_pages_cost_only_the_pages_the_total_needs() -> None:
    with NgcEmulator(make_models(60), page_total_hook=lambda page, n: 10**9) as emu:
        collection = collect(fast_settings(emu.url, concurrency=8))
        # 60 resources at 25 a page need 3 pages; one more is read for a growing catalog.
        assert sorted(emu.page_calls) == [0, 1, 2, 3]
    assert len(collection.models) == 60


def test_a_total_no_run_could_read_is_refused_at_once() -> None:
    needs = MAX_CATALOG_PAGES * 25 + 1
    hooks = {"page_total_hook": lambda p, n: 10**9, "result_total_hook": lambda p, n: needs}
    with NgcEmulator(make_models(60), **hooks) as emu:  # type: ignore[arg-type]
        with pytest.raises(RunFailed, match=f"more than the {MAX_CATALOG_PAGES} pages"):
            collect(fast_settings(emu.url))
        assert emu.count("catalog") == 1 and emu.count("model") == 0


def test_page_tasks_are_scheduled_a_window_at_a_time() -> None:
    """500 pages needed (and a billion announced): never more than --concurrency page
    requests at once, and --deadline still stops the run in time."""
    hooks: dict[str, Any] = {
        "page_total_hook": lambda p, n: 10**9,
        "result_total_hook": lambda p, n: 500 * 25,
        "latency_by_kind": {"catalog": 0.05},
    }
    with NgcEmulator(make_models(60), **hooks) as emu:
        started = time.monotonic()
        with pytest.raises(RunFailed, match="did not finish within --deadline 1s") as info:
            collect(fast_settings(emu.url, concurrency=4, deadline=1.0))
        took = time.monotonic() - started
        assert emu.max_in_flight_by_kind["catalog"] <= 4
    assert took < 10  # a billion tasks would take minutes to create, and gigabytes
    # Only the pages nimgen meant to read are named, not a billion.
    assert len(info.value.message) < 5000
