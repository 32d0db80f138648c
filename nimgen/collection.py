"""What a run collects from either source (the live NGC API or a file): a ``Collection``
of snapshot models and what happened along the way, for the renderers and reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from nimgen.catalog import EuStatus, SnapshotModel


@dataclass(frozen=True)
class CatalogEntry:
    """One resource from the catalog search: enough to find and date its details."""

    resource_id: str
    org: str
    team: str | None
    name: str
    date_modified: str | None
    latest_tag: str | None
    latest_tag_pushed_date: str | None


@dataclass(frozen=True)
class ModelFailure:
    """A model that could not be collected, and why (one line, no secrets)."""

    name: str
    reason: str
    resource_id: str = ""


@dataclass(frozen=True, repr=False)
class Collection:
    models: tuple[SnapshotModel, ...]
    discovered: int
    no_tag: tuple[str, ...] = ()
    failures: tuple[ModelFailure, ...] = ()
    skipped_by_selection: int = 0
    unmatched: tuple[str, ...] = ()  # --models patterns that match no model of the source
    reused: int = 0
    fetched_at: str = ""
    # Probed from an EU vantage: each model's status and tries, by resourceId.
    eu_statuses: Mapping[str, EuStatus] = field(default_factory=dict)
    eu_attempts: Mapping[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Counts, not contents: asyncio.run() formats the repr of the main task's result
        # when it restores the SIGINT handler, which is costly for a large catalog.
        return (
            f"Collection({len(self.models)} models, discovered={self.discovered}, "
            f"{len(self.failures)} failures, {len(self.no_tag)} without a tag)"
        )


class ProgressHook(Protocol):
    def start(self, total: int | None) -> None: ...

    def add_total(self, count: int) -> None: ...

    def advance(self, name: str) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    def start(self, total: int | None) -> None: ...

    def add_total(self, count: int) -> None: ...

    def advance(self, name: str) -> None: ...

    def stop(self) -> None: ...


Logger = Callable[[str], None]
