"""What changed between two sets of models (snapshots, ConfigMaps or trees), matched by
name: the QE report and the ``--check`` summary. Only what ships counts; all is sorted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nimgen.catalog import ModelRecord, SnapshotModel
from nimgen.tags import canonical_tags

# Shipped fields reported as plain old -> new (tags, latestTag, euRestricted have their own).
METADATA_FIELDS = ("displayName", "shortDescription", "namespace", "updatedDate")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class ModelChange:
    """How one model present on both sides differs."""

    name: str
    old: ModelRecord
    new: ModelRecord
    tags_added: tuple[str, ...]
    tags_removed: tuple[str, ...]
    fields: tuple[FieldChange, ...]

    @property
    def latest_tag_moved(self) -> bool:
        return self.old.latestTag != self.new.latestTag

    @property
    def eu_flipped(self) -> bool:
        return self.old.euRestricted != self.new.euRestricted

    @property
    def kinds(self) -> tuple[str, ...]:
        """What kind of change this is: tags, latestTag, euRestricted, then field names."""
        flags = {"tags": bool(self.tags_added or self.tags_removed)}
        flags |= {"latestTag": self.latest_tag_moved, "euRestricted": self.eu_flipped}
        fields = (f.field for f in self.fields)
        return (*(kind for kind, changed in flags.items() if changed), *fields)


@dataclass(frozen=True)
class DiffSide:
    """Where one side came from, for the report's header."""

    label: str
    kind: str
    models: int
    configmap_name: str | None = None


@dataclass(frozen=True)
class CatalogDiff:
    old: DiffSide
    new: DiffSide
    added: tuple[ModelRecord, ...]
    removed: tuple[ModelRecord, ...]
    changed: tuple[ModelChange, ...]
    unchanged: int

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def added_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.added)

    @property
    def removed_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.removed)

    def headline(self) -> str:
        """``2 added, 1 removed, 3 changed`` (``no model changes`` when identical)."""
        if self.identical:
            return "no model changes"
        return f"{len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed"


def _records(models: Iterable[SnapshotModel | ModelRecord]) -> dict[str, ModelRecord]:
    records = (m.record if isinstance(m, SnapshotModel) else m for m in models)
    return {record.name: record.canonical() for record in records}


def compare_records(old: ModelRecord, new: ModelRecord) -> ModelChange | None:
    """How ``new`` differs from ``old`` (same name), or None when they ship the same."""
    old, new = old.canonical(), new.canonical()
    if old == new:
        return None
    old_tags, new_tags = set(old.tags), set(new.tags)
    fields = tuple(
        FieldChange(name, str(getattr(old, name)), str(getattr(new, name)))
        for name in METADATA_FIELDS
        if getattr(old, name) != getattr(new, name)
    )
    added, removed = canonical_tags(new_tags - old_tags), canonical_tags(old_tags - new_tags)
    return ModelChange(new.name, old, new, added, removed, fields)


def diff_models(
    old: Iterable[SnapshotModel | ModelRecord],
    new: Iterable[SnapshotModel | ModelRecord],
    *,
    old_side: DiffSide | None = None,
    new_side: DiffSide | None = None,
) -> CatalogDiff:
    """Compare two model sets by name."""
    before, after = _records(old), _records(new)
    added = tuple(after[name] for name in sorted(after.keys() - before.keys()))
    removed = tuple(before[name] for name in sorted(before.keys() - after.keys()))
    both = sorted(before.keys() & after.keys())
    changed = tuple(c for n in both if (c := compare_records(before[n], after[n])) is not None)
    return CatalogDiff(
        old=old_side or DiffSide("old", "models", len(before)),
        new=new_side or DiffSide("new", "models", len(after)),
        added=added,
        removed=removed,
        changed=changed,
        unchanged=len(both) - len(changed),
    )


def diff_paths(old: Path, new: Path) -> CatalogDiff:
    """Load both sides (snapshot, ConfigMap or tree, in any mix) and compare them."""
    from nimgen.snapshot import load_models

    before, after = load_models(old), load_models(new)
    sides = [
        DiffSide(str(path), "tree" if path.is_dir() else x.kind, len(x.models), x.configmap_name)
        for path, x in ((old, before), (new, after))
    ]
    return diff_models(before.models, after.models, old_side=sides[0], new_side=sides[1])
