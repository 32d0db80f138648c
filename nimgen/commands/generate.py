"""``generate``: fetch the live catalog and write the tree - ``render(fetch(...))``."""

from __future__ import annotations

from dataclasses import dataclass

from nimgen.commands.common import RunLog
from nimgen.commands.live import LiveRequest, fetch_models, prepare, reporting
from nimgen.commands.results import GenerateResult
from nimgen.commands.tree import TreeRequest, check_tree_target, write_models


@dataclass(frozen=True)
class GenerateRequest:
    live: LiveRequest
    tree: TreeRequest


def generate(request: GenerateRequest, log: RunLog) -> GenerateResult:
    """Everything is checked first (URL, selection, key, EU source, output): bad input
    exits 2 before any request. An EU source is required (``--no-eu`` opts out)."""
    prepared = prepare(request.live, log, eu_required=True)
    shipped = check_tree_target(request.tree, log)
    fetched = fetch_models(prepared, log, one_configmap=True)
    with reporting(fetched.collection):
        tree = write_models(
            fetched.collection.models,
            fetched.eu.source,
            request.tree,
            log,
            shipped,
            previous=request.live.previous,
            previous_read=fetched.previous.names if fetched.previous is not None else None,
        )
    return GenerateResult(
        collection=fetched.collection,
        eu=fetched.eu,
        configmap=tree.configmap,
        output=request.tree.output,
        check=tree.check,
        reuse=fetched.reuse,
        loss=tree.loss,
    )
