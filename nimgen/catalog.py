"""The catalog model: what nimgen knows about each NIM model, and how it is validated.

``ModelRecord`` is the contract's ConfigMap value (eight fields, in this order).
``SnapshotModel`` adds the catalog facts a ``fetch`` snapshot keeps so that a
later run can tell whether a model changed. The same pydantic models validate
NGC's answers, snapshots and hand-written ConfigMaps, and emit the JSON Schema
(``nimgen schema``), so validation and documentation never disagree.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
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

# The key rule lives in nimgen.names; re-exported for the catalog's readers.
from nimgen.names import CONFIGMAP_KEY_MAX as CONFIGMAP_KEY_MAX
from nimgen.names import CONFIGMAP_KEY_SCHEMA_PATTERN
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


_Frozen = ConfigDict(frozen=True, extra="forbid")


class ModelRecord(BaseModel):
    """One model as the dashboard reads it: the value under its name in the ConfigMap."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", title="NIM model entry (schema version 1)"
    )

    name: StrictStr = Field(
        description="The model's name; equals its ConfigMap key.",
        # Checked by _name_is_key (for a clearer message); stated for the JSON Schema.
        json_schema_extra={"pattern": CONFIGMAP_KEY_SCHEMA_PATTERN, "maxLength": CONFIGMAP_KEY_MAX},
    )
    displayName: StrictStr = Field(description="Human-readable name.")
    shortDescription: StrictStr = Field(description="One-paragraph description.")
    namespace: StrictStr = Field(
        description="Registry namespace, org/team; the image is nvcr.io/{namespace}/{name}:{tag}.",
        min_length=1,
    )
    tags: tuple[StrictStr, ...] = Field(
        description="Image tags, canonical order, de-duplicated; holds latestTag.", min_length=1
    )
    latestTag: StrictStr = Field(description="The tag NGC marks as latest.", min_length=1)
    updatedDate: StrictStr = Field(description="When NGC last updated the model (ISO 8601).")
    euRestricted: StrictBool = Field(
        description="True when NGC refuses the model to callers in the EU (HTTP 451)."
    )

    @field_validator("name")
    @classmethod
    def _name_is_key(cls, value: str) -> str:
        problem = configmap_key_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _latest_in_tags(self) -> ModelRecord:
        if self.latestTag not in self.tags:
            raise ValueError(f"latestTag {self.latestTag!r} is not among the tags")
        return self

    def canonical(self) -> ModelRecord:
        """The same record with its tags in canonical order."""
        return self.model_copy(update={"tags": canonical_tags(self.tags)})

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


class EuStatus(BaseModel):
    """What an EU probe saw for one model."""

    model_config = _Frozen

    status: EuStatusName
    detail: StrictStr | None = None


class CatalogFacts(BaseModel):
    """The catalog-search facts that tell whether a model changed since a snapshot."""

    model_config = _Frozen

    resourceId: StrictStr
    dateModified: StrictStr | None = None
    latestTag: StrictStr | None = None
    latestTagPushedDate: StrictStr | None = None


DIGEST_PATTERN = r"sha256:[0-9a-f]{64}"
PLATFORM_PART_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


class ImageDigest(BaseModel):
    """The manifest digest of one tag's image for one platform, as NGC reported it."""

    model_config = _Frozen

    tag: StrictStr = Field(min_length=1)
    architecture: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    os: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    digest: StrictStr = Field(pattern=f"^{DIGEST_PATTERN}$")

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.architecture}"


def _digest_order(item: ImageDigest) -> tuple[str, str, str, str]:
    return (item.tag, item.os, item.architecture, item.digest)


class SnapshotModel(BaseModel):
    """A model in a ``fetch`` snapshot: its record plus the catalog facts.

    ``digests`` holds the image digests NGC reported (today: the latest tag's, one
    per platform). Optional: snapshots written before nimgen recorded digests, and
    models read from a ConfigMap, have none; an empty tuple is left out of the
    snapshot JSON, so such snapshots keep their exact bytes.
    """

    model_config = _Frozen

    record: ModelRecord
    catalog: CatalogFacts
    eu: EuStatus | None = None
    digests: tuple[ImageDigest, ...] = ()

    @field_validator("digests")
    @classmethod
    def _sorted_digests(cls, value: tuple[ImageDigest, ...]) -> tuple[ImageDigest, ...]:
        ordered = tuple(sorted(value, key=_digest_order))
        seen: set[tuple[str, str, str]] = set()
        for item in ordered:
            key = (item.tag, item.os, item.architecture)
            if key in seen:
                raise ValueError(f"two digests for tag {item.tag!r} on {item.platform}")
            seen.add(key)
        return ordered

    @model_validator(mode="after")
    def _digest_tags_known(self) -> SnapshotModel:
        for item in self.digests:
            if item.tag not in self.record.tags:
                raise ValueError(f"a digest names tag {item.tag!r}, which is not among the tags")
        return self

    @model_serializer(mode="wrap")
    def _omit_empty_digests(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not self.digests:
            data.pop("digests", None)
        return data

    def digests_of(self, tag: str) -> tuple[ImageDigest, ...]:
        """The recorded digests of ``tag``, by platform (empty when none are known)."""
        return tuple(d for d in self.digests if d.tag == tag)


class SnapshotSource(BaseModel):
    model_config = _Frozen

    apiUrl: StrictStr
    fetchedAt: StrictStr
    euFacts: StrictStr = "none"


class Snapshot(BaseModel):
    """The versioned JSON document ``nimgen fetch`` writes and ``render --from`` reads."""

    model_config = _Frozen

    kind: Literal["NimgenSnapshot"] = "NimgenSnapshot"
    snapshotVersion: Annotated[int, Field(ge=1, le=SNAPSHOT_VERSION)] = SNAPSHOT_VERSION
    source: SnapshotSource
    models: tuple[SnapshotModel, ...]


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema of one ConfigMap entry."""
    schema = ModelRecord.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["additionalProperties"] = False
    return schema
