"""``generate``: fetch the live catalog and write the tree - ``render(fetch(...))``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nimgen.commands.common import RunLog
from nimgen.commands.live import LiveRequest, fetch_models, importer, prepare, reporting
from nimgen.commands.render import TreeRequest, check_tree_target, write_models

if TYPE_CHECKING:
    from nimgen.commands.results import GenerateResult

# What writing the tree imports and is not loaded yet (check_tree_target loaded the
# output checks, the tree's file list and the revision reader; fetch_models --previous):
# loaded while the first answers are on their way instead of after the network phase.
RENDER_MODULES = ("nimgen.commands.results", "jinja2", "jinja2.meta")
CHECK_MODULES = ("nimgen.commands.check",)  # with the diff: --check only


@dataclass(frozen=True)
class GenerateRequest:
    live: LiveRequest
    tree: TreeRequest


def generate(request: GenerateRequest, log: RunLog) -> GenerateResult:
    """Everything is checked first (URL, selection, key, EU source, output): bad input
    exits 2 before any request. An EU source is required (``--no-eu`` opts out)."""
    prepared = prepare(request.live, log, eu_required=True)
    shipped = check_tree_target(request.tree, log)
    modules = RENDER_MODULES + (CHECK_MODULES if request.tree.check else ())
    fetched = fetch_models(prepared, log, while_waiting=importer(modules, log))
    with reporting(fetched.collected):
        tree = write_models(
            fetched.collection.models,
            fetched.eu.source,
            request.tree,
            log,
            shipped,
            previous=request.live.previous,
        )
    from nimgen.commands.results import GenerateResult  # loaded while the answers travelled

    return GenerateResult(
        collected=fetched.collected,
        eu=fetched.eu,
        configmap=tree.configmap,
        output=request.tree.output,
        check=tree.check,
        reuse=fetched.reuse,
        loss=tree.loss,
    )
