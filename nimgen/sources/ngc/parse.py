"""NGC's answers turned into nimgen's records: catalog pages, per-model answers, digests.

Every answer is validated field by field (pydantic, strict strings); what does not fit
the contract is a named failure of that model, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from nimgen.catalog import (
    CatalogFacts,
    ImageDigest,
    ModelRecord,
    SnapshotModel,
    configmap_key_problem,
)
from nimgen.sources import CatalogEntry, ModelFailure
from nimgen.sources.ngc.http import Final, Transient
from nimgen.tags import canonical_tags


class _Attribute(BaseModel):
    model_config = ConfigDict(extra="ignore")
    key: StrictStr
    value: StrictStr | None = None


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resourceId: StrictStr
    name: StrictStr
    displayName: StrictStr | None = None
    dateModified: StrictStr | None = None
    attributes: list[_Attribute] = Field(default_factory=list)


class _Group(BaseModel):
    model_config = ConfigDict(extra="ignore")
    groupValue: StrictStr
    resources: list[Any] = Field(default_factory=list)


class _Params(BaseModel):
    model_config = ConfigDict(extra="ignore")
    page: int


class _CatalogPage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resultTotal: int = Field(ge=0)
    resultPageTotal: int = Field(ge=0)
    params: _Params
    results: list[_Group] = Field(default_factory=list)


class _RepoAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: StrictStr
    displayName: StrictStr
    shortDescription: StrictStr
    namespace: StrictStr = Field(min_length=1)
    tags: list[StrictStr] = Field(min_length=1)
    latestTag: StrictStr = Field(min_length=1)
    updatedDate: StrictStr


def _validation_reason(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "answer"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)


@dataclass(frozen=True)
class ParsedPage:
    page: int
    page_total: int
    result_total: int
    entries: tuple[CatalogEntry, ...]
    invalid: tuple[ModelFailure, ...]
    # Resources the page listed, valid or not: the server's page size, for a full page.
    listed: int = 0


def parse_catalog_page(body: Any, page: int) -> ParsedPage:
    try:
        parsed = _CatalogPage.model_validate(body)
    except ValidationError as exc:
        raise Transient(f"catalog page {page} is malformed: {_validation_reason(exc)}") from None
    entries: list[CatalogEntry] = []
    invalid: list[ModelFailure] = []
    listed = 0
    for group in parsed.results:
        if group.groupValue != "CONTAINER":
            continue
        listed += len(group.resources)
        for index, raw in enumerate(group.resources):
            try:
                resource = _Resource.model_validate(raw)
            except ValidationError as exc:
                label = _label_of(raw) or f"catalog page {page} item {index}"
                raw_id = raw.get("resourceId") if isinstance(raw, dict) else None
                invalid.append(
                    ModelFailure(
                        label,
                        f"catalog entry: {_validation_reason(exc)}",
                        raw_id if isinstance(raw_id, str) else "",
                    )
                )
                continue
            entry = _entry_from(resource)
            name_problem = configmap_key_problem(resource.name)
            if entry is None:
                reason = name_problem or (
                    f"resourceId {resource.resourceId!r} is not org/name or org/team/name"
                )
                invalid.append(
                    ModelFailure(resource.name, f"catalog entry: {reason}", resource.resourceId)
                )
            elif name_problem is not None and entry.latest_tag is not None:
                # Refused before any request: it could never be a ConfigMap key.
                invalid.append(ModelFailure(resource.name, name_problem, resource.resourceId))
            else:
                entries.append(entry)
    return ParsedPage(
        page, parsed.resultPageTotal, parsed.resultTotal, tuple(entries), tuple(invalid), listed
    )


def _label_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key in ("name", "resourceId"):
            value = raw.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _entry_from(resource: _Resource) -> CatalogEntry | None:
    parts = resource.resourceId.split("/")
    if len(parts) == 3:
        org, team, name = parts
    elif len(parts) == 2:
        org, name = parts
        team = None
    else:
        return None
    if not all(parts):
        return None
    attributes = {a.key: a.value for a in resource.attributes}
    return CatalogEntry(
        resource_id=resource.resourceId,
        org=org,
        team=team,
        name=name,
        display_name=resource.displayName or resource.name,
        date_modified=resource.dateModified,
        latest_tag=attributes.get("latestTag") or None,
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
    """The contract's record from a per-model answer; raises ``Final`` when it does not fit."""
    try:
        answer = _RepoAnswer.model_validate(body)
    except ValidationError as exc:
        raise Final(f"answer failed validation: {_validation_reason(exc)}") from None
    problem = configmap_key_problem(answer.name)
    if problem is not None:
        raise Final(problem)
    tags = canonical_tags(answer.tags)
    if answer.latestTag not in tags:
        raise Final(f"latestTag {answer.latestTag!r} is not among the model's tags")
    return ModelRecord(
        name=answer.name,
        displayName=answer.displayName,
        shortDescription=answer.shortDescription,
        namespace=answer.namespace,
        tags=tags,
        latestTag=answer.latestTag,
        updatedDate=answer.updatedDate,
        euRestricted=False,
    )


def digests_from_answer(body: Any, latest_tag: str) -> tuple[ImageDigest, ...]:
    """The latest tag's image digests from a per-model answer, one per platform.

    NGC lists them in ``latestArchitectureVariants`` (``architecture``, ``os``,
    ``digest``). Digests are extra facts, never a reason to fail a model: a
    malformed variant is skipped, and when two variants give different digests
    for the same platform none is recorded for the model (nothing is guessed).
    """
    variants = body.get("latestArchitectureVariants") if isinstance(body, dict) else None
    if not isinstance(variants, list):
        return ()
    found: dict[tuple[str, str], ImageDigest] = {}
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        try:
            item = ImageDigest.model_validate(
                {
                    "tag": latest_tag,
                    "architecture": variant.get("architecture"),
                    "os": variant.get("os"),
                    "digest": variant.get("digest"),
                }
            )
        except ValidationError:
            continue
        platform = (item.os, item.architecture)
        if platform in found and found[platform].digest != item.digest:
            return ()
        found[platform] = item
    return tuple(found[p] for p in sorted(found))


def unchanged_since(entry: CatalogEntry, previous: SnapshotModel) -> bool:
    """True when the catalog says nothing about ``entry`` changed since ``previous``."""
    before = previous.catalog
    if before.dateModified is None and before.latestTagPushedDate is None:
        return False
    return (
        before.resourceId == entry.resource_id
        and before.latestTag == entry.latest_tag
        and before.dateModified == entry.date_modified
        and before.latestTagPushedDate == entry.latest_tag_pushed_date
    )
