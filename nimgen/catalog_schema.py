"""The catalog's documents validated field by field: pydantic twins of ``nimgen.catalog``.

Snapshots and hand-written ConfigMaps come from outside, so every field is checked
(strict strings, no extra fields) before it becomes a ``nimgen.catalog`` value, and
a failure names the field (``pydantic.ValidationError``). The same models emit the
JSON Schema of a ConfigMap entry (``nimgen schema``), so validation and documentation
never disagree. Kept apart from ``nimgen.catalog`` so that a live run, which builds
its values from answers ``sources.ngc.parse`` has checked, never loads pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    field_validator,
    model_validator,
)

from nimgen.catalog import (
    CONFIGMAP_KEY_MAX,
    CONFIGMAP_KEY_SCHEMA_PATTERN,
    DIGEST_PATTERN,
    PLATFORM_PART_PATTERN,
    SNAPSHOT_VERSION,
    CatalogFacts,
    EuStatus,
    EuStatusName,
    ImageDigest,
    ModelRecord,
    Snapshot,
    SnapshotModel,
    SnapshotSource,
    check_digest_tags,
    configmap_key_problem,
    sorted_unique_digests,
)

_Frozen = ConfigDict(frozen=True, extra="forbid")


class ModelRecordSchema(BaseModel):
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
    def _latest_in_tags(self) -> ModelRecordSchema:
        if self.latestTag not in self.tags:
            raise ValueError(f"latestTag {self.latestTag!r} is not among the tags")
        return self

    def value(self) -> ModelRecord:
        return ModelRecord(
            name=self.name,
            displayName=self.displayName,
            shortDescription=self.shortDescription,
            namespace=self.namespace,
            tags=self.tags,
            latestTag=self.latestTag,
            updatedDate=self.updatedDate,
            euRestricted=self.euRestricted,
        )


class EuStatusSchema(BaseModel):
    model_config = _Frozen

    status: EuStatusName
    detail: StrictStr | None = None

    def value(self) -> EuStatus:
        return EuStatus(status=self.status, detail=self.detail)


class CatalogFactsSchema(BaseModel):
    model_config = _Frozen

    resourceId: StrictStr
    dateModified: StrictStr | None = None
    latestTag: StrictStr | None = None
    latestTagPushedDate: StrictStr | None = None

    def value(self) -> CatalogFacts:
        return CatalogFacts(
            resourceId=self.resourceId,
            dateModified=self.dateModified,
            latestTag=self.latestTag,
            latestTagPushedDate=self.latestTagPushedDate,
        )


class ImageDigestSchema(BaseModel):
    model_config = _Frozen

    tag: StrictStr = Field(min_length=1)
    architecture: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    os: StrictStr = Field(pattern=f"^{PLATFORM_PART_PATTERN}$")
    digest: StrictStr = Field(pattern=f"^{DIGEST_PATTERN}$")

    def value(self) -> ImageDigest:
        return ImageDigest(
            tag=self.tag, architecture=self.architecture, os=self.os, digest=self.digest
        )


class SnapshotModelSchema(BaseModel):
    model_config = _Frozen

    record: ModelRecordSchema
    catalog: CatalogFactsSchema
    eu: EuStatusSchema | None = None
    digests: tuple[ImageDigestSchema, ...] = ()

    # The checks of nimgen.catalog.SnapshotModel, here so that pydantic says where.
    @field_validator("digests")
    @classmethod
    def _sorted_digests(cls, value: tuple[ImageDigestSchema, ...]) -> tuple[ImageDigestSchema, ...]:
        return sorted_unique_digests(value)

    @model_validator(mode="after")
    def _digest_tags_known(self) -> SnapshotModelSchema:
        check_digest_tags(self.digests, self.record.tags)
        return self

    def value(self) -> SnapshotModel:
        return SnapshotModel(
            record=self.record.value(),
            catalog=self.catalog.value(),
            eu=None if self.eu is None else self.eu.value(),
            digests=tuple(d.value() for d in self.digests),
        )


class SnapshotSourceSchema(BaseModel):
    model_config = _Frozen

    apiUrl: StrictStr
    fetchedAt: StrictStr
    euFacts: StrictStr = "none"


class SnapshotSchema(BaseModel):
    model_config = _Frozen

    kind: Literal["NimgenSnapshot"] = "NimgenSnapshot"
    snapshotVersion: Annotated[int, Field(ge=1, le=SNAPSHOT_VERSION)] = SNAPSHOT_VERSION
    source: SnapshotSourceSchema
    models: tuple[SnapshotModelSchema, ...]

    def value(self) -> Snapshot:
        return Snapshot(
            kind=self.kind,
            snapshotVersion=self.snapshotVersion,
            source=SnapshotSource(
                apiUrl=self.source.apiUrl,
                fetchedAt=self.source.fetchedAt,
                euFacts=self.source.euFacts,
            ),
            models=tuple(m.value() for m in self.models),
        )


def record_from(data: Any) -> ModelRecord:
    """A ConfigMap entry (parsed) as a record; raises ``pydantic.ValidationError``."""
    return ModelRecordSchema.model_validate(data).value()


def record_from_json(text: str | bytes) -> ModelRecord:
    """A ConfigMap entry (its JSON text) as a record; raises ``pydantic.ValidationError``."""
    return ModelRecordSchema.model_validate_json(text).value()


def snapshot_from(document: Any) -> Snapshot:
    """A snapshot document (parsed JSON); raises ``pydantic.ValidationError``."""
    return SnapshotSchema.model_validate(document).value()


def record_json_schema() -> dict[str, Any]:
    """The JSON Schema of one ConfigMap entry."""
    schema = ModelRecordSchema.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["additionalProperties"] = False
    return schema
