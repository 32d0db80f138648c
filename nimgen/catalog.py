"""The catalog's values, each defined once: frozen, strict pydantic models, so a snapshot or a
hand-written ConfigMap meets the rules values built from NGC meet, and ``nimgen schema``
prints the rules ``validate`` applies. ``ModelRecord`` is the contract's ConfigMap value.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictStr,
    field_validator,
    model_serializer,
    model_validator,
)

from nimgen.names import CONFIGMAP_KEY_MAX, CONFIGMAP_KEY_SCHEMA_PATTERN, configmap_key_problem
from nimgen.tags import TAG_PATTERN, canonical_tags, tag_problem

SCHEMA_VERSION = "1"
SNAPSHOT_KIND = "NimgenSnapshot"
SNAPSHOT_VERSION = 1

DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
PLATFORM_PART_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
# A catalog resource is org/name or org/team/name; a model's namespace is its org[/team].
NAMESPACE_PATTERN = r"[^/]+(?:/[^/]+)?"
_NAMESPACE = re.compile(NAMESPACE_PATTERN)
_RESOURCE_ID = re.compile(rf"({NAMESPACE_PATTERN})/([^/]+)")


def _checked(problem_of: Callable[[str], str | None]) -> AfterValidator:
    def check(value: str) -> str:
        problem = problem_of(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _namespace_problem(namespace: str) -> str | None:
    return None if _NAMESPACE.fullmatch(namespace) else f"{namespace!r} is not org or org/team"


Tag = Annotated[
    StrictStr, _checked(tag_problem), Field(json_schema_extra={"pattern": f"^{TAG_PATTERN}$"})
]


class Value(BaseModel):
    """A frozen value that refuses unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes``, checked like a new value."""
        return self.model_validate({**dict(self), **changes})

    def as_json_dict(self) -> dict[str, Any]:
        """As nimgen writes it: fields in their order, those that are None left out."""
        return self.model_dump(mode="json", exclude_none=True)

    def json_text(self) -> str:
        """The JSON nimgen writes: ``as_json_dict`` two spaces indented, ASCII, one
        value or item a line, ending in a newline."""
        return json.dumps(self.as_json_dict(), indent=2, ensure_ascii=True) + "\n"


class ModelRecord(Value):
    """One model as the dashboard reads it: the value under its name in the ConfigMap."""

    model_config = ConfigDict(title="NIM model entry (schema version 1)")

    # Checked by the rules' functions (their messages name the value); stated for the schema.
    name: Annotated[StrictStr, _checked(configmap_key_problem)] = Field(
        description="The model's name; equals its ConfigMap key.",
        json_schema_extra={"pattern": CONFIGMAP_KEY_SCHEMA_PATTERN, "maxLength": CONFIGMAP_KEY_MAX},
    )
    displayName: StrictStr = Field(description="Human-readable name.")
    shortDescription: StrictStr = Field(description="One-paragraph description.")
    namespace: Annotated[StrictStr, _checked(_namespace_problem)] = Field(
        description="Registry namespace, org/team; the image is nvcr.io/{namespace}/{name}:{tag}.",
        min_length=1,
        json_schema_extra={"pattern": f"^{NAMESPACE_PATTERN}$"},
    )
    tags: tuple[Tag, ...] = Field(
        description="Image tags, canonical order, de-duplicated; holds latestTag.", min_length=1
    )
    latestTag: StrictStr = Field(description="The tag NGC marks as latest.", min_length=1)
    updatedDate: StrictStr = Field(description="When NGC last updated the model (ISO 8601).")
    euRestricted: StrictBool = Field(
        description="True when NGC refuses the model to callers in the EU (HTTP 451)."
    )

    @model_validator(mode="after")
    def _latest_in_tags(self) -> Self:
        if self.latestTag not in self.tags:
            raise ValueError(f"latestTag {self.latestTag!r} is not among the model's tags")
        return self

    def canonical(self) -> ModelRecord:
        return self.replace(tags=canonical_tags(self.tags))


RECORD_FIELDS = tuple(ModelRecord.model_fields)

EuStatusName = Literal["restricted", "available", "inconclusive"]


class EuStatus(Value):
    """What an EU probe saw for one model."""

    status: EuStatusName
    detail: StrictStr | None = None


class CatalogFacts(Value):
    """The catalog-search facts that tell whether a model changed since a snapshot."""

    resourceId: StrictStr
    dateModified: StrictStr | None = None
    latestTag: StrictStr | None = None
    latestTagPushedDate: StrictStr | None = None


class ImageDigest(Value):
    """The manifest digest of one tag's image for one platform, as NGC reported it."""

    tag: StrictStr = Field(min_length=1)
    architecture: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    os: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    digest: StrictStr = Field(pattern=f"^{DIGEST_PATTERN}$")

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.architecture}"


class SnapshotModel(Value):
    """A model in a ``fetch`` snapshot: its record, catalog facts and image digests (sorted;
    none is left out of the JSON, so snapshots from before digests keep their bytes)."""

    record: ModelRecord
    catalog: CatalogFacts
    eu: EuStatus | None = None
    digests: tuple[ImageDigest, ...] = ()

    @field_validator("digests")
    @classmethod
    def _sorted_and_unique(cls, digests: tuple[ImageDigest, ...]) -> tuple[ImageDigest, ...]:
        ordered = tuple(sorted(digests, key=lambda d: (d.tag, d.os, d.architecture, d.digest)))
        for first, second in itertools.pairwise(ordered):
            if (first.tag, first.platform) == (second.tag, second.platform):
                raise ValueError(f"two digests for tag {first.tag!r} on {first.platform}")
        return ordered

    @model_validator(mode="after")
    def _digest_tags_known(self) -> Self:
        for item in self.digests:
            if item.tag not in self.record.tags:
                raise ValueError(f"a digest names tag {item.tag!r}, which is not among the tags")
        return self

    @model_serializer(mode="wrap")
    def _without_empty_digests(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.digests:
            data.pop("digests", None)
        return data

    def digests_of(self, tag: str) -> tuple[ImageDigest, ...]:
        return tuple(d for d in self.digests if d.tag == tag)


class SnapshotSource(Value):
    apiUrl: StrictStr
    fetchedAt: StrictStr
    euFacts: StrictStr = "none"


class Snapshot(Value):
    """The versioned JSON document ``nimgen fetch`` writes and ``render --from`` reads."""

    kind: Literal["NimgenSnapshot"] = "NimgenSnapshot"
    snapshotVersion: int = Field(default=SNAPSHOT_VERSION, ge=1, le=SNAPSHOT_VERSION)
    source: SnapshotSource
    models: tuple[SnapshotModel, ...]


def resource_parts(resource_id: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of ``org/name`` or ``org/team/name``; None for anything else."""
    match = _RESOURCE_ID.fullmatch(resource_id)
    return None if match is None else (match[1], match[2])


def resource_problem(resource_id: str, record: ModelRecord) -> str | None:
    """Why ``record`` is not the model its catalog resource names, or None."""
    if resource_id == f"{record.namespace}/{record.name}":
        return None
    return (
        f"namespace {record.namespace!r} and name {record.name!r} are not those of its "
        f"catalog resource {resource_id!r}"
    )


def record_json_schema() -> dict[str, Any]:
    schema = ModelRecord.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema  # extra="forbid" states additionalProperties: false
