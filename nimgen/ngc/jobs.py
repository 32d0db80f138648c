"""A collection run's scope and state, and the jobs each catalog page starts per model
(the details call, the EU probe). A bug in a job fails that model by name instead of
losing it. A record too big for a ConfigMap fails its model as soon as it arrives;
records bound for one ConfigMap stop the run once they cannot fit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from nimgen.apikey import redact
from nimgen.catalog import EuStatus, ModelRecord, SnapshotModel
from nimgen.collection import CatalogEntry, ModelFailure, ProgressHook
from nimgen.errors import RunFailed
from nimgen.ngc.client import NgcClient, PermanentError, RequestFailed
from nimgen.ngc.parse import (
    ParsedPage,
    digests_from_answer,
    facts_of,
    record_from_answer,
    unchanged_since,
)
from nimgen.selection import Selection
from nimgen.tags import canonical_tags, tag_problem
from nimgen.tree.configmap import MAX_OBJECT_BYTES, entry_bytes, render_configmap


@dataclass(frozen=True)
class Scope:
    """Which models a run collects, which calls it makes, and what it may reuse."""

    selection: Selection = field(default_factory=Selection)
    fetch_details: bool = True
    # Reuse these records (by resourceId) when the catalog says they are unchanged; their
    # EU status already cleared (commands/previous.py), as it belongs to this run.
    previous: Mapping[str, SnapshotModel] | None = None
    # The records go into one ConfigMap (generate): stop as soon as they cannot fit.
    one_configmap: bool = False


@dataclass
class RunState:
    client: NgcClient
    eu_client: NgcClient | None  # probes every selected model when given
    scope: Scope
    progress: ProgressHook
    # Set (to the run's failure) by whatever must stop the run at once.
    stop: asyncio.Future[None]
    records: dict[str, SnapshotModel] = field(default_factory=dict)
    eu: dict[str, EuStatus] = field(default_factory=dict)
    eu_attempts: dict[str, int] = field(default_factory=dict)
    failures: list[ModelFailure] = field(default_factory=list)
    no_tag: list[str] = field(default_factory=list)
    skipped: int = 0
    names: set[str] = field(default_factory=set)  # every model the catalog lists
    reused: int = 0
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    # Every distinct resource the catalog listed (valid or not), and invalid ones without id.
    seen_ids: set[str] = field(default_factory=set)
    unidentified: int = 0
    # Selected models (resourceId -> name) and those whose calls have all finished.
    selected: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    # Page 0's totals (resultTotal, resultPageTotal) and page size; how many pages must be
    # read (those before a full page), the first short one (the end), what each listed.
    totals: tuple[int, int] = (0, 0)
    page_size: int = 1
    frontier: int = 1
    end: int | None = None
    listed: dict[int, int] = field(default_factory=dict)
    page_tasks: dict[asyncio.Task[ParsedPage], int] = field(default_factory=dict)
    # At most the bytes of a ConfigMap of the records so far (tree.configmap.entry_bytes),
    # and those of one holding none.
    configmap_bytes: int = 0
    empty_configmap_bytes: int = 0

    def pages_to_read(self) -> int:
        """Pages 0 up to this one (excluded) must be read: to the frontier, not past the end."""
        return self.frontier if self.end is None else min(self.frontier, self.end + 1)

    def forget(self, task: asyncio.Task[None]) -> None:
        self.pending.discard(task)
        settle(task)

    def stop_with(self, failure: RunFailed) -> None:
        if not self.stop.done():
            self.stop.set_exception(failure)

    def check_stop(self) -> None:
        if self.stop.done():
            self.stop.result()  # raises the failure it holds


def settle(future: asyncio.Future[Any]) -> None:
    """Cancel ``future`` if it still runs; else retrieve its exception, so that asyncio does
    not log it as never retrieved (a SIGTERM raised inside it, say: reported already)."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()


Job = Coroutine[Any, Any, None]


def take_page(page: ParsedPage, state: RunState) -> None:
    scope = state.scope
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
        state.names.add(entry.name)
        if entry.latest_tag is None:
            state.no_tag.append(entry.name)
            continue
        if not scope.selection.matches(entry.name):
            state.skipped += 1
            continue
        new.append(entry)
    state.progress.add_total(len(new))
    for entry in new:
        state.selected[entry.resource_id] = entry.name
        jobs: list[Job] = []
        previous = scope.previous.get(entry.resource_id) if scope.previous else None
        if previous is not None and unchanged_since(entry, previous):
            size = entry_bytes(previous.record)
            if fits(entry, size, state):
                keep(entry, previous, size, state)
                state.reused += 1
        elif scope.fetch_details:
            jobs.append(_details(entry, state))
        if state.eu_client is not None:
            jobs.append(_probe(entry, state, state.eu_client))
        if not jobs:
            state.finished.add(entry.resource_id)
            state.progress.advance(entry.name)
            continue
        task = asyncio.create_task(_run_jobs(entry, jobs, state))
        state.pending.add(task)
        task.add_done_callback(state.forget)


async def _run_jobs(entry: CatalogEntry, jobs: list[Job], state: RunState) -> None:
    for outcome in await asyncio.gather(*jobs, return_exceptions=True):
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancelled, or a signal: not this model's failure
        if isinstance(outcome, Exception):  # a bug must not lose the model: name it
            text = f"internal error: {type(outcome).__name__}: {outcome}".splitlines()[0]
            state.failures.append(ModelFailure(entry.name, redact(text), entry.resource_id))
    state.finished.add(entry.resource_id)
    state.progress.advance(entry.name)


def fits(entry: CatalogEntry, size: int, state: RunState) -> bool:
    """Whether a ConfigMap of this record alone (its entry ``size`` bytes) fits; else the
    model fails."""
    size += state.empty_configmap_bytes
    if size < MAX_OBJECT_BYTES:
        return True
    reason = (
        f"its record alone makes a ConfigMap of {size:,} bytes, over the "
        f"{MAX_OBJECT_BYTES:,} bytes etcd accepts"
    )
    state.failures.append(ModelFailure(entry.name, reason, entry.resource_id))
    return False


def keep(entry: CatalogEntry, model: SnapshotModel, size: int, state: RunState) -> None:
    """Keep ``model``; stop the run once the records bound for one ConfigMap cannot fit."""
    state.records[entry.resource_id] = model
    state.configmap_bytes += size
    # Less a byte a model: an EU flag set later writes "true" for "false".
    if state.scope.one_configmap and state.configmap_bytes - len(state.records) >= MAX_OBJECT_BYTES:
        # Over by the estimate: the rendered size decides (once it decides, the run stops).
        records = (m.record for m in state.records.values())
        state.configmap_bytes = render_configmap(records).size_bytes
        if state.configmap_bytes - len(state.records) >= MAX_OBJECT_BYTES:
            failure = RunFailed(
                f"the {len(state.records)} models collected so far make a ConfigMap of "
                f"{state.configmap_bytes:,} bytes, over the {MAX_OBJECT_BYTES:,} bytes etcd "
                "accepts: stopped early, nothing was written; choose fewer models with "
                "--models or --exclude"
            )
            state.stop_with(failure)


def _sized_record(body: Any, entry: CatalogEntry) -> tuple[ModelRecord | None, int]:
    """The record of a per-model answer and its ``entry_bytes`` (no record when too big),
    measured before the tags are sorted, costly for a hostile answer of very many tags; an
    answer the record's rules refuse goes the whole way, which names the problem."""
    tags = body.get("tags") if isinstance(body, dict) else None
    latest = body.get("latestTag") if isinstance(body, dict) else None
    if (
        isinstance(tags, list)
        and latest in tags
        and all(type(tag) is str and tag_problem(tag) is None for tag in tags)
    ):
        head = record_from_answer({**body, "tags": [latest]}, entry)
        size = entry_bytes(head.replace(tags=tuple(dict.fromkeys(tags))))
        # Every other field comes from the same body, and every tag was checked above.
        return (head.replace(tags=canonical_tags(tags)) if size < MAX_OBJECT_BYTES else None), size
    record = record_from_answer(body, entry)  # says what is wrong with the answer
    return record, entry_bytes(record)


async def _details(entry: CatalogEntry, state: RunState) -> None:
    try:
        answer = await state.client.model_details(entry)
        record, size = _sized_record(answer.body, entry)
    except (RequestFailed, PermanentError) as exc:
        state.failures.append(ModelFailure(entry.name, exc.reason, entry.resource_id))
        return
    if not fits(entry, size, state) or record is None:
        return
    digests = digests_from_answer(answer.body, record.latestTag)
    model = SnapshotModel(record=record, catalog=facts_of(entry), digests=digests)
    keep(entry, model, size, state)


async def _probe(entry: CatalogEntry, state: RunState, eu_client: NgcClient) -> None:
    try:
        answer = await eu_client.model_details(entry, eu_probe=True)
    except RequestFailed as exc:
        state.eu[entry.resource_id] = EuStatus(status="inconclusive", detail=exc.reason)
        state.eu_attempts[entry.resource_id] = exc.attempts
        return
    restricted = answer.status == 451
    state.eu[entry.resource_id] = EuStatus(status="restricted" if restricted else "available")
    state.eu_attempts[entry.resource_id] = answer.attempts
