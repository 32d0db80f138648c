"""The ConfigMap entry formatter writes what ``json.dumps(indent=2, ensure_ascii=True)`` did.

``indented_json`` replaced ``json.dumps(..., indent=2)`` (CPython's pure-Python encoder)
for speed; a ConfigMap must stay byte for byte what it was, so every shape of record is
compared with the encoder it replaced, and the built-in sample's ConfigMap is pinned.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nimgen.catalog import ModelRecord
from nimgen.snapshot import load_models, sample_path
from nimgen.tags import TAG_PATTERN
from nimgen.tree import configmap
from nimgen.tree.configmap import entry_json, indented_json, render_configmap
from tests.support.model_records import make_record

# Any code point: controls, quotes, backslashes, the Unicode line separators, astral
# planes, and lone surrogates (a str may hold them; json escapes them as \udXXX).
any_text = st.text(st.characters(), max_size=40) | st.sampled_from(
    ['"', "\\", '\\"', "\x00", "\x1f", "\x7f", "\u2028", "\ufeff", "\ud800", "😀", "\U0010ffff"]
)
text_lists = st.lists(any_text, max_size=5)
# What a validated record holds: no lone surrogates.
record_text = any_text.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t))


def _dumps(fields: dict[str, Any]) -> str:
    """What ``entry_json`` was before ``indented_json``."""
    return json.dumps(fields, indent=2, ensure_ascii=True) + "\n"


@given(
    st.builds(
        dict,
        name=any_text,
        displayName=any_text,
        shortDescription=any_text,
        namespace=any_text,
        tags=text_lists,
        latestTag=any_text,
        updatedDate=any_text,
        euRestricted=st.booleans(),
    )
)
@settings(max_examples=500, deadline=None)
def test_a_model_entry_is_what_json_dumps_wrote(fields: dict[str, Any]) -> None:
    assert indented_json(fields) == _dumps(fields)


@given(st.dictionaries(any_text, any_text | st.booleans() | text_lists, max_size=8))
@settings(max_examples=300, deadline=None)
def test_any_flat_object_of_its_shapes_is_what_json_dumps_writes(fields: dict[str, Any]) -> None:
    assert indented_json(fields) == _dumps(fields)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(any_text, json_values, max_size=6))
@settings(max_examples=300, deadline=None)
def test_other_shapes_go_to_json_dumps(fields: dict[str, Any]) -> None:
    assert indented_json(fields) == _dumps(fields)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"tags": []},
        {"tags": ["only"]},
        {"a": True, "b": False},
        {"n": 1, "s": "x"},  # an int: json.dumps writes it
        {1: "x"},  # a key json.dumps converts
        {"t": ("a", "b")},  # a tuple: json.dumps writes it as a list
    ],
    ids=repr,
)
def test_edge_shapes(fields: dict[Any, Any]) -> None:
    assert indented_json(fields) == _dumps(fields)


@given(
    name=st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True),
    text=record_text,
    tags=st.lists(st.from_regex(TAG_PATTERN, fullmatch=True), min_size=1, max_size=4, unique=True),
    restricted=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_a_record_entry_is_what_json_dumps_wrote(
    name: str, text: str, tags: list[str], restricted: bool
) -> None:
    record = make_record(
        name,
        displayName=text,
        shortDescription=text + "\n" + text,
        namespace="nim/" + text.replace("/", "-") if text else "nim",
        tags=tuple(tags),
        latestTag=tags[0],
        updatedDate=text,
        euRestricted=restricted,
    )
    assert entry_json(record) == _dumps(record.as_json_dict())


def _sample_configmap_text() -> tuple[str, int]:
    models = load_models(sample_path()).models
    rendered = render_configmap((m.record for m in models), revisioned=True)
    return rendered.text, rendered.apply_annotation_bytes


def test_the_sample_configmap_is_byte_for_byte_as_before() -> None:
    # Rendered by nimgen before indented_json (with json.dumps(indent=2)); a change to
    # the sample snapshot or the ConfigMap format changes it, deliberately.
    text, apply_bytes = _sample_configmap_text()
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "e967b8719c4561c770501423f4333e8c0963f6b3172fbaa2932da1d6e796676d"
    )
    assert apply_bytes == 102_979


def test_the_sample_configmap_is_what_json_dumps_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    text, apply_bytes = _sample_configmap_text()
    monkeypatch.setattr(configmap, "indented_json", _dumps)
    assert _sample_configmap_text() == (text, apply_bytes)


def test_a_field_of_another_type_is_written_as_json_dumps_writes_it() -> None:
    record = make_record("m")
    for field, value in (("euRestricted", 1), ("updatedDate", None), ("tags", ("1.0", 2))):
        odd = record.model_copy(update={field: value, "latestTag": "1.0"})  # unchecked
        assert entry_json(odd) == _dumps(odd.as_json_dict())


def test_the_entry_keeps_the_contracts_field_order() -> None:
    record: ModelRecord = make_record("m", tags=("1.0", "latest"))
    assert list(json.loads(entry_json(record))) == list(record.as_json_dict())
    assert entry_json(record).startswith('{\n  "name": "m",\n  "displayName": ')
