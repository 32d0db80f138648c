"""The summary table on stderr (not under ``--quiet``), and the lines printed after it."""

from __future__ import annotations

import io

from nimgen.collection import Collection
from nimgen.commands.results import (
    AirgapResult,
    ConfigMapFacts,
    FetchResult,
    GenerateResult,
    ModelLoss,
    ProbeResult,
    RenderResult,
    Result,
    ShippedModels,
    ShippedTree,
)
from nimgen.eu.rule import EuOutcome
from nimgen.report.text import first_names, visible
from nimgen.tree.check import CheckResult

Rows = list[tuple[str, str]]


def count_and_names(names: tuple[str, ...] | list[str], limit: int = 8) -> str:
    return f"{len(names)}: {first_names(names, limit)}" if names else "0"


def _collected(c: Collection, *, fetched: bool = True) -> Rows:
    rows: Rows = [("discovered", str(c.discovered))]
    if fetched:
        rows.append(("fetched", str(len(c.models) - c.reused)))
    if c.reused:
        rows.append(("reused from --previous", str(c.reused)))
    if c.skipped_by_selection:
        rows.append(("skipped by selection", str(c.skipped_by_selection)))
    rows.append(("left out (no tag)", count_and_names(c.no_tag)))
    rows.append(("failed", count_and_names([f.name for f in c.failures])))
    return rows


def _eu(outcome: EuOutcome) -> Rows:
    rows: Rows = [("EU-restricted", count_and_names(outcome.restricted))]
    if outcome.flagged_uncertain:
        rows.append(("EU flag from uncertainty", count_and_names(outcome.flagged_uncertain)))
    if outcome.source == "none":
        rows.append(("EU source", "none (--no-eu or no facts): nothing is flagged"))
    return rows


def _configmap(cm: ConfigMapFacts) -> Rows:
    size = f"{cm.size_bytes:,} bytes ({cm.share_of_limit * 100:.1f}% of the 1 MiB limit)"
    rows: Rows = [("ConfigMap", cm.name)]
    if cm.revision is not None:
        rows.append(("ConfigMap revision", str(cm.revision)))
    rows.append(("ConfigMap size", size))
    if cm.client_apply_bytes is not None and cm.share_of_client_apply_limit is not None:
        share = cm.share_of_client_apply_limit * 100
        over = "; use --server-side" if share > 100 else ""
        text = f"{cm.client_apply_bytes:,} bytes ({share:.1f}% of the 256 KiB limit{over})"
        rows.append(("client-side apply", text))
    return rows


def _loss(loss: ModelLoss | None) -> Rows:
    if loss is None or not loss.lost:
        return []
    text = f"{len(loss.lost)} of {loss.previous_models} ({loss.share:.1%}) in {loss.previous}"
    if loss.exceeded:
        return [("DROPPED since previous", f"{text}: over --max-loss {loss.max_loss_percent:g}%")]
    return [("dropped since previous", text)]


def _shipped(result: ShippedModels) -> Rows:
    output = ("output", str(result.output))
    if not isinstance(result, ShippedTree):
        return [*_eu(result.eu), output]
    return [*_eu(result.eu), *_loss(result.loss), output, *_configmap(result.configmap)]


def _selected(skipped_by_selection: int, models: int) -> Rows:
    rows: Rows = (
        [("skipped by selection", str(skipped_by_selection))] if skipped_by_selection else []
    )
    rows.append(("models shipped", str(models)))
    return rows


def rows_of(result: Result) -> tuple[str, Rows] | None:
    """The table's title and rows, or None for a command without a summary."""
    if isinstance(result, GenerateResult | FetchResult):
        check = isinstance(result, GenerateResult) and result.check is not None
        title = f"nimgen {result.command}" + (" --check" if check else "")
        shipped = ("models shipped", str(len(result.collection.models)))
        rows = [*_collected(result.collection), shipped]
        return title, rows + _shipped(result)
    if isinstance(result, RenderResult):
        rows = _selected(result.skipped_by_selection, result.models)
        return "nimgen render", rows + _shipped(result)
    if isinstance(result, AirgapResult):
        rows = _selected(result.skipped_by_selection, result.models)
        rows += [("EU-restricted", count_and_names(result.eu_restricted))]
        rows += [("output", str(result.output)), *_configmap(result.configmap)]
        return "nimgen airgap", rows
    if isinstance(result, ProbeResult):
        rows = _collected(result.collection, fetched=False)
        rows.append(("EU-restricted", count_and_names(result.names("restricted"))))
        return "nimgen probe-eu", [*rows, ("output", str(result.output))]
    return None


def summary_table(title: str, rows: Rows, width: int | None, *, ascii_only: bool = False) -> str:
    """The table for a terminal ``width`` columns wide; ASCII lines where the stream cannot
    encode box drawing; cells plain text (no markup), hidden characters escaped."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=title,
        show_header=False,
        title_justify="left",
        box=box.ASCII if ascii_only else box.HEAVY_HEAD,
    )
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, Text(visible(value)))
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, soft_wrap=True, width=width).print(table)
    return buffer.getvalue()


def check_lines(result: CheckResult) -> list[str]:
    """The short stderr summary of ``--check``."""
    if result.identical:
        models = result.diff.unchanged if result.diff is not None else 0
        return [f"check: {result.output} is up to date ({models} models); nothing written"]
    if not result.tree_exists:
        count = len(result.diff.added) if result.diff is not None else 0
        return [
            f"check: drift: no tree at {result.output} (a run would write it with "
            f"{count} models); nothing written"
        ]
    lines = [f"check: drift: {result.output} differs from this run; nothing written"]
    diff = result.diff
    if diff is None:
        lines.append(f"  its ConfigMap could not be read: {result.unreadable}")
    else:
        lines.append(f"  models: {diff.headline()}")
        if diff.added:
            lines.append(f"  added: {first_names(diff.added_names)}")
        if diff.removed:
            lines.append(f"  removed: {first_names(diff.removed_names)}")
        if diff.changed:
            described = [f"{c.name} ({', '.join(c.kinds)})" for c in diff.changed]
            lines.append(f"  changed: {first_names(described)}")
    lines.append(f"  files: {', '.join(result.files)}")
    return lines


def after_lines(result: Result) -> list[str]:
    """Lines printed after the table (not under ``--quiet``)."""
    lines: list[str] = []
    if isinstance(result, GenerateResult | FetchResult) and result.reuse is not None:
        reuse = result.reuse
        lines.append(
            f"--previous {reuse.previous}: reused {reuse.reused} record(s), fetched {reuse.fetched}"
        )
    if isinstance(result, GenerateResult) and result.check is not None:
        lines += check_lines(result.check)
    if isinstance(result, AirgapResult):
        from nimgen.report.airgap import summary_lines

        lines += summary_lines(result.plan, result.steps)
    return lines
