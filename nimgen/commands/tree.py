"""The output tree of ``generate`` and ``render``: guard it (before anything is written),
build it, write it or (``--check``) compare it, and count the models it drops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from nimgen.errors import NimgenError, RunFailed
from nimgen.report.tree import FIXED_NAME, client_side_apply_warning, loss_warning
from nimgen.tree.check import CheckResult, check_tree
from nimgen.tree.configmap import MAX_ANNOTATION_BYTES, MAX_OBJECT_BYTES, render_configmap
from nimgen.tree.layout import TREE_FILES, render_tree
from nimgen.tree.revision import read_previous
from nimgen.tree.template import render_template
from nimgen.tree.write import check_output_dir, write_tree

if TYPE_CHECKING:
    from nimgen.catalog import SnapshotModel
    from nimgen.commands.common import RunLog
    from nimgen.commands.results import ConfigMapFacts, ModelLoss
    from nimgen.tree.configmap import PreviousConfigMap, RenderedConfigMap


@dataclass(frozen=True)
class TreeRequest:
    """Where and how to write the tree (``generate`` and ``render`` alike)."""

    output: Path
    max_loss_percent: float
    versioned: bool = True
    check: bool = False
    allow_empty: bool = False


def check_unique_names(models: tuple[SnapshotModel, ...]) -> None:
    """A ConfigMap key is a model name: two resources (two teams) with one name cannot ship."""
    names: dict[str, str] = {}
    for model in models:
        other = names.setdefault(model.record.name, model.catalog.resourceId)
        if other != model.catalog.resourceId:
            raise RunFailed(
                f"two catalog resources share the name {model.record.name!r} "
                f"({other} and {model.catalog.resourceId}); a ConfigMap key must be unique"
            )


def check_not_empty(models: tuple[SnapshotModel, ...], allow_empty: bool, what: str) -> None:
    """A run that would ship no models fails: an outage page, a wrong org or an over-narrow
    ``--models`` would otherwise replace a full tree with an empty one."""
    if not models and not allow_empty:
        raise RunFailed(
            f"the run found no model to ship, so {what} was not written (an outage, a wrong "
            "org, or --models/--exclude matching nothing?); --allow-empty writes it anyway"
        )


def build_tree(
    models: tuple[SnapshotModel, ...],
    *,
    versioned: bool,
    eu_source: str,
    previous: PreviousConfigMap | None = None,
) -> tuple[RenderedConfigMap, dict[str, bytes]]:
    """The ConfigMap and every file of the tree, refused when over etcd's object limit.
    ``previous`` (the tree in --output) sets the revision annotation readers order by."""
    check_unique_names(models)
    configmap = render_configmap(
        (m.record for m in models),
        versioned=versioned,
        eu_source=eu_source,
        previous=previous,
        revisioned=True,
    )
    if configmap.size_bytes >= MAX_OBJECT_BYTES:
        raise RunFailed(
            f"the ConfigMap would be {configmap.size_bytes:,} bytes, over the "
            f"{MAX_OBJECT_BYTES:,} bytes etcd accepts; narrow the models with --models/--exclude"
        )
    return configmap, render_tree(configmap, render_template())


def previous_names(path: Path) -> tuple[str, ...] | None:
    """The model names of an earlier result (a tree, ConfigMap or snapshot); None if there is
    none or it cannot be read (the run itself decides whether that matters)."""
    from nimgen.snapshot import load_models

    try:
        return tuple(m.record.name for m in load_models(path).models) if path.exists() else None
    except NimgenError:
        return None


def model_loss(
    previous: Path | None,
    names: tuple[str, ...] | None,
    models: tuple[SnapshotModel, ...],
    max_loss_percent: float,
    log: RunLog,
) -> ModelLoss | None:
    """How many of the previous result's models this run drops; a warning over the threshold."""
    from nimgen.commands.results import ModelLoss

    if previous is None or not names:
        return None
    lost = tuple(sorted(set(names) - {m.record.name for m in models}))
    loss = ModelLoss(str(previous), len(set(names)), lost, max_loss_percent)
    if loss.exceeded:
        log.warn(loss_warning(loss))
    return loss


class Tree(NamedTuple):
    """What ``write_models`` found, for the command to put in its result."""

    configmap: ConfigMapFacts
    check: CheckResult | None
    loss: ModelLoss | None


def check_tree_target(request: TreeRequest, log: RunLog) -> PreviousConfigMap | None:
    """Refuse an output that is not ours (exit 2) and read its ConfigMap's revision, before
    any network work; warn about a fixed name."""
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
    previous_read: tuple[str, ...] | None = None,
) -> Tree:
    """Render the tree and write it (or compare it); ``shipped`` sets the revision, and the
    models lost since the tree in ``output`` (else ``previous``) are counted.
    ``previous_read``: the names in ``previous`` when the run has read it already."""
    from nimgen.commands.results import ConfigMapFacts

    check_not_empty(models, request.allow_empty, "the tree")
    configmap, files = build_tree(
        models, versioned=request.versioned, eu_source=eu_source, previous=shipped
    )
    if configmap.apply_annotation_bytes > MAX_ANNOTATION_BYTES:
        log.warn(client_side_apply_warning(configmap.apply_annotation_bytes, MAX_ANNOTATION_BYTES))
    # The tree's names were read before the run (check_tree_target): not read twice.
    compared: Path | None
    if shipped is not None:
        compared, names = request.output, shipped.names
    else:
        compared, names = previous, previous_read
        if names is None and previous is not None:  # not read before the run (--full)
            names = previous_names(previous)
    loss = model_loss(compared, names, models, request.max_loss_percent, log)
    checked = check_tree(request.output, files, models) if request.check else None
    if checked is None:
        write_tree(request.output, files, owned=TREE_FILES, result=True)
    return Tree(ConfigMapFacts.of(configmap), checked, loss)
