"""parse's plain-Python checks against pydantic: the same values, or the same error.

parse accepts an answer only when it plainly fits and leaves anything else to the
pydantic models of ``answers``. So what a check accepts, pydantic must accept with the
same values; and pages, records and digests must be what the pydantic-only reading
(kept below as the reference) made of them, failures and messages included. The inputs
are arbitrary JSON-like values around the answers' shapes: missing fields, wrong types,
bools and floats for ints, numeric and empty strings, lone surrogates (json.loads makes
them of "\\ud800"), str subclasses, tuples, extra keys.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from nimgen.catalog import ModelRecord, configmap_key_problem
from nimgen.collection import CatalogEntry, ModelFailure
from nimgen.ngc import answers, parse
from nimgen.ngc.client import PermanentError as Final
from nimgen.ngc.client import RetryableError as Transient
from nimgen.tags import canonical_tags

NGC = Path(__file__).resolve().parents[1] / "fixtures" / "ngc"
ROOT = Path(__file__).resolve().parents[2]
ENTRY = CatalogEntry("nim/meta/m", "nim", "meta", "m", "M", "2025", "1.0", "2025")
DIGEST = "sha256:" + "0123456789abcdef" * 4

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- reference
# parse as it was: every answer read by pydantic alone.


class _DigestTwin(BaseModel):
    """The image digest's checks (``catalog_schema.ImageDigestSchema``'s constraints)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tag: StrictStr = Field(min_length=1)
    architecture: StrictStr = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    os: StrictStr = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    digest: StrictStr = Field(pattern=r"^sha256:[0-9a-f]{64}$")


def reference_page(body: Any, page: int) -> parse.ParsedPage:
    try:
        parsed = answers.CatalogPage.model_validate(body)
    except ValidationError as exc:
        reason = answers.validation_reason(exc)
        raise Transient(f"catalog page {page} is malformed: {reason}") from None
    entries: list[CatalogEntry] = []
    invalid: list[ModelFailure] = []
    listed = 0
    for group in parsed.results:
        if group.groupValue != "CONTAINER":
            continue
        listed += len(group.resources)
        for index, raw in enumerate(group.resources):
            try:
                resource = answers.Resource.model_validate(raw)
            except ValidationError as exc:
                label = parse._label_of(raw) or f"catalog page {page} item {index}"
                raw_id = raw.get("resourceId") if isinstance(raw, dict) else None
                invalid.append(
                    ModelFailure(
                        label,
                        f"catalog entry: {answers.validation_reason(exc)}",
                        raw_id if isinstance(raw_id, str) else "",
                    )
                )
                continue
            entry = reference_entry(resource)
            name_problem = configmap_key_problem(resource.name)
            if entry is None:
                reason = name_problem or (
                    f"resourceId {resource.resourceId!r} is not org/name or org/team/name"
                )
                invalid.append(
                    ModelFailure(resource.name, f"catalog entry: {reason}", resource.resourceId)
                )
            elif name_problem is not None and entry.latest_tag is not None:
                invalid.append(ModelFailure(resource.name, name_problem, resource.resourceId))
            else:
                entries.append(entry)
    size = body["params"].get("pageSize")
    page_size = size if type(size) is int and size > 0 else None
    return parse.ParsedPage(
        page,
        parsed.resultPageTotal,
        parsed.resultTotal,
        tuple(entries),
        tuple(invalid),
        listed,
        page_size,
    )


def reference_entry(resource: Any) -> CatalogEntry | None:
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


def reference_record(body: Any) -> ModelRecord:
    try:
        answer = answers.RepoAnswer.model_validate(body)
    except ValidationError as exc:
        raise Final(f"answer failed validation: {answers.validation_reason(exc)}") from None
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


def reference_digests(body: Any, latest_tag: Any) -> tuple[tuple[str, str, str, str], ...]:
    variants = body.get("latestArchitectureVariants") if isinstance(body, dict) else None
    if not isinstance(variants, list):
        return ()
    found: dict[tuple[str, str], _DigestTwin] = {}
    for variant in variants:
        if not isinstance(variant, dict):
            continue
        try:
            item = _DigestTwin.model_validate(
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
    return tuple(_fields(found[p]) for p in sorted(found))


def _fields(item: Any) -> tuple[str, str, str, str]:
    return (item.tag, item.architecture, item.os, item.digest)


def typed(value: Any) -> Any:
    """``value`` with the type of everything in it: ``True == 1``, but not here."""
    if isinstance(value, list | tuple):
        return (type(value), tuple(typed(item) for item in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value), tuple(typed(getattr(value, f.name)) for f in fields))
    return (type(value), value)


def outcome(read: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What ``read`` returned (typed), or the type, message and context of what it raised."""
    try:
        return ("returned", typed(read(*args)))
    except Exception as exc:
        return ("raised", type(exc), str(exc), exc.__cause__, exc.__suppress_context__)


# --------------------------------------------------------------------------- inputs
# Each object is built of good fields, one of them (at most) missing or a near miss:
# where the plain checks and pydantic could part, one difference must not hide another.


class Text(str):
    """A str subclass: pydantic's StrictStr takes it (as a plain str); JSON never makes one."""


SURROGATE = st.characters(categories=["Cs"])
# Text as json.loads makes it of NGC's answers: no lone surrogates.
PLAIN = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
# Any text json.loads can make: lone surrogates included, and some near misses.
TEXT = st.one_of(
    st.sampled_from(
        [
            *("", " ", "0", "3", "-1", "3.0", "true", "null", "CONTAINER", "AMD64"),
            *("\ud800", "a\udfffb", "\ud83d\ude00", "\U0001f600", "é", "..", ".x", "x\n"),
        ]
    ),
    st.lists(st.one_of(st.sampled_from("ab-._/09 \n"), st.characters(), SURROGATE)).map("".join),
)
WITH_SURROGATE = st.tuples(PLAIN, SURROGATE, PLAIN).map("".join)
JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([2**63, 2**64, 10**400, -(2**70)]),
        st.floats(),
        TEXT,
        TEXT.map(Text),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(TEXT, inner, max_size=4),
    ),
    max_leaves=12,
)
FieldSpec = tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]


def near(good: st.SearchStrategy[Any], *misses: st.SearchStrategy[Any]) -> FieldSpec:
    """A field: its good values, and its near misses (or anything at all)."""
    return good, st.one_of(*misses, JSON)


def mostly(field: FieldSpec, one_in: int = 8) -> st.SearchStrategy[Any]:
    """A good value, or one time in ``one_in`` a near miss."""
    good, miss = field
    return st.integers(1, one_in).flatmap(lambda n: miss if n == one_in else good)


@st.composite
def objects(draw: st.DrawFn, fields: dict[str, FieldSpec], intact: int = 1) -> Any:
    """Good fields but, ``1 / (intact + 1)`` of the time, one: missing or a near miss.

    Extra keys too; now and then an OrderedDict.
    """
    out: dict[Any, Any] = draw(st.dictionaries(TEXT, JSON, max_size=2))
    broken = draw(st.sampled_from([*([None] * (intact * len(fields))), *fields]))
    for key, (good, miss) in fields.items():
        if key != broken:
            out[key] = draw(good)
        elif draw(st.booleans()):
            out[key] = draw(miss)
    return OrderedDict(out) if draw(st.integers(0, 9)) == 0 else out


def lists_of(item: st.SearchStrategy[Any], max_size: int = 4, min_size: int = 0) -> FieldSpec:
    good = st.lists(item, min_size=min_size, max_size=max_size)
    misses = [st.lists(item, max_size=2).map(tuple), st.lists(st.one_of(item, JSON), max_size=3)]
    return near(good, *misses, *([st.just([])] if min_size else []))


def text(*samples: str) -> FieldSpec:
    """A StrictStr: any str (lone surrogates too, as pydantic keeps them)."""
    return near(st.one_of(st.sampled_from([*samples, "m"]), PLAIN, TEXT), TEXT.map(Text))


def nonempty_text(*samples: str) -> FieldSpec:
    """A StrictStr with min_length=1: pydantic refuses lone surrogates in it."""
    good = st.one_of(st.sampled_from(samples), PLAIN.filter(bool))
    return near(good, st.just(""), WITH_SURROGATE, WITH_SURROGATE, good.map(Text))


OPTIONAL_TEXT = near(st.one_of(st.none(), PLAIN, TEXT), TEXT.map(Text))
COUNT = near(
    st.one_of(st.integers(min_value=0), st.sampled_from([2**64, 10**400])),
    st.integers(max_value=-1),
    st.booleans(),
    st.floats(),
    st.sampled_from(["3", "0", " 3", "-1", 3.0, 2.5, -0.0]),
)
INT = near(st.integers(), st.booleans(), st.floats(), st.sampled_from(["3", "-1", 3.0, 2.5]))
TAG = st.sampled_from(["1.0.0", "1.0", "1", "latest", "1.0.0-rtx", "\udc00"])
ATTRIBUTE = mostly(
    near(
        objects(
            {
                "key": near(
                    st.sampled_from(["latestTag", "latestTagPushedDate", "size"]) | TEXT,
                    TEXT.map(Text),
                ),
                "value": near(st.one_of(st.none(), TAG, PLAIN), TEXT.map(Text)),
            },
            intact=2,
        )
    )
)
RESOURCE = mostly(
    near(
        objects(
            {
                "resourceId": text("nim/meta/m", "nim/m", "a/b/c/d", "nim//m", "m", "/m"),
                "name": text("m", "llama-3.1-8b", "..", "a b", "x" * 260),
                "displayName": OPTIONAL_TEXT,
                "dateModified": OPTIONAL_TEXT,
                "attributes": lists_of(ATTRIBUTE),
            }
        )
    )
)
GROUP = mostly(
    near(
        objects(
            {"groupValue": text("CONTAINER", "_scored"), "resources": lists_of(RESOURCE)},
            intact=3,
        )
    ),
    one_in=16,
)
PAGE = mostly(
    near(
        objects(
            {
                "resultTotal": COUNT,
                "resultPageTotal": COUNT,
                "params": near(objects({"page": INT}, intact=7)),
                "results": lists_of(GROUP, max_size=3),
            }
        )
    )
)
ANSWER = mostly(
    near(
        objects(
            {
                "name": text("m", "llama-3.1-8b", "..", "a b", "x" * 260),
                "displayName": text(),
                "shortDescription": text(),
                "namespace": nonempty_text("nim/meta", "nim", "\U0001f600"),
                "tags": lists_of(st.one_of(TAG, PLAIN, TEXT), max_size=5, min_size=1),
                "latestTag": nonempty_text("1.0.0", "latest", "1"),
                "updatedDate": text(),
            }
        )
    )
)
PART_GOOD = st.one_of(
    st.sampled_from(["amd64", "arm64", "linux", "9", "a" * 64]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True),
)
PART = near(
    PART_GOOD,
    st.sampled_from(["", "a" * 65, "x\n", ".x", "amd64 ", "\ud800", "\uff41md", "\u0661"]),
    st.from_regex(r"[A-Za-z0-9._\-\n]{0,66}", fullmatch=True),
    PART_GOOD.map(Text),
    TEXT,
)
DIGEST_GOOD = st.one_of(
    st.sampled_from([DIGEST, DIGEST.replace("0", "f")]),
    st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True),
)
DIGEST_FIELD = near(
    DIGEST_GOOD,
    st.sampled_from([DIGEST + "\n", DIGEST.upper(), DIGEST[:-1], "sha256:", "\udc00"]),
    st.from_regex(r"sha256:[0-9a-fA-F]{63,65}\n?", fullmatch=True),
    DIGEST_GOOD.map(Text),
    TEXT,
)
VARIANT = mostly(near(objects({"architecture": PART, "os": PART, "digest": DIGEST_FIELD})))
VARIANTS = mostly(near(objects({"latestArchitectureVariants": lists_of(VARIANT)})))
LATEST_TAG = mostly(nonempty_text("1.0.0", "latest"))


# --------------------------------------------------------------------------- checks


def check_page(body: Any, page: int) -> None:
    fast = parse._page_fields(body)
    if fast is not None:
        assert typed(fast) == typed(parse._page_fields_by_pydantic(body, page))
    assert outcome(parse.parse_catalog_page, body, page) == outcome(reference_page, body, page)


def check_resource(raw: Any, index: int) -> None:
    fast = parse._resource_fields(raw)
    if fast is not None:
        assert typed(fast) == typed(parse._resource_fields_by_pydantic(raw, 3, index))
    resources = [{"resourceId": "nim/ok", "name": "ok"}] * index + [raw]
    body = {
        "resultTotal": 1,
        "resultPageTotal": 1,
        "params": {"page": 3},
        "results": [{"groupValue": "CONTAINER", "resources": resources}],
    }
    assert outcome(parse.parse_catalog_page, body, 3) == outcome(reference_page, body, 3)


def check_answer(body: Any) -> None:
    fast = parse._answer_fields(body)
    if fast is not None:
        assert typed(fast) == typed(parse._answer_fields_by_pydantic(body))
    assert outcome(parse.record_from_answer, body, ENTRY) == outcome(reference_record, body)


def check_digests(body: Any, latest_tag: Any) -> None:
    got = tuple(_fields(d) for d in parse.digests_from_answer(body, latest_tag))
    assert typed(got) == typed(reference_digests(body, latest_tag))


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(PAGE, st.integers(0, 9))
def test_a_page_reads_as_pydantic_reads_it(body: Any, page: int) -> None:
    check_page(body, page)


@PROPERTY
@given(RESOURCE, st.integers(0, 9))
def test_a_resource_reads_as_pydantic_reads_it(raw: Any, index: int) -> None:
    check_resource(raw, index)


@PROPERTY
@given(ANSWER)
def test_an_answer_reads_as_pydantic_reads_it(body: Any) -> None:
    check_answer(body)


@PROPERTY
@given(VARIANTS, LATEST_TAG)
def test_digests_read_as_pydantic_reads_them(body: Any, latest_tag: Any) -> None:
    check_digests(body, latest_tag)


@PROPERTY
@given(VARIANT, LATEST_TAG)
def test_one_variant_is_kept_when_pydantic_keeps_it(variant: Any, latest_tag: Any) -> None:
    check_digests({"latestArchitectureVariants": [variant]}, latest_tag)


# Answers of the shapes NGC sends: the checks must take them, or a live run loads pydantic.
PLAIN_TAG = st.one_of(st.sampled_from(["1.0.0", "latest"]), PLAIN.filter(bool))


@PROPERTY
@given(
    st.lists(
        st.fixed_dictionaries(
            {"resourceId": PLAIN, "name": PLAIN},
            optional={
                "displayName": st.none() | PLAIN,
                "dateModified": st.none() | PLAIN,
                "attributes": st.lists(
                    st.fixed_dictionaries(
                        {"key": PLAIN_TAG}, optional={"value": st.none() | PLAIN}
                    ),
                    max_size=4,
                ),
            },
        ),
        max_size=4,
    ),
    st.integers(min_value=0),
)
def test_plain_answers_take_the_fast_path(resources: list[Any], total: int) -> None:
    body = {
        "resultTotal": total,
        "resultPageTotal": total,
        "params": {"page": 0},
        "results": [{"groupValue": "CONTAINER", "resources": resources}, {"groupValue": "x"}],
    }
    assert parse._page_fields(body) is not None
    assert all(parse._resource_fields(raw) is not None for raw in resources)


@PROPERTY
@given(
    st.fixed_dictionaries(
        {
            "name": PLAIN,
            "displayName": PLAIN,
            "shortDescription": PLAIN,
            "namespace": PLAIN_TAG,
            "tags": st.lists(PLAIN, min_size=1, max_size=4),
            "latestTag": PLAIN_TAG,
            "updatedDate": PLAIN,
        }
    )
)
def test_plain_model_answers_take_the_fast_path(body: dict[str, Any]) -> None:
    assert parse._answer_fields(body) is not None


# --------------------------------------------------------------------------- near misses
# Every place in a real answer, each in turn missing or set to each of these: the misses
# the properties above may draw too seldom to be sure of (a bool for an int, say).

ABSENT = object()
NEAR_MISSES: list[Any] = [
    *(ABSENT, None, True, False, 0, 1, -1, 2**64, 10**400, 3.0, -0.0, 2.5, float("nan")),
    *("", " ", "3", "-1", "3.0", "true", "\ud800", "a\udfffb", "\ud83d\ude00", "\U0001f600"),
    *("CONTAINER", "latestTag", "nim/m", "a/b/c/d", "..", "x" * 260, "1.0.0", "latest"),
    *("amd64", "amd64\n", ".amd64", "a" * 64, "a" * 65, DIGEST, DIGEST + "\n", DIGEST.upper()),
    *(Text("x"), Text(""), Text("amd64"), Text(DIGEST), b"x"),
    *([], ["x"], [1], ["1.0.0", True], ("x",), {}, {"key": "x"}, OrderedDict(key="latestTag")),
]
RESOURCE_BASE = {
    "resourceId": "nim/meta/m",
    "name": "m",
    "displayName": "M",
    "dateModified": "2025",
    "attributes": [
        {"key": "latestTag", "value": "1.0"},
        {"key": "latestTagPushedDate", "value": "2025"},
        {"key": "latestTag", "value": "1.0.0"},  # the last one counts, as in a dict
    ],
}


def places(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths to every value in ``value`` (the first three items of a list)."""
    items = value.items() if isinstance(value, dict) else enumerate(value[:3])
    found = []
    for key, item in items:
        found.append((*where, key))
        if isinstance(item, dict | list):
            found += places(item, (*where, key))
    return found


def near_misses(base: Any) -> list[Any]:
    """``base`` with one place missing or set to one of ``NEAR_MISSES``, in every way."""
    out = []
    for *parents, last in places(base):
        for value in NEAR_MISSES:
            changed = copy.deepcopy(base)
            target = changed
            for key in parents:
                target = target[key]
            if value is not ABSENT:
                target[last] = value
            elif isinstance(target, dict):
                del target[last]
            else:
                target.pop(last)
            out.append(changed)
    return out


def test_near_misses_of_a_real_page_read_as_pydantic_reads_them() -> None:
    page = json.loads((NGC / "catalog-search-page.json").read_text())
    for body in near_misses(page):
        check_page(body, 2)


def test_near_misses_of_a_resource_read_as_pydantic_reads_them() -> None:
    for raw in [RESOURCE_BASE, *near_misses(RESOURCE_BASE)]:
        check_resource(raw, 1)


def test_near_misses_of_a_real_answer_read_as_pydantic_reads_them() -> None:
    answer = json.loads((NGC / "repo-llama-3.1-8b-instruct.json").read_text())
    answer["latestArchitectureVariants"].append(
        {"architecture": "arm64", "os": "linux", "digest": DIGEST}
    )
    for body in near_misses(answer):
        check_answer(body)
        check_digests(body, "1.2.2")
    for tag in NEAR_MISSES:
        check_digests(answer, tag)


# --------------------------------------------------------------------------- examples


def test_pydantic_refuses_a_lone_surrogate_only_in_a_constrained_string() -> None:
    # Its finding, which _nonempty_utf8 follows: a plain StrictStr keeps "\ud800"; one
    # with min_length (or a pattern) is checked on UTF-8 and refused.
    body = json.loads((NGC / "repo-llama-3.1-8b-instruct.json").read_text())
    body["displayName"] = json.loads('"\\ud800"')
    assert parse._answer_fields(body) is not None
    assert answers.RepoAnswer.model_validate(body).displayName == "\ud800"
    body["namespace"] = "nim\udc00"
    assert parse._answer_fields(body) is None
    with pytest.raises(Final, match="namespace: Input should be a valid string, unable to parse"):
        parse.record_from_answer(body, ENTRY)


@pytest.mark.parametrize("total", ["3", 3.0, True])
def test_a_total_that_is_not_a_plain_int_is_refused(total: object) -> None:
    body = {"resultTotal": total, "resultPageTotal": 0, "params": {"page": 0}}
    assert parse._page_fields(body) is None
    with pytest.raises(Transient, match="resultTotal: Input should be a valid integer"):
        parse.parse_catalog_page(body, 0)


def test_a_live_reading_never_loads_pydantic() -> None:
    code = f"""
import json, sys
from pathlib import Path
from nimgen.ngc.parse import (
    digests_from_answer, facts_of, parse_catalog_page, record_from_answer,
)
ngc = Path({str(NGC)!r})
page = parse_catalog_page(json.loads((ngc / "catalog-search-page.json").read_text()), 0)
assert page.entries and not page.invalid, page
answer = json.loads((ngc / "repo-llama-3.1-8b-instruct.json").read_text())
record = record_from_answer(answer, page.entries[0])
facts_of(page.entries[0])
assert digests_from_answer(answer, record.latestTag)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "pydantic" or m.endswith("answers"))
assert not loaded, loaded
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
