"""nimgen.yamlio, the one YAML/JSON loader (duplicate keys, aliases, depth, node count), and
nimgen.yamlout, the writer whose output every YAML reader reads back as written."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nimgen.errors import BadInput
from nimgen.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    YamlProblem,
    load_json,
    load_yaml_documents,
    parse_documents,
)
from nimgen.yamlout import dump

DUPLICATED = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: m
data:
  llama-a: '{}'
  llama-b: '{}'
  llama-a: '{"x": 1}'
"""


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_duplicate_key_is_recorded_for_validate_and_refused_by_name_for_readers() -> None:
    assert yaml.safe_load(DUPLICATED)["data"]["llama-a"] == '{"x": 1}'  # PyYAML: silently
    (document,) = parse_documents(DUPLICATED)
    (duplicate,) = document.duplicates
    assert (duplicate.key, duplicate.first_line, duplicate.line) == ("llama-a", 6, 8)
    with pytest.raises(BadInput) as info:
        load_yaml_documents(DUPLICATED, source="cm.yaml")
    assert info.value.message.startswith(
        "cm.yaml: line 8: duplicate key 'llama-a' in data (first at line 6): kubectl refuses"
    )
    assert info.value.exit_code == 2 and "\n" not in info.value.message
    (merged,) = parse_documents("derived:\n  <<: {a: 1, b: 2}\n  a: 3\n")  # a merge, no alias
    assert merged.data["derived"] == {"a": 3, "b": 2} and merged.duplicates == []


def test_an_alias_bomb_is_refused_at_the_first_alias() -> None:
    text = alias_bomb()
    assert len(text) < 600
    with pytest.raises(YamlProblem) as info:
        parse_documents(text)
    assert info.value.refused and info.value.line == 2
    assert str(info.value).startswith("line 2: the alias *a0 is refused")
    assert load_yaml_documents("a: &x 1\nb: 2\n", source="f") == [{"a": 1, "b": 2}]


def test_an_integer_python_cannot_read_is_refused_in_one_line() -> None:
    # int() refuses more than 4300 digits: that was "internal error: ValueError".
    text = "a: 1\nb: " + "7" * 5000 + "\n"
    with pytest.raises(BadInput) as info:
        load_yaml_documents(text, source="big.yaml")
    assert info.value.message == (
        "big.yaml: line 2: refused: a number with thousands of digits, far beyond any "
        "ConfigMap or model list"
    )
    assert load_yaml_documents("n: " + "7" * 4300 + "\n", source="f") == [{"n": int("7" * 4300)}]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1),
        ("[" * 100_000, 1),  # libyaml, scanning ahead, meets its own limit first
        ("".join(f"{'  ' * i}k:\n" for i in range(MAX_DEPTH + 5)), MAX_DEPTH),
    ],
    ids=["flow", "unclosed", "block"],
)
def test_deep_nesting_is_refused_in_one_line(text: str, line: int) -> None:
    with pytest.raises(BadInput) as info:
        load_yaml_documents(text, source="deep.yaml")
    assert info.value.message == (
        f"deep.yaml: line {line}: refused: nested deeper than {MAX_DEPTH} levels, "
        "far beyond any ConfigMap or model list"
    )
    assert load_yaml_documents("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), source="f")


def test_a_flood_of_values_is_refused_where_it_passes_the_limit() -> None:
    # One value a line, and a syntax error at the end: the refusal names the line where the
    # count passed MAX_NODES (the mapping, its key and the list are three nodes), so nothing
    # after it was read.
    text = "x:\n" + "- 1\n" * (MAX_NODES * 4) + "y: [\n"
    with pytest.raises(BadInput) as info:
        load_yaml_documents(text, source="flood.yaml")
    assert info.value.message == (
        f"flood.yaml: line {MAX_NODES - 1}: refused: more than {MAX_NODES:,} values, far beyond "
        "any ConfigMap or model list"
    )


def test_json_duplicate_keys_and_depth() -> None:
    with pytest.raises(BadInput, match=r"s\.json: duplicate key 'kind' in one JSON object"):
        load_json('{"kind": "a", "kind": "b"}', source="s.json")
    with pytest.raises(BadInput, match=r"s.json: refused: JSON nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000, source="s.json")
    with pytest.raises(BadInput, match=r"s.json: not valid JSON \(line 1: "):
        load_json("{", source="s.json")
    assert load_json('{"a": [1, {"b": null}]}', source="s.json") == {"a": [1, {"b": None}]}


def test_documents_keep_their_sizes_and_duplicates_apart_and_errors_name_the_line() -> None:
    with pytest.raises(BadInput, match=r"^f: line 2: not valid YAML: "):
        load_yaml_documents("a: 1\n b: 2\n", source="f")
    text = "a: ü\n---\n" + DUPLICATED
    first, second = parse_documents(text)
    assert (first.index, first.data, first.size, first.duplicates) == (1, {"a": "ü"}, 6, [])
    assert second.index == 2 and len(second.duplicates) == 1
    assert second.size == len(DUPLICATED)


# --- the writer: what every YAML reader reads back as written ------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["yes", "No", "null", "007", "1e3", "a: b", "- x", "#", "|", "a\n", "a\nb\n", " a\n", ""]
)
_SCALARS: st.SearchStrategy[Any] = (
    _TEXT | st.booleans() | st.integers() | st.none() | st.just({}) | st.just([])
)
_DOCUMENTS = st.recursive(
    st.dictionaries(_TEXT, _SCALARS, min_size=1, max_size=5),
    lambda inner: st.dictionaries(
        _TEXT, _SCALARS | inner | st.lists(_SCALARS | inner, min_size=1, max_size=3), max_size=4
    ),
    max_leaves=20,
)


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out: True == 1 == 1.0 in Python."""
    if isinstance(value, dict):
        return ("map", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


@given(_DOCUMENTS)
@settings(max_examples=300, deadline=None)
def test_any_document_the_writer_writes_reads_back_as_written(document: dict[str, Any]) -> None:
    text = dump(document)
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert _typed(load_yaml_documents(text, source="f")) == _typed([document])
    assert _typed(yaml.safe_load(text)) == _typed(document)


def test_the_writer_quotes_indents_and_blocks_as_nimgen_always_has() -> None:
    document = {
        "plain": "nim/meta-1.0_x",
        "words": ["yes", "Off", "null", "y", "007", "", "a b"],
        "block": '{\n  "a": 1\n}\n',
        "map": {"t": True, "n": None, "i": 3, "empty": {}, "none": []},
        "items": [{"name": "a", "value": "b"}],
    }
    assert dump(document) == (
        "plain: nim/meta-1.0_x\n"
        'words:\n  - "yes"\n  - "Off"\n  - "null"\n  - "y"\n  - "007"\n  - ""\n  - "a b"\n'
        'block: |\n  {\n    "a": 1\n  }\n'
        'map:\n  t: true\n  "n": null\n  i: 3\n  empty: {}\n  none: []\n'
        "items:\n  - name: a\n    value: b\n"
    )
