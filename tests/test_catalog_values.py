"""The catalog's plain values (``nimgen.catalog``) agree with their pydantic twins
(``nimgen.catalog_schema``): the same records accepted, the same values, the same bytes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nimgen.catalog import (
    RECORD_FIELDS,
    CatalogFacts,
    EuStatus,
    ImageDigest,
    ModelRecord,
    SnapshotModel,
    record_from_json_fast,
)
from nimgen.catalog_schema import SnapshotSchema, record_from_json, snapshot_from
from nimgen.snapshot import sample_path
from tests.support.model_records import record_fields

VALID: dict[str, Any] = record_fields("llama-3.1-8b-instruct")

_text = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", "1.0", "latest", "a/b", "\ud800", "é", "x" * 254]),
)
_value: st.SearchStrategy[Any] = st.one_of(
    _text,
    st.booleans(),
    st.none(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(_text, max_size=3),
    st.lists(st.one_of(st.integers(), st.none()), max_size=2),
    st.dictionaries(_text, _text, max_size=2),
)


@st.composite
def near_records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record with some fields changed, dropped or added."""
    data = dict(VALID)
    for key in draw(st.lists(st.sampled_from(RECORD_FIELDS), max_size=3, unique=True)):
        action = draw(st.sampled_from(["change", "drop"]))
        if action == "drop":
            del data[key]
        else:
            data[key] = draw(_value)
    if draw(st.booleans()):
        tags = data.get("tags")
        offered = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
        data["latestTag"] = draw(st.sampled_from(offered or ["1.0"]) | _text)
    if draw(st.integers(0, 9)) == 0:
        data[draw(_text)] = draw(_value)
    return data


def _schema_verdict(text: str) -> ModelRecord | None:
    try:
        return record_from_json(text)
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(near_records())
def test_the_fast_reader_accepts_only_what_the_schema_accepts_with_the_same_values(
    data: dict[str, Any],
) -> None:
    text = json.dumps(data, ensure_ascii=False)
    fast = record_from_json_fast(text)
    if fast is not None:
        assert _schema_verdict(text) == fast


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(VALID),
        json.dumps(VALID, ensure_ascii=False, indent=2),
        json.dumps({**VALID, "displayName": "Ünïcode"}, ensure_ascii=False),
    ],
)
def test_the_fast_reader_takes_plain_entries(text: str) -> None:
    assert record_from_json_fast(text) == record_from_json(text)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(VALID).replace(
            json.dumps(VALID["displayName"]), '"\\ud800"'
        ),  # pydantic: invalid JSON
        json.dumps({**VALID, "euRestricted": 0}),
        json.dumps({**VALID, "tags": ("1.0",), "extra": 1}),
        json.dumps({**VALID, "name": "a/b"}),
        "[]",
        "{",
    ],
)
def test_the_fast_reader_leaves_anything_doubtful_to_the_schema(text: str) -> None:
    assert record_from_json_fast(text) is None


def test_the_sample_snapshot_reads_and_writes_back_the_same_document() -> None:
    document = json.loads(sample_path().read_text(encoding="utf-8"))
    schema = SnapshotSchema.model_validate(document)
    snapshot = snapshot_from(document)
    assert snapshot.as_json_dict() == document
    dumped = schema.model_dump(mode="json", exclude_none=True)
    for model in dumped["models"]:
        if not model["digests"]:
            del model["digests"]
    assert snapshot.as_json_dict() == dumped


def test_records_keep_their_invariants() -> None:
    record = ModelRecord(**{**VALID, "tags": ["1.0", "latest"]})
    assert record.tags == ("1.0", "latest")  # a list becomes a tuple: hashable, comparable
    assert hash(record) == hash(record.replace())
    with pytest.raises(ValueError, match="not among the tags"):
        record.replace(latestTag="9.9")
    with pytest.raises(ValueError, match="name: "):
        record.replace(name="a/b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ModelRecord("a", "b")  # type: ignore[misc]  # keyword-only, like the pydantic model


def test_other_values_keep_their_invariants() -> None:
    with pytest.raises(ValueError, match="EU status"):
        EuStatus(status="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="digest"):
        ImageDigest(tag="1.0", architecture="amd64", os="linux", digest="sha256:x")
    with pytest.raises(ValueError, match="os"):
        ImageDigest(tag="1.0", architecture="amd64", os="linux\n", digest="sha256:" + "a" * 64)
    model = SnapshotModel(record=ModelRecord(**VALID), catalog=CatalogFacts(resourceId="a/b"))
    assert model.digests == () and model.replace(eu=EuStatus(status="available")).eu is not None
    assert model.as_json_dict() == {"record": VALID, "catalog": {"resourceId": "a/b"}}
