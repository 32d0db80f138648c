"""``render``: the kustomize tree from a file, offline; and the tree half of ``generate``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nimgen.commands.common import ModelChoice, RunLog, eu_warnings_first, log_outcome
from nimgen.commands.tree import (
    build_tree,
    check_not_empty,
    model_loss,
    previous_names,
    write_output_tree,
)
from nimgen.selection import check_unmatched
from nimgen.tree.layout import BASE_CONFIGMAP, TREE_FILES

if TYPE_CHECKING:
    from nimgen.catalog import SnapshotModel
    from nimgen.commands.results import ConfigMapFacts, ModelLoss, RenderResult
    from nimgen.eu import EuRequest
    from nimgen.tree.check import CheckResult
    from nimgen.tree.configmap import PreviousConfigMap


@dataclass(frozen=True)
class TreeRequest:
    """Where and how to write the tree (``generate`` and ``render`` alike)."""

    output: Path
    max_loss_percent: float
    versioned: bool = True
    check: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class RenderRequest:
    tree: TreeRequest
    choice: ModelChoice
    eu: EuRequest
    # A snapshot, ConfigMap or tree; None renders the built-in sample snapshot.
    source: Path | None = None


class Tree(NamedTuple):
    """What ``write_models`` found, for the command to put in its result."""

    configmap: ConfigMapFacts
    check: CheckResult | None
    loss: ModelLoss | None


def check_tree_target(request: TreeRequest, log: RunLog) -> PreviousConfigMap | None:
    """Refuse an output that is not ours before any work (exit 2); warn about a fixed name.

    Returns what the ConfigMap already in ``output`` says (read once, here, so a revision
    nimgen cannot continue fails before any network work)."""
    from nimgen.report.tree import FIXED_NAME
    from nimgen.tree.revision import read_previous
    from nimgen.tree.write import check_output_dir

    check_output_dir(request.output, TREE_FILES, writable=not request.check)
    if not request.versioned:
        log.warn(FIXED_NAME)
    return read_previous(request.output)


def write_models(
    models: tuple[SnapshotModel, ...],
    eu_source: str,
    request: TreeRequest,
    log: RunLog,
    shipped: PreviousConfigMap | None,
    *,
    previous: Path | None = None,
) -> Tree:
    """Render the tree and write it (or, with ``check``, compare it with ``output``).

    ``shipped`` is what ``check_tree_target`` read of the ConfigMap in ``output``: it sets
    the revision. The models lost since the previous result - the tree in ``output``,
    else ``previous`` - are counted, and over ``max_loss_percent`` warned about.
    """
    from nimgen.commands.results import ConfigMapFacts
    from nimgen.report.tree import client_side_apply_warning
    from nimgen.tree.configmap import MAX_ANNOTATION_BYTES

    check_not_empty(models, request.allow_empty, "the tree")
    configmap, files = build_tree(
        models, versioned=request.versioned, eu_source=eu_source, previous=shipped
    )
    if configmap.apply_annotation_bytes > MAX_ANNOTATION_BYTES:
        log.warn(client_side_apply_warning(configmap.apply_annotation_bytes, MAX_ANNOTATION_BYTES))
    compared = request.output if (request.output / BASE_CONFIGMAP).is_file() else previous
    # The tree's names were read before the run (check_tree_target): not read twice.
    names = shipped.names if compared is request.output and shipped is not None else None
    if names is None and compared is not None:
        names = previous_names(compared)
    loss = model_loss(compared, names, models, request.max_loss_percent, log)
    result = None
    if request.check:
        from nimgen.tree.check import check_tree  # and the diff: only for --check

        result = check_tree(request.output, files, models)
    else:
        write_output_tree(request.output, files)
    return Tree(ConfigMapFacts.of(configmap), result, loss)


def render(request: RenderRequest, log: RunLog) -> RenderResult:
    """Render ``request.source`` offline; EU flags from --eu-list, --no-eu or the input."""
    from nimgen.collection import NullProgress
    from nimgen.commands.results import RenderResult
    from nimgen.eu import carried_eu, check_eu_source, resolve_eu
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
