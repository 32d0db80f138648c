"""``--previous``: the records of an earlier result that an incremental run may reuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nimgen.catalog import SnapshotModel
    from nimgen.commands.common import RunLog


@dataclass(frozen=True)
class Previous:
    """The records of an earlier run that ``--previous`` may reuse, by resourceId."""

    path: Path
    kind: str  # "snapshot", "configmap" or "tree"
    by_id: dict[str, SnapshotModel]
    names: tuple[str, ...]  # every model it holds, for the loss check of a run that writes a tree
    # How many carry the catalog facts (dateModified, latestTagPushedDate) reuse needs.
    with_facts: int
    api_url: str | None = None  # the NGC API a snapshot was fetched from


def load_previous(path: Path) -> Previous:
    """Read ``--previous`` (a snapshot, ConfigMap or tree) into reusable records.

    A reused record must equal what the per-model call would give, so its tags
    are put in canonical order and its EU flag is cleared: the flag belongs to
    this run (a fetched record starts with ``euRestricted: false`` too).
    """
    from nimgen.snapshot import load_models

    loaded = load_models(path)
    by_id: dict[str, SnapshotModel] = {}
    with_facts = 0
    for model in loaded.models:
        record = model.record.canonical().replace(euRestricted=False)
        by_id[model.catalog.resourceId] = model.replace(record=record, eu=None)
        facts = model.catalog
        if facts.dateModified is not None or facts.latestTagPushedDate is not None:
            with_facts += 1
    kind = "tree" if path.is_dir() else loaded.kind
    names = tuple(model.record.name for model in loaded.models)
    return Previous(path, kind, by_id, names, with_facts, loaded.api_url)


def reusable_records(
    previous: Path | None, full: bool, log: RunLog, api_url: str
) -> Previous | None:
    """What ``--previous`` offers for reuse, or None (none given, or --full). Each record
    is reused only where the live catalog entry says nothing changed (``unchanged_since``)."""
    if previous is None:
        return None
    if full:
        log.info(f"--full: fetching every model; --previous {previous} is ignored")
        return None
    loaded = load_previous(previous)
    if loaded.by_id and not loaded.with_facts:
        log.warn(
            f"--previous {previous} is a {loaded.kind} without the catalog facts "
            "(dateModified, latestTagPushedDate) that reuse needs, so every model is "
            "fetched; give a snapshot from 'nimgen fetch' to reuse records"
        )
    if loaded.api_url is not None and loaded.api_url.rstrip("/") != api_url.rstrip("/"):
        log.warn(
            f"--previous {previous} was fetched from the NGC API {loaded.api_url}, not this "
            f"run's {api_url}: its records are reused only where this catalog's entry "
            "agrees with them"
        )
    return loaded
