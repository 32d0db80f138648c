"""The ``nimgen diff`` report as markdown (a PR description / QE report), JSON, or a table.

All three are deterministic: the same ``CatalogDiff`` gives the same bytes.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from nimgen.report.text import encodable, pick, visible
from nimgen.tree.diff import CatalogDiff, DiffSide, ModelChange

ARROW = "\u2192"
_MD_SPECIAL = set("\\`*_[]<>|#&")
# After '@' a zero-width space (as an entity): GitHub then links no @user or @org/team.
_NO_MENTION = "@&#8203;"


# -- JSON ------------------------------------------------------------------------------


def _side_json(side: DiffSide) -> dict[str, Any]:
    return {
        "source": side.label,
        "kind": side.kind,
        "models": side.models,
        "configMap": side.configmap_name,
    }


def change_json(change: ModelChange) -> dict[str, Any]:
    """One changed model: every key present, ``null`` / empty where that part did not change."""
    return {
        "name": change.name,
        "changes": list(change.kinds),
        "tagsAdded": list(change.tags_added),
        "tagsRemoved": list(change.tags_removed),
        "latestTag": (
            {"old": change.old.latestTag, "new": change.new.latestTag}
            if change.latest_tag_moved
            else None
        ),
        "euRestricted": (
            {"old": change.old.euRestricted, "new": change.new.euRestricted}
            if change.eu_flipped
            else None
        ),
        "fields": {f.field: {"old": f.old, "new": f.new} for f in change.fields},
    }


def diff_document(diff: CatalogDiff) -> dict[str, Any]:
    return {
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
        "changed": [change_json(c) for c in diff.changed],
    }


def render_json(diff: CatalogDiff) -> str:
    return json.dumps(diff_document(diff), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- markdown --------------------------------------------------------------------------


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


def _codes(values: tuple[str, ...]) -> str:
    return ", ".join(_code(v) for v in values)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _side_md(side: DiffSide) -> str:
    where = _code(side.label)
    kind = side.kind
    if side.configmap_name:
        kind += f", ConfigMap {_code(side.configmap_name)}"
    return f"{where} ({kind}, {side.models} models)"


def _eu_section(diff: CatalogDiff) -> list[str]:
    """The EU flag changes, shown before everything else: a model that becomes restricted
    gets the dashboard's EU warning, one that stops being restricted loses it, and a flood
    of flips usually means the EU source changed (a probe not from the EU, a lost proxy)."""
    rows = [
        (c.name, _yes(c.old.euRestricted), c.new.euRestricted) for c in diff.changed if c.eu_flipped
    ]
    rows += [(r.name, "new model", True) for r in diff.added if r.euRestricted]
    if not rows:
        return []
    now = sum(1 for _, _, new in rows if new)
    lines = [
        "",
        f"### EU restrictions ({len(rows)})",
        "",
        f"{now} now EU-restricted \u00b7 {len(rows) - now} no longer EU-restricted",
        "",
        "| model | before | after |",
        "|---|---|---|",
    ]
    for name, old, new in sorted(rows):
        lines.append(f"| {_code(name)} | {old} | **{_yes(new)}** |")
    return lines


def render_markdown(diff: CatalogDiff, *, title: str = "NIM catalog changes") -> str:
    lines = [f"## {title}", ""]
    if diff.identical:
        lines.append(f"**No changes**: both sides ship the same {diff.unchanged} models.")
    else:
        lines.append(
            f"**{len(diff.added)} added \u00b7 {len(diff.removed)} removed \u00b7 "
            f"{len(diff.changed)} changed** \u00b7 {diff.unchanged} unchanged"
        )
    lines += ["", f"- before: {_side_md(diff.old)}", f"- after: {_side_md(diff.new)}"]
    lines += loss_warning_md(diff)
    lines += _eu_section(diff)

    if diff.added:
        lines += ["", f"### Added ({len(diff.added)})", ""]
        lines += [
            "| model | display name | image | latest tag | tags | EU-restricted |",
            "|---|---|---|---|---|---|",
        ]
        for record in diff.added:
            lines.append(
                f"| {_code(record.name)} | {_text(record.displayName)} "
                f"| {_code(f'nvcr.io/{record.namespace}/{record.name}')} "
                f"| {_code(record.latestTag)} | {len(record.tags)} "
                f"| {_yes(record.euRestricted)} |"
            )

    if diff.removed:
        lines += ["", f"### Removed ({len(diff.removed)})", ""]
        lines += ["| model | display name | image | last latest tag |", "|---|---|---|---|"]
        for record in diff.removed:
            lines.append(
                f"| {_code(record.name)} | {_text(record.displayName)} "
                f"| {_code(f'nvcr.io/{record.namespace}/{record.name}')} "
                f"| {_code(record.latestTag)} |"
            )

    if diff.changed:
        lines += ["", f"### Changed ({len(diff.changed)})", ""]
        lines += [
            "| model | latest tag | tags added | tags removed | EU-restricted | other fields |",
            "|---|---|---|---|---|---|",
        ]
        for change in diff.changed:
            latest = (
                f"{_code(change.old.latestTag)} {ARROW} {_code(change.new.latestTag)}"
                if change.latest_tag_moved
                else _code(change.new.latestTag)
            )
            eu = (
                f"{_yes(change.old.euRestricted)} {ARROW} **{_yes(change.new.euRestricted)}**"
                if change.eu_flipped
                else _yes(change.new.euRestricted)
            )
            fields = ", ".join(f.field for f in change.fields)
            lines.append(
                f"| {_code(change.name)} | {latest} | {_codes(change.tags_added)} "
                f"| {_codes(change.tags_removed)} | {eu} | {fields} |"
            )
        with_fields = [c for c in diff.changed if c.fields]
        if with_fields:
            lines += ["", "#### Metadata changes", ""]
            for change in with_fields:
                lines.append(f"- {_code(change.name)}")
                for f in change.fields:
                    lines.append(f"  - {f.field}: {_text(f.old)} {ARROW} {_text(f.new)}")
    lines += ["", "<sub>Generated by <code>nimgen diff</code>.</sub>", ""]
    return "\n".join(lines)


# -- table (rich, for the terminal) ----------------------------------------------------


def print_table(diff: CatalogDiff, console: Any) -> None:
    """Print the report on a ``rich.console.Console``, in what its stream can encode."""
    from rich.table import Table
    from rich.text import Text

    encoding = console.encoding
    arrow = pick(ARROW, "->", encoding)

    def text(value: str, style: str = "") -> Text:
        return Text(encodable(visible(value), encoding), style=style)

    def row(table: Table, *cells: str | list[str]) -> None:
        """Plain text, never read as rich markup; a list is a cell of several lines."""
        table.add_row(
            *(text(c) if isinstance(c, str) else Text("\n").join(map(text, c)) for c in cells)
        )

    console.print(text(f"nimgen diff: {diff.headline()}", "bold"))
    console.print(text(f"before: {diff.old.label} ({diff.old.kind}, {diff.old.models} models)"))
    console.print(text(f"after:  {diff.new.label} ({diff.new.kind}, {diff.new.models} models)"))
    if diff.added:
        table = Table(title=f"added ({len(diff.added)})", title_justify="left")
        for column in ("model", "namespace", "latest tag", "tags", "EU"):
            table.add_column(column)
        for record in diff.added:
            row(
                table,
                record.name,
                record.namespace,
                record.latestTag,
                str(len(record.tags)),
                _yes(record.euRestricted),
            )
        console.print(table)
    if diff.removed:
        table = Table(title=f"removed ({len(diff.removed)})", title_justify="left")
        for column in ("model", "namespace", "latest tag"):
            table.add_column(column)
        for record in diff.removed:
            row(table, record.name, record.namespace, record.latestTag)
        console.print(table)
    if diff.changed:
        table = Table(title=f"changed ({len(diff.changed)})", title_justify="left")
        for column in ("model", "latest tag", "tags +", "tags -", "EU", "fields"):
            table.add_column(column, overflow="fold")
        for change in diff.changed:
            latest = (
                f"{change.old.latestTag} {arrow} {change.new.latestTag}"
                if change.latest_tag_moved
                else change.new.latestTag
            )
            eu = (
                f"{_yes(change.old.euRestricted)} {arrow} {_yes(change.new.euRestricted)}"
                if change.eu_flipped
                else _yes(change.new.euRestricted)
            )
            fields = [f"{f.field}: {f.old} {arrow} {f.new}" for f in change.fields]
            row(
                table,
                change.name,
                latest,
                ", ".join(change.tags_added),
                ", ".join(change.tags_removed),
                eu,
                fields,
            )
        console.print(table)


def render_table(diff: CatalogDiff, *, width: int = 120) -> str:
    """The table report as plain text (no colours), e.g. for ``--output``."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, highlight=False, force_terminal=False
    )
    print_table(diff, console)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


# A share of the old side's models removed at once that a reviewer must not miss
# (nimgen generate/render --max-loss warns at the same default).
LOUD_LOSS_SHARE = 0.2


def loss_warning_md(diff: CatalogDiff) -> list[str]:
    """A warning line when the new side drops more than LOUD_LOSS_SHARE of the old models."""
    if not diff.old.models or len(diff.removed) / diff.old.models <= LOUD_LOSS_SHARE:
        return []
    share = len(diff.removed) / diff.old.models
    return ["", f"> **Warning: {len(diff.removed)} of {diff.old.models} models ({share:.0%}) "
            "removed.** Check the catalog, the key's org and --models before merging."]  # fmt: skip
