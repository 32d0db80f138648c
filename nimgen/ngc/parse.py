"""NGC's answers turned into nimgen's records: catalog pages, per-model answers, digests.

Every answer is checked field by field; what does not fit the contract is a named failure
of that model, never a guess. The checks here are plain Python, so that a live run never
loads pydantic (with its models, about 0.08 s of CPU): each accepts only part of what the models
of ``answers`` accept (JSON's exact types, nothing converted) and gives the same values.
An answer a check does not accept goes to those models, loaded then: pydantic accepts it
(a lax ``"3"`` for an int) or names what is wrong, in the messages it always gave.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nimgen.catalog import (
    CatalogFacts,
    ImageDigest,
    ModelRecord,
    SnapshotModel,
    configmap_key_problem,
    utf8_text,
)
from nimgen.collection import CatalogEntry, ModelFailure
from nimgen.ngc.client import PermanentError as Final
from nimgen.ngc.client import RetryableError as Transient
from nimgen.tags import canonical_tags

# A key the answer does not have (where null is not the same).
_ABSENT: Any = object()

# A catalog resource: resourceId, name, displayName, dateModified, and its latestTag and
# latestTagPushedDate attributes (the last of each, as a dict of the attributes keeps).
_ResourceFields = tuple[str, str, str | None, str | None, str | None, str | None]
# A per-model answer: name, displayName, shortDescription, namespace, tags, latestTag,
# updatedDate.
_AnswerFields = tuple[str, str, str, str, list[str], str, str]
# A catalog page: resultPageTotal, resultTotal, and each group's groupValue and resources.
_PageFields = tuple[int, int, list[tuple[str, list[Any]]]]


@dataclass(frozen=True)
class ParsedPage:
    page: int
    page_total: int
    result_total: int
    entries: tuple[CatalogEntry, ...]
    invalid: tuple[ModelFailure, ...]
    # Resources the page listed, valid or not: the server's page size, for a full page.
    listed: int = 0
    # The page size the answer says it serves (params.pageSize), when it says so plainly.
    page_size: int | None = None


def _nonempty_utf8(value: str) -> bool:
    """What pydantic's ``min_length=1`` accepts of a str: it checks a constrained string
    (min_length, pattern) on a UTF-8 copy, so it refuses one with a lone surrogate
    ("unable to parse raw data as a unicode string"); unconstrained, it keeps it."""
    return bool(value) and utf8_text(value)


def parse_catalog_page(body: Any, page: int) -> ParsedPage:
    page_total, result_total, groups = _page_fields(body) or _page_fields_by_pydantic(body, page)
    entries: list[CatalogEntry] = []
    invalid: list[ModelFailure] = []
    listed = 0
    for group_value, resources in groups:
        if group_value != "CONTAINER":
            continue
        listed += len(resources)
        for index, raw in enumerate(resources):
            fields = _resource_fields(raw)
            if fields is None:
                checked = _resource_fields_by_pydantic(raw, page, index)
                if isinstance(checked, ModelFailure):
                    invalid.append(checked)
                    continue
                fields = checked
            resource_id, name = fields[0], fields[1]
            entry = _entry_from(fields)
            name_problem = configmap_key_problem(name)
            if entry is None:
                reason = name_problem or (
                    f"resourceId {resource_id!r} is not org/name or org/team/name"
                )
                invalid.append(ModelFailure(name, f"catalog entry: {reason}", resource_id))
            elif name_problem is not None and entry.latest_tag is not None:
                # Refused before any request: it could never be a ConfigMap key.
                invalid.append(ModelFailure(name, name_problem, resource_id))
            else:
                entries.append(entry)
    params = body.get("params") if isinstance(body, dict) else None
    size = params.get("pageSize") if isinstance(params, dict) else None
    page_size = size if type(size) is int and size > 0 else None
    return ParsedPage(
        page, page_total, result_total, tuple(entries), tuple(invalid), listed, page_size
    )


def _page_fields(body: Any) -> _PageFields | None:
    """The page's fields when it plainly fits ``answers._CatalogPage``; else None."""
    if type(body) is not dict:
        return None
    result_total = body.get("resultTotal")
    page_total = body.get("resultPageTotal")
    params = body.get("params")
    if (
        type(result_total) is not int
        or result_total < 0
        or type(page_total) is not int
        or page_total < 0
        or type(params) is not dict
        or type(params.get("page")) is not int
    ):
        return None
    results = body.get("results", _ABSENT)
    groups: list[tuple[str, list[Any]]] = []
    if results is _ABSENT:
        return page_total, result_total, groups
    if type(results) is not list:
        return None
    for group in results:
        if type(group) is not dict:
            return None
        group_value = group.get("groupValue")
        resources = group.get("resources", _ABSENT)
        if type(group_value) is not str:
            return None
        if resources is _ABSENT:
            resources = []
        elif type(resources) is not list:
            return None
        groups.append((group_value, resources))
    return page_total, result_total, groups


def _page_fields_by_pydantic(body: Any, page: int) -> _PageFields:
    """pydantic's reading of a page ``_page_fields`` did not take; ``Transient`` if none."""
    from nimgen.ngc import answers

    try:
        parsed = answers.CatalogPage.model_validate(body)
    except answers.ValidationError as exc:
        reason = answers.validation_reason(exc)
        raise Transient(f"catalog page {page} is malformed: {reason}") from None
    groups = [(group.groupValue, group.resources) for group in parsed.results]
    return parsed.resultPageTotal, parsed.resultTotal, groups


def _resource_fields(raw: Any) -> _ResourceFields | None:
    """The resource's fields when it plainly fits ``answers._Resource``; else None."""
    if type(raw) is not dict:
        return None
    resource_id = raw.get("resourceId")
    name = raw.get("name")
    display_name = raw.get("displayName")
    date_modified = raw.get("dateModified")
    attributes = raw.get("attributes", _ABSENT)
    if (
        type(resource_id) is not str
        or type(name) is not str
        or (display_name is not None and type(display_name) is not str)
        or (date_modified is not None and type(date_modified) is not str)
    ):
        return None
    latest_tag: str | None = None
    pushed_date: str | None = None
    if attributes is not _ABSENT:
        if type(attributes) is not list:
            return None
        for attribute in attributes:
            if type(attribute) is not dict:
                return None
            key = attribute.get("key")
            value = attribute.get("value")
            if type(key) is not str or (value is not None and type(value) is not str):
                return None
            if key == "latestTag":
                latest_tag = value
            elif key == "latestTagPushedDate":
                pushed_date = value
    return resource_id, name, display_name, date_modified, latest_tag, pushed_date


def _resource_fields_by_pydantic(raw: Any, page: int, index: int) -> _ResourceFields | ModelFailure:
    """pydantic's reading of a resource ``_resource_fields`` did not take, or why not."""
    from nimgen.ngc import answers

    try:
        resource = answers.Resource.model_validate(raw)
    except answers.ValidationError as exc:
        label = _label_of(raw) or f"catalog page {page} item {index}"
        raw_id = raw.get("resourceId") if isinstance(raw, dict) else None
        return ModelFailure(
            label,
            f"catalog entry: {answers.validation_reason(exc)}",
            raw_id if isinstance(raw_id, str) else "",
        )
    attributes = {a.key: a.value for a in resource.attributes}
    return (
        resource.resourceId,
        resource.name,
        resource.displayName,
        resource.dateModified,
        attributes.get("latestTag"),
        attributes.get("latestTagPushedDate"),
    )


def _label_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        for key in ("name", "resourceId"):
            value = raw.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _entry_from(fields: _ResourceFields) -> CatalogEntry | None:
    resource_id, name, display_name, date_modified, latest_tag, pushed_date = fields
    parts = resource_id.split("/")
    if len(parts) == 3:
        org, team, short_name = parts
    elif len(parts) == 2:
        org, short_name = parts
        team = None
    else:
        return None
    if not all(parts):
        return None
    return CatalogEntry(
        resource_id=resource_id,
        org=org,
        team=team,
        name=short_name,
        display_name=display_name or name,
        date_modified=date_modified,
        latest_tag=latest_tag or None,
        latest_tag_pushed_date=pushed_date,
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
    name, display_name, short_description, namespace, tags, latest_tag, updated_date = (
        _answer_fields(body) or _answer_fields_by_pydantic(body)
    )
    problem = configmap_key_problem(name)
    if problem is not None:
        raise Final(problem)
    canonical = canonical_tags(tags)
    if latest_tag not in canonical:
        raise Final(f"latestTag {latest_tag!r} is not among the model's tags")
    return ModelRecord(
        name=name,
        displayName=display_name,
        shortDescription=short_description,
        namespace=namespace,
        tags=canonical,
        latestTag=latest_tag,
        updatedDate=updated_date,
        euRestricted=False,
    )


def _answer_fields(body: Any) -> _AnswerFields | None:
    """The answer's fields when it plainly fits ``answers._RepoAnswer``; else None."""
    if type(body) is not dict:
        return None
    get = body.get
    name = get("name")
    display_name = get("displayName")
    short_description = get("shortDescription")
    namespace = get("namespace")
    tags = get("tags")
    latest_tag = get("latestTag")
    updated_date = get("updatedDate")
    if (
        type(name) is not str
        or type(display_name) is not str
        or type(short_description) is not str
        or type(namespace) is not str
        or not _nonempty_utf8(namespace)
        or type(tags) is not list
        or not tags
        or type(latest_tag) is not str
        or not _nonempty_utf8(latest_tag)
        or type(updated_date) is not str
    ):
        return None
    for tag in tags:
        if type(tag) is not str:
            return None
    return name, display_name, short_description, namespace, tags, latest_tag, updated_date


def _answer_fields_by_pydantic(body: Any) -> _AnswerFields:
    """pydantic's reading of an answer ``_answer_fields`` did not take; ``Final`` if none."""
    from nimgen.ngc import answers

    try:
        answer = answers.RepoAnswer.model_validate(body)
    except answers.ValidationError as exc:
        raise Final(f"answer failed validation: {answers.validation_reason(exc)}") from None
    return (
        answer.name,
        answer.displayName,
        answer.shortDescription,
        answer.namespace,
        answer.tags,
        answer.latestTag,
        answer.updatedDate,
    )


def _strict_str(value: object) -> str | None:
    """``value`` as pydantic's ``StrictStr`` takes it: a str subclass as a plain str."""
    return str.__str__(value) if isinstance(value, str) else None


def digests_from_answer(body: Any, latest_tag: str) -> tuple[ImageDigest, ...]:
    """The latest tag's image digests from a per-model answer, one per platform.

    NGC lists them in ``latestArchitectureVariants`` (``architecture``, ``os``,
    ``digest``). Digests are extra facts, never a reason to fail a model: a
    malformed variant is skipped, and when two variants give different digests
    for the same platform none is recorded for the model (nothing is guessed).
    The checks are exactly those of ``catalog_schema.ImageDigestSchema``.
    """
    variants = body.get("latestArchitectureVariants") if isinstance(body, dict) else None
    if not isinstance(variants, list):
        return ()
    tag = latest_tag if type(latest_tag) is str else _strict_str(latest_tag)
    if tag is None or not _nonempty_utf8(tag):
        return ()  # no variant could be valid
    found: dict[tuple[str, str], ImageDigest] = {}
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        architecture = variant.get("architecture")
        os_name = variant.get("os")
        digest = variant.get("digest")
        if type(architecture) is not str or type(os_name) is not str or type(digest) is not str:
            architecture = _strict_str(architecture)
            os_name = _strict_str(os_name)
            digest = _strict_str(digest)
            if architecture is None or os_name is None or digest is None:
                continue
        try:  # ImageDigest checks the patterns (with fullmatch, as pydantic's Rust "$")
            item = ImageDigest(tag=tag, architecture=architecture, os=os_name, digest=digest)
        except ValueError:
            continue
        platform = (os_name, architecture)
        if platform in found and found[platform].digest != digest:
            return ()
        found[platform] = item
    return tuple(map(found.__getitem__, sorted(found)))


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
