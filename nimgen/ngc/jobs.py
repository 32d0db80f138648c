"""The per-model jobs each catalog page starts.

Every selected model gets one task running its jobs (the details call, and the EU probe
when probing); a bug in a job fails that model by name instead of losing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nimgen.apikey import redact
from nimgen.catalog import EuStatus, SnapshotModel
from nimgen.collection import CatalogEntry, ModelFailure, ProgressHook
from nimgen.ngc.client import NgcClient, PermanentError, RequestFailed
from nimgen.ngc.parse import (
    ParsedPage,
    digests_from_answer,
    facts_of,
    record_from_answer,
    unchanged_since,
)
from nimgen.ngc.state import RunState, Scope


def take_page(
    page: ParsedPage,
    state: RunState,
    client: NgcClient,
    scope: Scope,
    progress: ProgressHook,
    eu_client: NgcClient | None,
) -> None:
    state.pages_read.add(page.page)
    for failure in page.invalid:
        if failure.resource_id:
            if failure.resource_id in state.seen_ids:
                continue  # listed again on another page
            state.seen_ids.add(failure.resource_id)
        else:
            state.unidentified += 1
        if scope.selection.matches(failure.name):
            state.failures.append(failure)
        else:
            state.skipped += 1
    new: list[CatalogEntry] = []
    for entry in page.entries:
        if entry.resource_id in state.seen_ids:
            continue
        state.seen_ids.add(entry.resource_id)
        if entry.latest_tag is None:
            state.no_tag.append(entry.name)
            continue
        state.entries[entry.resource_id] = entry
        if not scope.selection.matches(entry.name):
            state.skipped += 1
            continue
        new.append(entry)
    if not new:
        return
    progress.add_total(len(new))
    for entry in new:
        state.selected[entry.resource_id] = entry.name
        jobs: list[Callable[[], Awaitable[None]]] = []
        previous = scope.previous.get(entry.resource_id) if scope.previous else None
        if previous is not None and unchanged_since(entry, previous):
            state.records[entry.resource_id] = previous.replace(eu=None)
            state.reused += 1
        elif scope.fetch_details:
            jobs.append(_details_job(entry, state, client))
        if eu_client is not None:
            jobs.append(_probe_job(entry, state, eu_client))
        if not jobs:
            state.finished.add(entry.resource_id)
            progress.advance(entry.name)
            continue
        task = asyncio.create_task(_run_jobs(entry, jobs, state, progress))
        state.pending.add(task)
        task.add_done_callback(state.forget)


async def _run_jobs(
    entry: CatalogEntry,
    jobs: list[Callable[[], Awaitable[None]]],
    state: RunState,
    progress: ProgressHook,
) -> None:
    if len(jobs) == 1:
        outcomes: list[Any] = [await _outcome(jobs[0])]
    else:
        outcomes = await asyncio.gather(*(job() for job in jobs), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):  # a bug must not lose the model: name it
            if not isinstance(outcome, Exception):
                raise outcome
            text = f"internal error: {type(outcome).__name__}: {outcome}".splitlines()[0]
            state.failures.append(ModelFailure(entry.name, redact(text), entry.resource_id))
    state.finished.add(entry.resource_id)
    progress.advance(entry.name)


async def _outcome(job: Callable[[], Awaitable[None]]) -> BaseException | None:
    """``job``'s exception, if any (as ``gather(..., return_exceptions=True)`` gives it)."""
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return exc
    return None


def _details_job(
    entry: CatalogEntry, state: RunState, client: NgcClient
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            answer = await client.model_details(entry)
            record = record_from_answer(answer.body, entry)
        except (RequestFailed, PermanentError) as exc:
            state.failures.append(ModelFailure(entry.name, exc.reason, entry.resource_id))
            return
        state.records[entry.resource_id] = SnapshotModel(
            record=record,
            catalog=facts_of(entry),
            digests=digests_from_answer(answer.body, record.latestTag),
        )

    return job


def _probe_job(
    entry: CatalogEntry, state: RunState, eu_client: NgcClient
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        try:
            answer = await eu_client.model_details(entry, eu_probe=True)
        except RequestFailed as exc:
            state.eu[entry.resource_id] = EuStatus(status="inconclusive", detail=exc.reason)
            state.eu_attempts[entry.resource_id] = exc.attempts
            return
        restricted = answer.status == 451
        state.eu[entry.resource_id] = EuStatus(status="restricted" if restricted else "available")
        state.eu_attempts[entry.resource_id] = answer.attempts

    return job
