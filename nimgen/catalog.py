"""The catalog model: what nimgen knows about each NIM model, as plain frozen values.

``ModelRecord`` is the contract's ConfigMap value (eight fields, in this order).
``SnapshotModel`` adds the catalog facts a ``fetch`` snapshot keeps so that a
later run can tell whether a model changed.

These are stdlib dataclasses, not pydantic models, so that a live run never loads
pydantic (with its models, about 0.08 s of CPU; docs/performance.md): they are built from
answers ``sources.ngc.parse`` has already checked. Each keeps its own invariants
on construction (a ``ValueError``). Untrusted documents (snapshots, hand-written
ConfigMaps) are validated field by field by ``nimgen.catalog_schema``, whose pydantic
twins of these classes also give the JSON Schema (``nimgen schema``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, get_args

# The key rule lives in nimgen.names; re-exported for the catalog's readers.
from nimgen.names import CONFIGMAP_KEY_MAX as CONFIGMAP_KEY_MAX
from nimgen.names import CONFIGMAP_KEY_SCHEMA_PATTERN as CONFIGMAP_KEY_SCHEMA_PATTERN
from nimgen.names import configmap_key_problem as configmap_key_problem
from nimgen.tags import canonical_tags

SCHEMA_VERSION = "1"
SNAPSHOT_KIND = "NimgenSnapshot"
SNAPSHOT_VERSION = 1

# The record's fields, in the contract's order.
RECORD_FIELDS = (
    "name",
    "displayName",
    "shortDescription",
    "namespace",
    "tags",
    "latestTag",
    "updatedDate",
    "euRestricted",
)

DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
PLATFORM_PART_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_DIGEST = re.compile(DIGEST_PATTERN)
_PLATFORM_PART = re.compile(PLATFORM_PART_PATTERN)


def _set(instance: object, name: str, value: object) -> None:
    object.__setattr__(instance, name, value)  # a frozen instance, while __post_init__ runs


# Keyword-only like the pydantic models they replace; slotted: thousands are made per run.
@dataclass(frozen=True, slots=True, kw_only=True)
class ModelRecord:
    """One model as the dashboard reads it: the value under its name in the ConfigMap."""

    name: str
    displayName: str
    shortDescription: str
    namespace: str
    tags: tuple[str, ...]
    latestTag: str
    updatedDate: str
    euRestricted: bool

    def __post_init__(self) -> None:
        if type(self.tags) is not tuple:
            _set(self, "tags", tuple(self.tags))
        problem = configmap_key_problem(self.name)
        if problem is not None:
            raise ValueError(f"name: {problem}")
        if self.latestTag not in self.tags:
            raise ValueError(f"latestTag {self.latestTag!r} is not among the tags")

    def canonical(self) -> ModelRecord:
        """The same record with its tags in canonical order."""
        return self.replace(tags=canonical_tags(self.tags))

    def replace(self, **changes: Any) -> ModelRecord:
        """A copy with ``changes`` (field names as keywords), checked like a new record."""
        return dataclasses.replace(self, **changes)

    def as_json_dict(self) -> dict[str, Any]:
        """The record as plain data, fields in the contract's order."""
        return {
            "name": self.name,
            "displayName": self.displayName,
            "shortDescription": self.shortDescription,
            "namespace": self.namespace,
            "tags": list(self.tags),
            "latestTag": self.latestTag,
            "updatedDate": self.updatedDate,
            "euRestricted": self.euRestricted,
        }


EuStatusName = Literal["restricted", "available", "inconclusive"]
EU_STATUS_NAMES: tuple[EuStatusName, ...] = get_args(EuStatusName)


@dataclass(frozen=True, slots=True, kw_only=True)
class EuStatus:
    """What an EU probe saw for one model."""

    status: EuStatusName
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.status not in EU_STATUS_NAMES:
            raise ValueError(f"EU status {self.status!r} is not one of {EU_STATUS_NAMES}")

    def as_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.detail is not None:
            data["detail"] = self.detail
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogFacts:
    """The catalog-search facts that tell whether a model changed since a snapshot."""

    resourceId: str
    dateModified: str | None = None
    latestTag: str | None = None
    latestTagPushedDate: str | None = None

    def as_json_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"resourceId": self.resourceId}
        for name in ("dateModified", "latestTag", "latestTagPushedDate"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageDigest:
    """The manifest digest of one tag's image for one platform, as NGC reported it."""

    tag: str
    architecture: str
    os: str
    digest: str

    def __post_init__(self) -> None:
        if not self.tag:
            raise ValueError("an image digest names no tag")
        for what, value, pattern in (
            ("architecture", self.architecture, _PLATFORM_PART),
            ("os", self.os, _PLATFORM_PART),
            ("digest", self.digest, _DIGEST),
        ):
            if type(value) is not str or pattern.fullmatch(value) is None:
                raise ValueError(f"{what} {value!r} does not match {pattern.pattern}")

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.architecture}"

    def as_json_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "architecture": self.architecture,
            "os": self.os,
            "digest": self.digest,
        }


class _Digest(Protocol):
    """An image digest here or in ``catalog_schema``: what the checks below read."""

    @property
    def tag(self) -> str: ...
    @property
    def os(self) -> str: ...
    @property
    def architecture(self) -> str: ...
    @property
    def digest(self) -> str: ...


_D = TypeVar("_D", bound=_Digest)


def sorted_unique_digests(digests: Iterable[_D]) -> tuple[_D, ...]:
    """``digests`` in their stored order; ``ValueError`` for two of one tag and platform."""
    ordered = tuple(sorted(digests, key=lambda d: (d.tag, d.os, d.architecture, d.digest)))
    seen: set[tuple[str, str, str]] = set()
    for item in ordered:
        key = (item.tag, item.os, item.architecture)
        if key in seen:
            raise ValueError(f"two digests for tag {item.tag!r} on {item.os}/{item.architecture}")
        seen.add(key)
    return ordered


def check_digest_tags(digests: Iterable[_Digest], tags: tuple[str, ...]) -> None:
    """``ValueError`` for a digest of a tag the record does not have."""
    for item in digests:
        if item.tag not in tags:
            raise ValueError(f"a digest names tag {item.tag!r}, which is not among the tags")


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotModel:
    """A model in a ``fetch`` snapshot: its record plus the catalog facts.

    ``digests`` holds the image digests NGC reported (today: the latest tag's, one
    per platform), sorted. Optional: snapshots written before nimgen recorded digests,
    and models read from a ConfigMap, have none; an empty tuple is left out of the
    snapshot JSON, so such snapshots keep their exact bytes.
    """

    record: ModelRecord
    catalog: CatalogFacts
    eu: EuStatus | None = None
    digests: tuple[ImageDigest, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.digests:
            if type(self.digests) is not tuple:
                _set(self, "digests", ())
            return
        ordered = sorted_unique_digests(self.digests)
        check_digest_tags(ordered, self.record.tags)
        _set(self, "digests", ordered)

    def replace(self, **changes: Any) -> SnapshotModel:
        """A copy with ``changes`` (field names as keywords)."""
        return dataclasses.replace(self, **changes)

    def digests_of(self, tag: str) -> tuple[ImageDigest, ...]:
        """The recorded digests of ``tag``, by platform (empty when none are known)."""
        return tuple(d for d in self.digests if d.tag == tag)

    def as_json_dict(self) -> dict[str, Any]:
        """As the snapshot stores it: None fields and empty digests left out."""
        data: dict[str, Any] = {
            "record": self.record.as_json_dict(),
            "catalog": self.catalog.as_json_dict(),
        }
        if self.eu is not None:
            data["eu"] = self.eu.as_json_dict()
        if self.digests:
            data["digests"] = [d.as_json_dict() for d in self.digests]
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotSource:
    apiUrl: str
    fetchedAt: str
    euFacts: str = "none"

    def as_json_dict(self) -> dict[str, Any]:
        return {"apiUrl": self.apiUrl, "fetchedAt": self.fetchedAt, "euFacts": self.euFacts}


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The versioned JSON document ``nimgen fetch`` writes and ``render --from`` reads."""

    source: SnapshotSource
    models: tuple[SnapshotModel, ...]
    kind: Literal["NimgenSnapshot"] = "NimgenSnapshot"
    snapshotVersion: int = SNAPSHOT_VERSION

    def __post_init__(self) -> None:
        if type(self.models) is not tuple:
            _set(self, "models", tuple(self.models))

    def as_json_dict(self) -> dict[str, Any]:
        """The document, keys in the order snapshots have always had."""
        return {
            "kind": self.kind,
            "snapshotVersion": self.snapshotVersion,
            "source": self.source.as_json_dict(),
            "models": [m.as_json_dict() for m in self.models],
        }


_RECORD_STRINGS = tuple(f for f in RECORD_FIELDS if f not in ("tags", "euRestricted"))
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def utf8_text(value: str) -> bool:
    """Whether ``value`` has a UTF-8 form: no lone surrogate (json.loads makes one of
    "\\ud800"). pydantic refuses such a string where it checks it as UTF-8: in JSON, and
    under a length or pattern constraint."""
    return value.isascii() or _SURROGATE.search(value) is None


def _plain_text(value: object) -> bool:
    """A str pydantic's strict check of JSON takes as it is."""
    return type(value) is str and utf8_text(value)


def record_from_json_fast(text: str) -> ModelRecord | None:
    """A ConfigMap entry's JSON as a record when it is plainly valid; else None.

    None means "let ``catalog_schema.record_from_json`` decide and word the problem":
    this accepts only entries the schema accepts, with the same values (exactly the
    eight fields, strings that are str, a non-empty list of tags, a real boolean),
    so that reading nimgen's own ConfigMap needs no pydantic.
    """
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if type(data) is not dict or len(data) != len(RECORD_FIELDS):
        return None
    tags = data.get("tags")
    if (
        type(tags) is not list
        or not tags
        or type(data.get("euRestricted")) is not bool
        or not all(_plain_text(data.get(key)) for key in _RECORD_STRINGS)
        or not all(_plain_text(tag) for tag in tags)
        or not data["namespace"]
        or not data["latestTag"]
    ):
        return None
    try:
        return ModelRecord(**{**data, "tags": tuple(tags)})
    except (TypeError, ValueError):
        return None


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema of one ConfigMap entry (loads pydantic)."""
    from nimgen.catalog_schema import record_json_schema as schema

    return schema()
