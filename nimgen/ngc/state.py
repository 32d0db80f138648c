"""What a collection run is asked for (``Scope``), and what it is given and holds meanwhile
(``RunState``), shared by the run (``collect``) and its per-model jobs (``jobs``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nimgen.collection import ModelFailure, ProgressHook
from nimgen.errors import RunFailed
from nimgen.selection import Selection

if TYPE_CHECKING:
    from nimgen.catalog import EuStatus, SnapshotModel
    from nimgen.ngc.client import NgcClient
    from nimgen.ngc.parse import ParsedPage


@dataclass(frozen=True)
class Scope:
    """Which models a run collects, which calls it makes, and what it may reuse."""

    selection: Selection = field(default_factory=Selection)
    fetch_details: bool = True
    # Reuse these records (by resourceId) when the catalog says they are unchanged.
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
    # The bytes of a ConfigMap of the records so far, and of one holding none.
    configmap_bytes: int = 0
    empty_configmap_bytes: int = 0

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
