"""nimgen.yamlio: the one YAML/JSON loader (duplicate keys, aliases, depth, node count)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from nimgen.errors import BadInput
from nimgen.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    YamlProblem,
    load_json,
    load_yaml_documents,
    parse_documents,
    read_yaml_file,
)

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


def test_pyyaml_alone_keeps_the_last_value_silently() -> None:
    assert yaml.safe_load(DUPLICATED)["data"]["llama-a"] == '{"x": 1}'


def test_a_duplicate_key_names_the_file_line_key_and_mapping() -> None:
    with pytest.raises(BadInput) as info:
        load_yaml_documents(DUPLICATED, source="cm.yaml")
    assert info.value.message.startswith(
        "cm.yaml: line 8: duplicate key 'llama-a' in data (first at line 6): kubectl refuses"
    )
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message


def test_duplicates_are_recorded_for_validate_not_raised() -> None:
    (document,) = parse_documents(DUPLICATED)
    (duplicate,) = document.duplicates
    assert (duplicate.key, duplicate.first_line, duplicate.line) == ("llama-a", 6, 8)


def test_an_alias_bomb_is_refused_at_the_first_alias_in_no_time() -> None:
    text = alias_bomb()
    assert len(text) < 600
    started = time.monotonic()
    with pytest.raises(YamlProblem) as info:
        parse_documents(text)
    assert time.monotonic() - started < 1
    assert info.value.refused and info.value.line == 2
    assert str(info.value).startswith("line 2: the alias *a0 is refused")


def test_an_anchor_alone_is_harmless() -> None:
    assert load_yaml_documents("a: &x 1\nb: 2\n", source="f") == [{"a": 1, "b": 2}]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1),
        ("[" * 100_000, 1),  # would overflow the recursion of PyYAML's composer
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


def test_the_depth_a_configmap_needs_is_far_below_the_cap() -> None:
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert load_yaml_documents(nested, source="f")


def test_a_flood_of_values_is_refused_early() -> None:
    text = "x: [" + "1," * (MAX_NODES * 4) + "1]\n"
    started = time.monotonic()
    with pytest.raises(BadInput, match=f"more than {MAX_NODES:,} values"):
        load_yaml_documents(text, source="flood.yaml")
    assert time.monotonic() - started < 10  # the whole text would take minutes


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(BadInput, match=r"^f: line 2: not valid YAML: "):
        load_yaml_documents("a: 1\n b: 2\n", source="f")


def test_json_duplicate_keys_and_depth(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"s\.json: duplicate key 'kind' in one JSON object"):
        load_json('{"kind": "a", "kind": "b"}', source="s.json")
    with pytest.raises(BadInput, match=r"s.json: refused: JSON nested too deeply"):
        load_json("[" * 100_000 + "]" * 100_000, source="s.json")
    with pytest.raises(BadInput, match=r"s.json: not valid JSON \(line 1: "):
        load_json("{", source="s.json")
    assert load_json('{"a": [1, {"b": null}]}', source="s.json") == {"a": [1, {"b": None}]}


def test_reading_a_file_goes_through_the_bounded_reader(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(DUPLICATED)
    with pytest.raises(BadInput, match=rf"^{path}: line 8: duplicate key 'llama-a'"):
        read_yaml_file(path)
    path.write_text("a: 1\n")
    assert read_yaml_file(path) == [{"a": 1}]
    with pytest.raises(BadInput, match="over the 4 bytes"):
        read_yaml_file(path, max_bytes=4)
