"""What a collection run is asked for (``Scope``) and what it holds meanwhile (``RunState``),
shared by the run (``collect``) and its per-model jobs (``jobs``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nimgen.collection import CatalogEntry, ModelFailure
from nimgen.selection import Selection

if TYPE_CHECKING:
    from nimgen.catalog import EuStatus, SnapshotModel
    from nimgen.ngc.parse import ParsedPage


@dataclass(frozen=True)
class Scope:
    """Which models a run collects, which calls it makes, and what it may reuse."""

    selection: Selection = field(default_factory=Selection)
    fetch_details: bool = True
    # Reuse these records (by resourceId) when the catalog says they are unchanged.
    previous: Mapping[str, SnapshotModel] | None = None


@dataclass
class RunState:
    entries: dict[str, CatalogEntry] = field(default_factory=dict)
    records: dict[str, SnapshotModel] = field(default_factory=dict)
    eu: dict[str, EuStatus] = field(default_factory=dict)
    eu_attempts: dict[str, int] = field(default_factory=dict)
    failures: list[ModelFailure] = field(default_factory=list)
    no_tag: list[str] = field(default_factory=list)
    skipped: int = 0
    reused: int = 0
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    # Every distinct resource the catalog listed (valid or not), and invalid ones without id.
    seen_ids: set[str] = field(default_factory=set)
    unidentified: int = 0
    # Selected models (resourceId -> name) and those whose calls have all finished.
    selected: dict[str, str] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    # Pages the catalog announced, and how many of them it can need (the ones read).
    pages_announced: int = 0
    pages_to_read: int = 0
    page_size: int = 0
    result_total: int = 0
    pages_read: set[int] = field(default_factory=set)
    page_tasks: dict[asyncio.Task[ParsedPage], int] = field(default_factory=dict)

    def forget(self, task: asyncio.Task[None]) -> None:
        self.pending.discard(task)
        settle(task)


def settle(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` if it still runs; else retrieve its exception, so that asyncio does
    not log it as never retrieved (a SIGTERM raised inside it, say: reported already)."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()
