"""Which image tags the air gap offers (``--tags``), and which of them move: a *moving* tag
is not a version (``latest``), and NVIDIA re-points it at every release, so a mirror holds
whatever it meant on the day of the copy. (``1.15`` moves too, but is a version.)"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from nimgen.catalog import ModelRecord
from nimgen.errors import BadInput
from nimgen.tags import canonical_tags, tag_sort_key

TagKind = Literal["latest", "all", "glob"]

# Fields of ``nimgen.tags.tag_sort_key``: (group, numbers, is_variant, variant, tag); group
# 1 is the tags that are not versions.
_GROUP, _IS_VARIANT = 0, 2


@dataclass(frozen=True)
class TagChoice:
    """``--tags``: ``latest`` (the model's latestTag), ``all``, or a glob over tag names
    (which only adds tags: the latestTag is always offered)."""

    kind: TagKind = "latest"
    pattern: str = ""

    @classmethod
    def parse(cls, text: str) -> TagChoice:
        value = text.strip()
        if value in ("latest", "all"):
            return cls(kind=value)  # type: ignore[arg-type]
        if not value:
            raise BadInput("--tags takes latest, all, or a glob over tag names (e.g. '1.*')")
        return cls(kind="glob", pattern=value)

    def __str__(self) -> str:
        return self.pattern if self.kind == "glob" else self.kind

    def matched(self, record: ModelRecord) -> tuple[str, ...]:
        """The tags the glob matched (empty for latest and all)."""
        if self.kind != "glob":
            return ()
        return tuple(t for t in record.tags if fnmatch.fnmatchcase(t, self.pattern))

    def choose(self, record: ModelRecord) -> tuple[str, ...]:
        """The tags to offer, in canonical order, always holding latestTag."""
        if self.kind == "latest":
            return (record.latestTag,)
        if self.kind == "all":
            return canonical_tags(record.tags)
        return canonical_tags((*self.matched(record), record.latestTag))


def is_moving_tag(tag: str) -> bool:
    """True for a tag that is not a version (``latest``, ``rtx-latest``)."""
    return tag_sort_key(tag)[_GROUP] == 1


def newest_version_tag(tags: Iterable[str]) -> str | None:
    """The newest fixed tag: the first plain version in canonical order (``1.15.5`` before
    ``1.15``), else the first variant (``1.5.0-variant``: usually another build), else None."""
    versions = [t for t in canonical_tags(tags) if not is_moving_tag(t)]
    plain = [t for t in versions if not tag_sort_key(t)[_IS_VARIANT]]
    return next(iter(plain + versions), None)


@dataclass(frozen=True)
class MovingTag:
    """A model that offers a moving tag, and what pins it: ``pinned_tag``, the newest version
    tag offered beside (if any), and ``pinned_by_digest``, when ``--digests`` pins them all."""

    model: str
    tags: tuple[str, ...]
    pinned_tag: str | None
    pinned_by_digest: bool = False

    @property
    def pinned(self) -> bool:
        return self.pinned_by_digest or self.pinned_tag is not None
