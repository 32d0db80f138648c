"""``render``: the kustomize tree from a file, offline (no key, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen.commands.common import ModelChoice, RunLog, eu_warnings_first, log_outcome
from nimgen.commands.tree import TreeRequest, check_tree_target, write_models
from nimgen.selection import check_unmatched

if TYPE_CHECKING:
    from nimgen.commands.results import RenderResult
    from nimgen.eu.resolve import EuRequest


@dataclass(frozen=True)
class RenderRequest:
    tree: TreeRequest
    choice: ModelChoice
    eu: EuRequest
    source: Path | None = None  # a snapshot, ConfigMap or tree; None: the built-in sample


def render(request: RenderRequest, log: RunLog) -> RenderResult:
    """Render ``request.source`` offline; EU flags from --eu-list, --no-eu or the input."""
    from nimgen.collection import NullProgress
    from nimgen.commands.results import RenderResult
    from nimgen.eu.resolve import carried_eu, check_eu_source, resolve_eu
    from nimgen.snapshot import SAMPLE_DATE, SnapshotFileSource, sample_path

    source_path = request.source
    if source_path is None:
        source_path = sample_path()
        log.info(
            f"rendering the built-in sample snapshot (NIM catalog as of {SAMPLE_DATE}); "
            "use 'nimgen generate' for the live catalog"
        )
    selection = request.choice.selection()
    shipped = check_tree_target(request.tree, log)
    eu_source = check_eu_source(request.eu, required=False)
    source = SnapshotFileSource(source_path)
    collection = source.collect(selection, NullProgress())
    assert source.loaded is not None  # collect() read it
    check_unmatched(collection.unmatched, str(source_path), log.warn)
    with eu_warnings_first(log):
        outcome = resolve_eu(
            collection.models,
            eu_source,
            request.eu,
            carried=carried_eu(source.loaded),
            selection=selection,
            # A probe file is checked against the API the snapshot was fetched from.
            api_url=source.loaded.api_url,
            now=datetime.now(UTC),
        )
    log_outcome(outcome, log)
    tree = write_models(outcome.models, outcome.source, request.tree, log, shipped)
    return RenderResult(
        models=len(outcome.models),
        skipped_by_selection=collection.skipped_by_selection,
        eu=outcome,
        configmap=tree.configmap,
        output=request.tree.output,
        loss=tree.loss,
    )
