"""``generate``: fetch the live catalog and write the tree - ``render(fetch(...))``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nimgen.commands.common import RunLog
from nimgen.commands.live import LiveRequest, fetch_models, prepare, reporting
from nimgen.commands.render import TreeRequest, check_tree_target, write_models

if TYPE_CHECKING:
    from nimgen.commands.results import GenerateResult

# What writing the tree and the summary import: loaded while the first answers are on
# their way (about 60 ms of CPU that would otherwise follow the network phase).
RENDER_MODULES = (
    "nimgen.commands.results",
    "nimgen.output",
    "nimgen.render.tree",
    "nimgen.render.revision",
    "nimgen.commands.check",
    "nimgen.commands.previous",
    "jinja2",
    "jinja2.meta",
)
SUMMARY_MODULES = ("nimgen.report.summary", "rich.console", "rich.table")


@dataclass(frozen=True)
class GenerateRequest:
    live: LiveRequest
    tree: TreeRequest


def generate(request: GenerateRequest, log: RunLog) -> GenerateResult:
    """Everything is checked first (URL, selection, key, EU source, output): bad input
    exits 2 before any request. An EU source is required (``--no-eu`` opts out)."""
    from nimgen.commands.results import GenerateResult

    prepared = prepare(request.live, log, eu_required=True)
    shipped = check_tree_target(request.tree, log)
    fetched = fetch_models(prepared, log, while_waiting=lambda: import_render_half(log))
    with reporting(fetched.collected):
        tree = write_models(
            fetched.collection.models,
            fetched.eu.source,
            request.tree,
            log,
            shipped,
            previous=request.live.previous,
        )
    return GenerateResult(
        collected=fetched.collected,
        eu=fetched.eu,
        configmap=tree.configmap,
        output=request.tree.output,
        check=tree.check,
        reuse=fetched.reuse,
        loss=tree.loss,
    )


def import_render_half(log: RunLog) -> None:
    """Import what the render half and the summary will need (not the summary's rich
    tables under --quiet). A failure is left for the real import to report."""
    import importlib

    quiet = getattr(log, "quiet", False)  # the Console says; another RunLog prints a summary
    for name in RENDER_MODULES + (() if quiet else SUMMARY_MODULES):
        try:
            importlib.import_module(name)
        except Exception:  # the import where the module is used says why
            continue
