"""One collection run, in process against the emulator: pages read to the catalog's end and
counted against its totals, page tasks a window at a time, records the ConfigMap can hold,
and what the run returns."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from nimgen.apikey import ApiKey
from nimgen.collection import Collection, NullProgress
from nimgen.errors import RunFailed
from nimgen.ngc.client import NgcClient
from nimgen.ngc.collect import MAX_CATALOG_PAGES, collect_catalog
from nimgen.ngc.jobs import Scope
from nimgen.ngc.settings import ClientSettings
from tests.ngc.conftest import fast_settings
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator, make_models


def collect(settings: ClientSettings, scope: Scope | None = None) -> Collection:
    async def run() -> Collection:
        async with NgcClient(settings, ApiKey(VALID_KEY)) as client:
            return await collect_catalog(client, scope or Scope(), NullProgress())

    return asyncio.run(run())


def refused(emu: NgcEmulator, **settings: Any) -> str:
    with pytest.raises(RunFailed) as info:
        collect(fast_settings(emu.url, **settings))
    return info.value.message


def test_a_run_returns_its_collection() -> None:
    with NgcEmulator(make_models(30)) as emu:
        collection = collect(fast_settings(emu.url))
        assert sorted(emu.page_calls) == [0, 1]  # 25 a page: page 1 is short, the end
    assert len(collection.models) == 30 and collection.discovered == 30
    assert collection.eu_statuses == {} and collection.eu_attempts == {}
    assert "30 models" in repr(collection)  # counts, not 30 records


def test_pages_are_read_to_the_end_whatever_the_totals_say() -> None:
    """Before: a resultTotal of 60 for 186 models read 3 pages and shipped 150, exit 0."""
    models = make_models(186)
    with NgcEmulator(models, page_size_cap=50, result_total_hook=lambda p, n: 60) as low:
        assert "resultTotal 60 at 50 a page makes 2 page(s), but resultPageTotal says 4" in (
            refused(low)
        )
        assert low.count("model") == 0
    both_low = {"result_total_hook": lambda p, n: 60, "page_total_hook": lambda p, n: 2}
    with NgcEmulator(models, page_size_cap=50, **both_low) as emu:  # type: ignore[arg-type]
        message = refused(emu)
        assert sorted(emu.page_calls) == [0, 1, 2, 3]  # read on to the short page
    assert "announces 60 resources on 2 page(s), but its pages list 186 distinct" in message
    assert "on 4" in message


def test_a_total_that_changes_between_pages_fails_at_once() -> None:
    """Before: a catalog growing a page at a time was followed page by page (1,996
    requests in the report); now the first page that disagrees with page 0 ends it."""
    growing = {
        "result_total_hook": lambda p, n: n + 25 * p,
        "page_total_hook": lambda p, n: n + p,
    }
    with NgcEmulator(make_models(200), **growing) as emu:  # type: ignore[arg-type]
        message = refused(emu, concurrency=4)
        assert emu.count("catalog") <= 1 + 4  # page 0, and the window in flight
    assert "the catalog changed while it was read: page" in message
    assert "page 0 announced 200 on 8" in message


@pytest.mark.parametrize("total", [True, "60", -1, 1.5, None, 10**400])
def test_totals_that_are_not_counts_are_bad_answers(total: object) -> None:
    with NgcEmulator(make_models(30), result_total_hook=lambda p, n: total) as emu:  # type: ignore[arg-type,return-value]
        message = refused(emu)
    if total == 10**400:
        assert "a 401-digit number of resources" in message
        assert f"more than the {MAX_CATALOG_PAGES} pages nimgen reads" in message
    else:
        assert "catalog page 0 is malformed: resultTotal" in message


def test_a_billion_announced_pages_are_refused_at_once() -> None:
    with NgcEmulator(make_models(60), page_total_hook=lambda page, n: 10**9) as emu:
        assert f"more than the {MAX_CATALOG_PAGES} pages" in refused(emu)
        assert emu.count("catalog") == 1 and emu.count("model") == 0
    needs = MAX_CATALOG_PAGES * 25 + 1
    with NgcEmulator(make_models(60), result_total_hook=lambda p, n: needs) as emu:
        assert f"more than the {MAX_CATALOG_PAGES} pages" in refused(emu)
        assert emu.count("catalog") == 1 and emu.count("model") == 0


def test_page_tasks_are_scheduled_a_window_at_a_time() -> None:
    """500 pages of one model each: never more than --concurrency page requests at once,
    and --deadline still stops the run in time."""
    with NgcEmulator(make_models(500), page_size_cap=1, latency_by_kind={"catalog": 0.05}) as emu:
        message = refused(emu, concurrency=4, deadline=1.0)
        assert emu.max_in_flight_by_kind["catalog"] <= 4
    assert "did not finish within --deadline 1s" in message
    assert len(message) < 5000  # the pages not read are named, a few of them


def tagged(count: int, tags: int, prefix: str = "tagged") -> list[EmulatedModel]:
    """``count`` models of ``tags`` tags each (40 characters a tag)."""
    many = tuple(f"1.0.0-a-long-build-name-{i:016d}" for i in range(tags))
    models = make_models(count, prefix=prefix)
    return [dataclasses.replace(m, tags=many, latest_tag=many[0]) for m in models]


def test_a_record_the_configmap_cannot_hold_fails_its_model_at_once() -> None:
    """Before: every record was kept until the ConfigMap was rendered, then refused as a
    whole without naming the model."""
    big = tagged(1, 30_000)
    with NgcEmulator([*big, *make_models(3)]) as emu:
        collection = collect(fast_settings(emu.url))
    assert len(collection.models) == 3
    ((failure),) = collection.failures
    assert failure.name == big[0].name
    assert "its record alone makes a ConfigMap of" in failure.reason
    assert "over the 1,048,576 bytes etcd accepts" in failure.reason


def test_records_bound_for_one_configmap_stop_the_run_once_they_cannot_fit() -> None:
    """20 records of about 100 KB: the eleventh makes the ConfigMap too big for etcd."""
    with NgcEmulator(tagged(20, 2_500), latency_by_kind={"model": 0.02}) as emu:
        with pytest.raises(RunFailed, match="stopped early") as info:
            collect(fast_settings(emu.url, concurrency=2), Scope(one_configmap=True))
        assert emu.count("model") <= 11 + 2  # and the two in flight
        unbounded = collect(fast_settings(emu.url, concurrency=8))  # fetch: no such bound
    assert "over the 1,048,576 bytes etcd accepts" in info.value.message
    assert len(unbounded.models) == 20
