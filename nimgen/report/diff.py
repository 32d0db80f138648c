"""The ``nimgen diff`` report as markdown (a PR description / QE report), JSON, or a table:
the same ``CatalogDiff`` gives the same bytes. What came from outside is shown as text."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

from nimgen.airgap.refs import SOURCE_REGISTRY
from nimgen.catalog import ModelRecord
from nimgen.commands.results import ModelLoss
from nimgen.report.text import encodable, pick, visible
from nimgen.report.tree import DEFAULT_MAX_LOSS_PERCENT
from nimgen.tree.diff import CatalogDiff, DiffSide, ModelChange

ARROW = "\u2192"
DOT = " \u00b7 "
_MD_SPECIAL = set("\\`*_[]<>|#&")
_Row = tuple[str | list[str], ...]  # a table's row: a list is a cell of several lines
# After '@' a zero-width space (as an entity): GitHub then links no @user or @org/team.
_NO_MENTION = "@&#8203;"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _moved(
    change: ModelChange, show: Callable[[str], str], arrow: str, bold: str = ""
) -> tuple[str, str]:
    """The latest-tag and EU cells of a changed model: ``old -> new`` where it moved."""
    old, new = change.old, change.new
    latest = f"{show(old.latestTag)} {arrow} " if change.latest_tag_moved else ""
    eu = f"{_yes(old.euRestricted)} {arrow} " if change.eu_flipped else ""
    flag = f"{bold}{_yes(new.euRestricted)}{bold}" if change.eu_flipped else _yes(new.euRestricted)
    return latest + show(new.latestTag), eu + flag


def _side_json(side: DiffSide) -> dict[str, Any]:
    return {
        "source": side.label,
        "kind": side.kind,
        "models": side.models,
        "configMap": side.configmap_name,
    }


def _old_new(moved: bool, old: object, new: object) -> dict[str, object] | None:
    return {"old": old, "new": new} if moved else None


def _change_json(change: ModelChange) -> dict[str, Any]:
    """Every key present, ``null`` / empty where that part did not change."""
    old, new = change.old, change.new
    return {
        "name": change.name,
        "changes": list(change.kinds),
        "tagsAdded": list(change.tags_added),
        "tagsRemoved": list(change.tags_removed),
        "latestTag": _old_new(change.latest_tag_moved, old.latestTag, new.latestTag),
        "euRestricted": _old_new(change.eu_flipped, old.euRestricted, new.euRestricted),
        "fields": {f.field: {"old": f.old, "new": f.new} for f in change.fields},
    }


def render_json(diff: CatalogDiff) -> str:
    document = {
        "identical": diff.identical,
        "counts": {
            "added": len(diff.added),
            "removed": len(diff.removed),
            "changed": len(diff.changed),
            "unchanged": diff.unchanged,
        },
        "old": _side_json(diff.old),
        "new": _side_json(diff.new),
        "added": list(diff.added_names),
        "removed": list(diff.removed_names),
        "changed": [_change_json(c) for c in diff.changed],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _text(value: str) -> str:
    """Plain text safe in a markdown table cell or list item: no markup, no mention."""
    flat = " ".join(visible(value).split())
    escaped = "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in flat)
    return escaped.replace("@", _NO_MENTION)


def _code(value: str) -> str:
    """A code span that holds any text: its fence is one backtick longer than the longest
    run inside (CommonMark), so a tag holding backticks cannot end it early."""
    flat = " ".join(visible(value).split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}" if longest else f"{fence}{flat}{fence}"


def _side_md(side: DiffSide) -> str:
    configmap = f", ConfigMap {_code(side.configmap_name)}" if side.configmap_name else ""
    return f"{_code(side.label)} ({side.kind}{configmap}, {side.models} models)"


def _table(title: str, header: str, rows: list[str]) -> list[str]:
    if not rows:
        return []
    columns = header.count("|") - 1
    return ["", f"### {title} ({len(rows)})", "", header, "|---" * columns + "|", *rows]


def _eu_section(diff: CatalogDiff) -> list[str]:
    """The EU flag changes, first: they change the dashboard's EU warning, and a flood of
    them usually means the EU source changed (a probe not from the EU, a lost proxy)."""
    rows = [
        (c.name, _yes(c.old.euRestricted), c.new.euRestricted) for c in diff.changed if c.eu_flipped
    ]
    rows += [(r.name, "new model", True) for r in diff.added if r.euRestricted]
    now = sum(1 for _, _, new in rows if new)
    table = [f"| {_code(name)} | {old} | **{_yes(new)}** |" for name, old, new in sorted(rows)]
    lines = _table("EU restrictions", "| model | before | after |", table)
    summary = f"{now} now EU-restricted{DOT}{len(rows) - now} no longer EU-restricted"
    return [*lines[:3], summary, "", *lines[3:]] if lines else []


def _loss_warning(diff: CatalogDiff) -> list[str]:
    """A warning when the new side drops more than --max-loss's default share."""
    loss = ModelLoss(diff.old.label, diff.old.models, diff.removed_names, DEFAULT_MAX_LOSS_PERCENT)
    if not loss.exceeded:
        return []
    return [
        "",
        f"> **Warning: {len(loss.lost)} of {loss.previous_models} models ({loss.share:.0%}) "
        "removed.** Check the catalog, the key's org and --models before merging.",
    ]


def render_markdown(diff: CatalogDiff) -> str:
    lines = ["## NIM catalog changes", ""]
    if diff.identical:
        lines.append(f"**No changes**: both sides ship the same {diff.unchanged} models.")
    else:
        counts = f"{len(diff.added)} added{DOT}{len(diff.removed)} removed{DOT}"
        lines.append(f"**{counts}{len(diff.changed)} changed**{DOT}{diff.unchanged} unchanged")
    lines += ["", f"- before: {_side_md(diff.old)}", f"- after: {_side_md(diff.new)}"]
    lines += _loss_warning(diff) + _eu_section(diff)

    def known(record: ModelRecord) -> str:
        """The cells Added and Removed share: model, display name, image, latest tag."""
        image = _code(f"{SOURCE_REGISTRY}/{record.namespace}/{record.name}")
        cells = (_code(record.name), _text(record.displayName), image, _code(record.latestTag))
        return "| " + " | ".join(cells) + " |"

    lines += _table(
        "Added",
        "| model | display name | image | latest tag | tags | EU-restricted |",
        [f"{known(r)} {len(r.tags)} | {_yes(r.euRestricted)} |" for r in diff.added],
    )
    lines += _table(
        "Removed",
        "| model | display name | image | last latest tag |",
        list(map(known, diff.removed)),
    )
    rows = []
    for change in diff.changed:
        latest, eu = _moved(change, _code, ARROW, bold="**")
        rows.append(
            f"| {_code(change.name)} | {latest} | {', '.join(map(_code, change.tags_added))} "
            f"| {', '.join(map(_code, change.tags_removed))} | {eu} "
            f"| {', '.join(f.field for f in change.fields)} |"
        )
    lines += _table(
        "Changed",
        "| model | latest tag | tags added | tags removed | EU-restricted | other fields |",
        rows,
    )
    with_fields = [c for c in diff.changed if c.fields]
    if with_fields:
        lines += ["", "#### Metadata changes", ""]
        for change in with_fields:
            lines.append(f"- {_code(change.name)}")
            lines += [
                f"  - {f.field}: {_text(f.old)} {ARROW} {_text(f.new)}" for f in change.fields
            ]
    lines += ["", "<sub>Generated by <code>nimgen diff</code>.</sub>", ""]
    return "\n".join(lines)


def print_table(diff: CatalogDiff, console: Any) -> None:
    """Print the report on a ``rich.console.Console``, in what its stream can encode."""
    from rich.table import Table
    from rich.text import Text

    encoding = console.encoding
    arrow = pick(ARROW, "->", encoding)

    def text(value: str, style: str = "") -> Text:
        return Text(encodable(visible(value), encoding), style=style)

    def table(title: str, columns: tuple[str, ...], rows: list[_Row]) -> None:
        """Plain text, never read as rich markup; a list is a cell of several lines."""
        if not rows:
            return
        out = Table(title=f"{title} ({len(rows)})", title_justify="left")
        for column in columns:
            out.add_column(column, overflow="fold" if title == "changed" else "ellipsis")
        for row in rows:
            out.add_row(
                *(text(c) if isinstance(c, str) else Text("\n").join(map(text, c)) for c in row)
            )
        console.print(out)

    console.print(text(f"nimgen diff: {diff.headline()}", "bold"))
    console.print(text(f"before: {diff.old.label} ({diff.old.kind}, {diff.old.models} models)"))
    console.print(text(f"after:  {diff.new.label} ({diff.new.kind}, {diff.new.models} models)"))
    table(
        "added",
        ("model", "namespace", "latest tag", "tags", "EU"),
        [
            (r.name, r.namespace, r.latestTag, str(len(r.tags)), _yes(r.euRestricted))
            for r in diff.added
        ],
    )
    table(
        "removed",
        ("model", "namespace", "latest tag"),
        [(r.name, r.namespace, r.latestTag) for r in diff.removed],
    )
    rows: list[_Row] = []
    for change in diff.changed:
        latest, eu = _moved(change, str, arrow)
        tags = (", ".join(change.tags_added), ", ".join(change.tags_removed))
        fields = [f"{f.field}: {f.old} {arrow} {f.new}" for f in change.fields]
        rows.append((change.name, latest, *tags, eu, fields))
    table("changed", ("model", "latest tag", "tags +", "tags -", "EU", "fields"), rows)


def render_table(diff: CatalogDiff) -> str:
    """The table report as plain text (no colours), e.g. for ``--output``."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=120, color_system=None, highlight=False, force_terminal=False
    )
    print_table(diff, console)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


# By --format: the report as text (on a terminal, the table is printed by print_table).
RENDERERS = {"json": render_json, "markdown": render_markdown, "table": render_table}
