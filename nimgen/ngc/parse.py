"""NGC's answers (pydantic, each shape once: the fields nimgen reads, checked; others
ignored) into nimgen's values: catalog pages into entries, a per-model answer into a
record and digests. What does not fit the contract is a named failure of that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, StrictInt, StrictStr, ValidationError

from nimgen.catalog import (
    CatalogFacts,
    ImageDigest,
    ModelRecord,
    SnapshotModel,
    resource_parts,
    resource_problem,
)
from nimgen.collection import CatalogEntry, ModelFailure
from nimgen.errors import validation_reason
from nimgen.names import configmap_key_problem
from nimgen.ngc.client import PermanentError, RetryableError
from nimgen.tags import canonical_tags


class Attribute(BaseModel):
    key: StrictStr
    value: StrictStr | None = None


class Resource(BaseModel):
    resourceId: StrictStr
    name: StrictStr
    displayName: StrictStr | None = None
    dateModified: StrictStr | None = None
    attributes: tuple[Attribute, ...] = ()


class Group(BaseModel):
    groupValue: StrictStr
    # Checked one by one (Resource): a malformed resource fails that model, not the page.
    resources: tuple[Any, ...] = ()


class Params(BaseModel):
    page: int
    pageSize: StrictInt | None = None


class CatalogPage(BaseModel):
    resultTotal: StrictInt = Field(ge=0)
    resultPageTotal: StrictInt = Field(ge=0)
    params: Params
    results: tuple[Group, ...] = ()


class RepoAnswer(BaseModel):
    name: StrictStr
    displayName: StrictStr
    shortDescription: StrictStr
    namespace: StrictStr = Field(min_length=1)
    tags: tuple[StrictStr, ...] = Field(min_length=1)
    latestTag: StrictStr = Field(min_length=1)
    updatedDate: StrictStr


@dataclass(frozen=True)
class ParsedPage:
    page: int
    page_total: int
    result_total: int
    entries: tuple[CatalogEntry, ...]
    invalid: tuple[ModelFailure, ...]
    listed: int  # resources listed, valid or not: the server's page size, if full
    page_size: int | None  # params.pageSize, when the answer says so plainly


def parse_catalog_page(body: Any, page: int) -> ParsedPage:
    """One catalog page; ``RetryableError`` (worth another read) when it is malformed."""
    try:
        parsed = CatalogPage.model_validate(body)
    except ValidationError as exc:
        raise RetryableError(
            f"catalog page {page} is malformed: {validation_reason(exc)}"
        ) from None
    listed = [
        _entry_of(raw, f"catalog page {page} item {index}")
        for group in parsed.results
        if group.groupValue == "CONTAINER"
        for index, raw in enumerate(group.resources)
    ]
    size = parsed.params.pageSize
    return ParsedPage(
        page=page,
        page_total=parsed.resultPageTotal,
        result_total=parsed.resultTotal,
        entries=tuple(item for item in listed if isinstance(item, CatalogEntry)),
        invalid=tuple(item for item in listed if isinstance(item, ModelFailure)),
        listed=len(listed),
        page_size=size if size is not None and size > 0 else None,
    )


def _entry_of(raw: Any, where: str) -> CatalogEntry | ModelFailure:
    """The catalog entry of one listed resource, or why it cannot be one."""
    try:
        resource = Resource.model_validate(raw)
    except ValidationError as exc:
        fields = raw if isinstance(raw, dict) else {}
        named = [fields.get("name"), fields.get("resourceId")]
        label = next((text for text in named if isinstance(text, str) and text), where)
        raw_id = fields.get("resourceId")
        reason = f"catalog entry: {validation_reason(exc)}"
        return ModelFailure(label, reason, raw_id if isinstance(raw_id, str) else "")
    attributes = {attribute.key: attribute.value for attribute in resource.attributes}
    latest_tag = attributes.get("latestTag") or None
    parts = resource_parts(resource.resourceId)
    name_problem = configmap_key_problem(resource.name)
    if parts is None:
        reason = name_problem or (
            f"resourceId {resource.resourceId!r} is not org/name or org/team/name"
        )
        return ModelFailure(resource.name, f"catalog entry: {reason}", resource.resourceId)
    if name_problem is not None and latest_tag is not None:
        # Refused before any request: it could never be a ConfigMap key.
        return ModelFailure(resource.name, name_problem, resource.resourceId)
    namespace, name = parts
    org, _, team = namespace.partition("/")
    return CatalogEntry(
        resource_id=resource.resourceId,
        org=org,
        team=team or None,
        name=name,
        date_modified=resource.dateModified,
        latest_tag=latest_tag,
        latest_tag_pushed_date=attributes.get("latestTagPushedDate"),
    )


def facts_of(entry: CatalogEntry) -> CatalogFacts:
    return CatalogFacts(
        resourceId=entry.resource_id,
        dateModified=entry.date_modified,
        latestTag=entry.latest_tag,
        latestTagPushedDate=entry.latest_tag_pushed_date,
    )


def record_from_answer(body: Any, entry: CatalogEntry) -> ModelRecord:
    """The contract's record from a per-model answer; ``PermanentError`` when it does not
    fit or is not the model of ``entry``'s catalog resource."""
    try:
        answer = RepoAnswer.model_validate(body)
    except ValidationError as exc:
        raise PermanentError(f"answer failed validation: {validation_reason(exc)}") from None
    try:
        record = ModelRecord(
            name=answer.name,
            displayName=answer.displayName,
            shortDescription=answer.shortDescription,
            namespace=answer.namespace,
            tags=canonical_tags(answer.tags),
            latestTag=answer.latestTag,
            updatedDate=answer.updatedDate,
            euRestricted=False,
        )
    except ValidationError as exc:  # the record's own rules: its name, tags, latestTag, ...
        raise PermanentError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    problem = resource_problem(entry.resource_id, record)
    if problem is not None:
        raise PermanentError(f"the answer's {problem}")
    return record


def digests_from_answer(body: Any, latest_tag: str) -> tuple[ImageDigest, ...]:
    """The latest tag's image digests, one per platform (``latestArchitectureVariants``),
    never a reason to fail: bad variants are skipped, two digests for a platform give none."""
    variants = body.get("latestArchitectureVariants") if isinstance(body, dict) else None
    if not isinstance(variants, list):
        return ()
    found: dict[tuple[str, str], ImageDigest] = {}
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        try:
            item = ImageDigest(
                tag=latest_tag,
                architecture=variant.get("architecture"),
                os=variant.get("os"),
                digest=variant.get("digest"),
            )
        except ValidationError:
            continue
        platform = (item.os, item.architecture)
        if found.setdefault(platform, item).digest != item.digest:
            return ()
    return tuple(found[platform] for platform in sorted(found))


def unchanged_since(entry: CatalogEntry, previous: SnapshotModel) -> bool:
    """Whether the catalog says ``entry`` is unchanged since ``previous``, whose record
    offers the tag the catalog names (one contradicting its own facts is fetched again)."""
    before = previous.catalog
    if before.dateModified is None and before.latestTagPushedDate is None:
        return False
    return before == facts_of(entry) and previous.record.latestTag == entry.latest_tag
