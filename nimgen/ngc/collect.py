"""One collection run: the key check, the catalog's pages, every selected model's calls.

Page 0, read alongside the key check, gives the totals and the page size (its
``params.pageSize``, else how many it lists: servers cap the size asked for). Later pages
are read at most ``--concurrency`` at a time until one is empty or short, whatever the
totals say, never past ``MAX_CATALOG_PAGES``; totals that disagree with each other or with
the pages fail the run. Per-model calls start as soon as the page naming the model
arrives; ``--deadline`` stops the run and names what did not finish.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from nimgen.collection import Collection, ModelFailure, ProgressHook
from nimgen.errors import RunFailed
from nimgen.ngc.client import NgcClient, RequestFailed, RetryableError
from nimgen.ngc.jobs import RunState, Scope, settle, take_page
from nimgen.ngc.parse import ParsedPage, parse_catalog_page
from nimgen.tree.configmap import render_configmap

# The most catalog pages one run reads: with NGC's page size that is tens of thousands of
# resources (the NIM catalog lists a few hundred). A catalog that needs more is refused.
MAX_CATALOG_PAGES = 1000
NOTHING_WRITTEN = "nothing was written"


async def collect_catalog(
    client: NgcClient,
    scope: Scope,
    progress: ProgressHook,
    *,
    eu_client: NgcClient | None = None,
) -> Collection:
    """The catalog and every selected model's details; with ``eu_client`` each selected
    model is probed through it too (``eu_statuses``, ``eu_attempts``)."""
    state = RunState(client, eu_client, scope, progress, asyncio.get_running_loop().create_future())
    state.empty_configmap_bytes = render_configmap(()).size_bytes
    state.configmap_bytes = state.empty_configmap_bytes
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        async with asyncio.timeout(client.settings.deadline):
            await _run(state)
    except TimeoutError:
        raise _deadline_failure(state, client.settings.deadline) from None
    finally:
        futures: list[asyncio.Future[Any]] = [*state.pending, *state.page_tasks, state.stop]
        for future in futures:
            settle(future)
        progress.stop()

    if scope.fetch_details:
        # Lose nothing: every selected model ends as a record or a named failure.
        failed_ids = {failure.resource_id for failure in state.failures}
        for rid, name in sorted(state.selected.items()):
            if rid not in state.records and rid not in failed_ids:
                state.failures.append(ModelFailure(name, "no result was recorded", rid))
    seen = _check_counts(state)
    models = tuple(state.records[rid] for rid in sorted(state.records))
    if eu_client is not None:
        models = tuple(model.replace(eu=state.eu.get(model.catalog.resourceId)) for model in models)
    return Collection(
        models=models,
        discovered=seen,
        no_tag=tuple(sorted(state.no_tag)),
        failures=tuple(sorted(state.failures, key=lambda f: (f.name, f.resource_id))),
        skipped_by_selection=state.skipped,
        unmatched=scope.selection.unmatched(state.names),
        reused=state.reused,
        fetched_at=started_at,
        eu_statuses=dict(state.eu),
        eu_attempts=dict(state.eu_attempts),
    )


async def _run(state: RunState) -> None:
    client = state.client
    key_check = asyncio.create_task(client.validate_key())
    try:
        try:
            page0 = await _fetch_page(client, 0, None)
        finally:  # no model call before the key is accepted; a rejected key says more
            await key_check  # than a page that failed
    finally:
        settle(key_check)
    _begin(page0, state)
    state.progress.start(None)
    take_page(page0, state)
    expected = (state.page_size, state.totals[1])
    tasks = state.page_tasks
    next_page = 1
    while True:
        last = state.pages_to_read()
        while next_page < last and len(tasks) < client.settings.concurrency:
            tasks[asyncio.create_task(_fetch_page(client, next_page, expected))] = next_page
            next_page += 1
        if not tasks:
            break
        waiting: set[asyncio.Future[Any]] = {*tasks, state.stop}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        state.check_stop()
        for task in [task for task in tasks if task.done()]:  # in page order
            del tasks[task]
            _note_page(task.result(), state)
            take_page(task.result(), state)
    while state.pending:
        jobs: set[asyncio.Future[Any]] = {*state.pending, state.stop}
        await asyncio.wait(jobs, return_when=asyncio.FIRST_COMPLETED)
        state.check_stop()


def _begin(page0: ParsedPage, state: RunState) -> None:
    """Page 0's totals and page size: counts nimgen can read, agreeing with each other."""
    total = page0.result_total
    pages = page0.page_total
    size = page0.page_size or page0.listed or 1
    needed = -(-total // size)  # integers only: a total of 10**400 is no OverflowError
    if max(needed, pages) > MAX_CATALOG_PAGES:
        raise RunFailed(
            f"the catalog announced {_count(total)} resources, {size} a page, on "
            f"{_count(pages)} pages: more than the {MAX_CATALOG_PAGES} pages nimgen reads; "
            f"refusing a broken or hostile answer; {NOTHING_WRITTEN}"
        )
    if needed != pages:
        raise RunFailed(
            f"the catalog contradicts itself: resultTotal {total} at {size} a page makes "
            f"{needed} page(s), but resultPageTotal says {pages}; {NOTHING_WRITTEN}"
        )
    state.totals = (total, pages)
    state.page_size = size
    state.frontier = pages
    _note_page(page0, state)


def _note_page(page: ParsedPage, state: RunState) -> None:
    """Where the catalog ends: a full page calls for the next one, a short one is the end."""
    if (page.result_total, page.page_total) != state.totals:
        total, pages = state.totals
        raise RunFailed(
            f"the catalog changed while it was read: page {page.page} announces "
            f"{_count(page.result_total)} resources on {_count(page.page_total)} pages, page 0 "
            f"announced {total} on {pages}; {NOTHING_WRITTEN}: run again"
        )
    state.listed[page.page] = page.listed
    if page.listed >= state.page_size:
        state.frontier = max(state.frontier, page.page + 2)
        if state.frontier > MAX_CATALOG_PAGES and state.end is None:
            raise RunFailed(
                f"the catalog goes on past the {MAX_CATALOG_PAGES} pages nimgen reads "
                f"(page {page.page} is full); {NOTHING_WRITTEN}"
            )
    elif state.end is None or page.page < state.end:
        state.end = page.page
    end = state.end
    if end is not None and any(count and page > end for page, count in state.listed.items()):
        later = min(page for page, count in state.listed.items() if count and page > end)
        raise RunFailed(
            f"the catalog contradicts itself: page {later} lists {state.listed[later]} "
            f"resource(s) after page {end} ended it; {NOTHING_WRITTEN}: run again"
        )


def _check_counts(state: RunState) -> int:
    """The distinct resources the pages listed, which must be what the totals announced."""
    total, pages = state.totals
    seen = len(state.seen_ids) + state.unidentified
    end = state.end if state.end is not None else state.frontier
    read = end + (1 if state.listed.get(end) else 0)
    if seen != total or read != pages:
        raise RunFailed(
            f"the catalog contradicts itself: it announces {total} resources on {pages} "
            f"page(s), but its pages list {seen} distinct one(s) on {read}; "
            f"{NOTHING_WRITTEN}: run again"
        )
    return seen


def _count(number: int) -> str:
    text = str(number)
    return text if len(text) <= 12 else f"a {len(text)}-digit number of"


def _deadline_failure(state: RunState, deadline: float) -> RunFailed:
    """The failure of a run cut by ``--deadline``: every unfinished model by name."""
    unfinished = sorted(name for rid, name in state.selected.items() if rid not in state.finished)
    details = [f"{name}: unfinished at the deadline" for name in unfinished]
    failures = sorted(state.failures, key=lambda failure: failure.name)
    details += [f"{failure.name}: {failure.reason}" for failure in failures]
    if not state.listed:
        what = "the NGC catalog could not be read in time (key check or first page pending)"
    else:
        last = state.pages_to_read()
        unread = [page for page in range(last) if page not in state.listed]
        what = f"{len(unfinished)} model(s) unfinished"
        if unread:
            shown = ", ".join(map(str, unread[:10]))
            more = f" and {len(unread) - 10} more" if len(unread) > 10 else ""
            what += f"; catalog page(s) {shown}{more} not read"
    return RunFailed(
        f"the run did not finish within --deadline {deadline:g}s: {what}; {NOTHING_WRITTEN}",
        details=tuple(details),
    )


async def _fetch_page(
    client: NgcClient, page: int, expected: tuple[int, int] | None, *, tries: int = 3
) -> ParsedPage:
    """Page ``page``, read up to ``tries`` times while malformed, and once more if short
    before the last (by ``expected`` size and count, else its own): an index may lag."""
    for attempt in range(tries):
        try:
            answer = await client.catalog_page(page)
            parsed = parse_catalog_page(answer.body, page)
        except RequestFailed as exc:
            raise RunFailed(f"could not read catalog page {page}: {exc.reason}") from None
        except RetryableError as exc:
            if attempt == tries - 1:
                raise RunFailed(exc.reason) from None
            continue
        size, pages = expected or (parsed.page_size or 0, parsed.page_total)
        if parsed.listed >= size or page >= pages - 1 or attempt == tries - 1:
            return parsed
        expected = (0, 0)  # short although more should follow: one more read, whatever it gives
    raise AssertionError("unreachable")  # pragma: no cover
