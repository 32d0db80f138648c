"""One collection run: the key check, the catalog's pages, every selected model's calls.

Page 0 (with the key check alongside) says how many pages there are; the others are
fetched a window at a time (never more page tasks than ``--concurrency``), and
per-model calls start as soon as the page naming the model arrives. A page count is
believed only as far as the catalog's ``resultTotal`` and the server's page size can
need it, and never past ``MAX_CATALOG_PAGES``: an answer announcing a billion pages
costs nothing. ``--deadline`` stops the whole run and names what did not finish.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from nimgen.collection import Collection, ModelFailure, ProgressHook
from nimgen.errors import RunFailed
from nimgen.ngc.client import NgcClient, RequestFailed, RetryableError
from nimgen.ngc.jobs import take_page
from nimgen.ngc.parse import ParsedPage, parse_catalog_page
from nimgen.ngc.state import RunState, Scope, settle

# The most catalog pages one run reads: with NGC's page size that is tens of thousands of
# resources (the NIM catalog lists a few hundred). A catalog that needs more is refused.
MAX_CATALOG_PAGES = 1000


async def collect_catalog(
    client: NgcClient,
    scope: Scope,
    progress: ProgressHook,
    *,
    eu_client: NgcClient | None = None,
    validate_key: bool = True,
) -> Collection:
    """Discover the catalog and fetch every selected model's details concurrently.

    With ``eu_client`` every selected model is probed through it too: its status is on
    the model, and on the collection with the tries it took (``eu_statuses``).
    With ``ClientSettings.deadline`` the whole collection stops when the deadline passes
    and fails naming every model not finished by then.
    """
    state = RunState()
    started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deadline = client.settings.deadline
    try:
        if deadline is not None:
            async with asyncio.timeout(deadline):
                await _run(client, scope, progress, state, eu_client, validate_key)
        else:
            await _run(client, scope, progress, state, eu_client, validate_key)
    except TimeoutError:
        assert deadline is not None
        raise _deadline_failure(state, deadline) from None
    finally:
        for task in (*state.pending, *state.page_tasks):
            settle(task)
        progress.stop()

    if scope.fetch_details:
        # Lose nothing: every selected model ends as a record or a named failure.
        failed_ids = {f.resource_id for f in state.failures}
        for rid, name in sorted(state.selected.items()):
            if rid not in state.records and rid not in failed_ids:
                state.failures.append(ModelFailure(name, "no result was recorded", rid))
    seen = len(state.seen_ids) + state.unidentified
    if seen < state.result_total:
        raise RunFailed(
            f"the catalog announced {state.result_total} resources but only {seen} distinct "
            "ones could be read (it changed while being paged, or a page came back short); "
            "nothing was written: run again",
            details=tuple(f"catalog page {p}: not read" for p in _unread_pages(state)),
        )
    models = tuple(state.records[rid] for rid in sorted(state.records))
    if eu_client is not None:
        models = tuple(m.replace(eu=state.eu.get(m.catalog.resourceId)) for m in models)
    return Collection(
        models=models,
        discovered=seen,
        no_tag=tuple(sorted(state.no_tag)),
        failures=tuple(sorted(state.failures, key=lambda f: (f.name, f.resource_id))),
        skipped_by_selection=state.skipped,
        reused=state.reused,
        fetched_at=started_at,
        eu_statuses=dict(state.eu),
        eu_attempts=dict(state.eu_attempts),
    )


async def _run(
    client: NgcClient,
    scope: Scope,
    progress: ProgressHook,
    state: RunState,
    eu_client: NgcClient | None,
    validate_key: bool,
) -> None:
    key_task = asyncio.create_task(client.validate_key()) if validate_key else None
    try:
        try:
            first = await client.catalog_page(0)
        except RequestFailed as exc:
            if key_task is not None:
                await key_task
            raise RunFailed(f"could not read the NGC catalog: {exc.reason}") from None
        if key_task is not None:
            await key_task
    finally:
        if key_task is not None:
            settle(key_task)
    try:
        page0 = _parse_page(first.body, 0)
    except RetryableError:
        # A malformed first page is read again, like any other page.
        page0 = await _fetch_page(client, 0, tries=2)
    page0 = await _reread_if_empty(client, page0)
    progress.start(None)
    state.page_size = page0.listed
    _note_totals(page0, state)
    take_page(page0, state, client, scope, progress, eu_client)
    window = max(1, client.settings.concurrency)
    next_page = 1
    tasks = state.page_tasks
    while True:
        while next_page < state.pages_to_read and len(tasks) < window:
            tasks[asyncio.create_task(_fetch_page(client, next_page))] = next_page
            next_page += 1
        if not tasks:
            break
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            del tasks[task]
            parsed = task.result()
            # The catalog may grow while we read it: later pages can announce more.
            _note_totals(parsed, state)
            take_page(parsed, state, client, scope, progress, eu_client)
    while state.pending:
        await asyncio.wait(set(state.pending))


def _note_totals(page: ParsedPage, state: RunState) -> None:
    """Raise the announced totals, believing a page count only as far as it can be needed.

    The pages ``resultTotal`` needs at the server's page size (what page 0 listed), plus
    one for a catalog growing while paged; a catalog needing more than
    ``MAX_CATALOG_PAGES`` is refused outright.
    """
    state.result_total = max(state.result_total, page.result_total)
    state.pages_announced = max(state.pages_announced, page.page_total)
    needed = math.ceil(state.result_total / max(1, state.page_size))
    if needed > MAX_CATALOG_PAGES:
        raise RunFailed(
            f"the catalog announced {state.result_total} resources, "
            f"{max(1, state.page_size)} a page: more than the {MAX_CATALOG_PAGES} pages "
            "nimgen reads; refusing a broken or hostile answer; nothing was written"
        )
    state.pages_to_read = max(state.pages_to_read, min(state.pages_announced, needed + 1))


def _unread_pages(state: RunState) -> list[int]:
    return [p for p in range(state.pages_to_read) if p not in state.pages_read]


def _deadline_failure(state: RunState, deadline: float) -> RunFailed:
    """The failure of a run cut by ``--deadline``: every unfinished model by name."""
    unfinished = sorted(name for rid, name in state.selected.items() if rid not in state.finished)
    details = [f"{name}: unfinished at the deadline" for name in unfinished]
    details += [f"{f.name}: {f.reason}" for f in sorted(state.failures, key=lambda f: f.name)]
    if not state.pages_read:
        what = "the NGC catalog could not be read in time (key check or first page pending)"
    else:
        unread = _unread_pages(state)
        what = f"{len(unfinished)} model(s) unfinished"
        if unread:
            shown = ", ".join(map(str, unread[:10]))
            more = f" and {len(unread) - 10} more" if len(unread) > 10 else ""
            what += f"; catalog page(s) {shown}{more} not read"
    return RunFailed(
        f"the run did not finish within --deadline {deadline:g}s: {what}; nothing was written",
        details=tuple(details),
    )


def _parse_page(body: Any, page: int) -> ParsedPage:
    return parse_catalog_page(body, page)


async def _fetch_page(client: NgcClient, page: int, *, tries: int = 3) -> ParsedPage:
    # A malformed page is retried like a failed request, a few times.
    for attempt in range(tries):
        try:
            answer = await client.catalog_page(page)
        except RequestFailed as exc:
            raise RunFailed(f"could not read catalog page {page}: {exc.reason}") from None
        try:
            parsed = _parse_page(answer.body, page)
        except RetryableError as exc:
            if attempt == tries - 1:
                raise RunFailed(exc.reason) from None
            continue
        return await _reread_if_empty(client, parsed)
    raise AssertionError("unreachable")  # pragma: no cover


async def _reread_if_empty(client: NgcClient, parsed: ParsedPage) -> ParsedPage:
    """Read a page once more when it lists nothing although the catalog says it should.

    A search index may answer a page empty for a moment; if the second read is
    empty too, the count check after paging fails the run instead of shipping short.
    """
    if parsed.entries or parsed.invalid or parsed.page >= parsed.page_total:
        return parsed
    try:
        answer = await client.catalog_page(parsed.page)
        again = _parse_page(answer.body, parsed.page)
    except (RequestFailed, RetryableError):
        return parsed
    return again
