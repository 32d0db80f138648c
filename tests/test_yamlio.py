"""nimgen.yamlio: the one YAML/JSON loader (duplicate keys, aliases, depth, node count)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from nimgen import ownyaml
from nimgen.catalog import ModelRecord
from nimgen.errors import BadInput
from nimgen.snapshot import load_models, sample_path
from nimgen.tree.configmap import HEADER, render_configmap
from nimgen.tree.layout import render_tree
from nimgen.tree.template import render_template
from nimgen.yamlio import (
    MAX_DEPTH,
    MAX_NODES,
    ParsedDocument,
    YamlProblem,
    compose_documents,
    load_json,
    load_yaml_documents,
    parse_documents,
    read_yaml_file,
)
from nimgen.yamlout import dump
from tests.support.model_records import make_record

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


# --- read_own_yaml: YAML nimgen wrote, read without PyYAML ----------------------------


def read_own_yaml(text: str) -> ParsedDocument | None:
    """nimgen.ownyaml's answer as parse_documents would hold it."""
    own = ownyaml.read_own_yaml(text, max_depth=MAX_DEPTH, max_nodes=MAX_NODES)
    return None if own is None else ParsedDocument(index=1, node=None, data=own[0], size=own[1])


#
# The fast path must never disagree with StrictLoader: on nimgen's own output it gives
# the same data (same types, same key order), size and no duplicates; on anything else
# it steps aside (None), and parse_documents answers as StrictLoader alone does.

_ODD = [*"\"'\\|\n\t~", ": ", " #", "- ", "|\n", ">-", "\n\n", " \n", "\r\n", "\u2028", "\x85"]
_ODD_TEXT = st.text(st.characters(), max_size=30) | st.sampled_from(
    [*_ODD, "\ufeff", "\x00", "\x7f", "😀", "yes", "null", "007", "1e3"]
)
_KEYS = st.from_regex(r"[a-z][-a-z0-9._/]{0,12}", fullmatch=True) | _ODD_TEXT
_SCALARS: st.SearchStrategy[Any] = (
    _ODD_TEXT
    | st.from_regex(r"[A-Za-z][-A-Za-z0-9._/]{0,12}", fullmatch=True)
    | st.booleans()
    | st.integers()
    | st.none()
    | st.just({})
    | st.just([])
)
_MAPPINGS = st.recursive(
    st.dictionaries(_KEYS, _SCALARS, min_size=1, max_size=5),
    lambda inner: st.dictionaries(_KEYS, _SCALARS | inner, min_size=1, max_size=4),
    max_leaves=20,
)


def _typed(value: Any) -> Any:
    """``value`` with every scalar's type spelled out: True == 1 == 1.0 in Python."""
    if isinstance(value, dict):
        return ("map", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


def _same(own: ParsedDocument, full: list[ParsedDocument]) -> None:
    (document,) = full
    assert _typed(own.data) == _typed(document.data)
    assert own.size == document.size
    assert own.index == document.index == 1
    assert own.duplicates == document.duplicates == []


def _agrees(text: str) -> ParsedDocument | None:
    """read_own_yaml(text), checked against StrictLoader wherever it gives an answer."""
    own = read_own_yaml(text)
    if own is not None:
        _same(own, compose_documents(text))
    return own


@st.composite
def _records(draw: st.DrawFn) -> ModelRecord:
    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
    tags = draw(st.lists(text.filter(bool), min_size=1, max_size=4, unique=True))
    return make_record(
        draw(st.from_regex(r"[a-zA-Z0-9][-a-zA-Z0-9._]{0,30}", fullmatch=True)),
        displayName=draw(text),
        shortDescription=draw(text),
        namespace=draw(text.filter(bool)),
        tags=tuple(tags),
        latestTag=draw(st.sampled_from(tags)),
        updatedDate=draw(text),
        euRestricted=draw(st.booleans()),
    )


@given(
    st.lists(_records(), min_size=1, max_size=6, unique_by=lambda r: r.name),
    st.sampled_from([HEADER, "", "# one\n# two: 'x' - [y]\n#\n"]),
    st.sampled_from([None, "opendatahub", "redhat-ods-applications"]),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_a_rendered_configmap_is_read_as_strictloader_reads_it(
    records: list[ModelRecord], header: str, namespace: str | None, immutable: bool
) -> None:
    rendered = render_configmap(
        records, header=header, namespace=namespace, immutable=immutable, revisioned=True
    )
    own = _agrees(rendered.text)
    assert own is not None  # nimgen's own ConfigMaps take the fast path
    assert parse_documents(rendered.text) == [own]


@given(_MAPPINGS, st.sampled_from(["", "# c\n"]))
@settings(max_examples=400, deadline=None)
def test_any_mapping_the_writer_writes_is_read_as_strictloader_reads_it(
    document: dict[str, Any], header: str
) -> None:
    _agrees(header + dump(document))


_EDIT_CHARS = st.sampled_from([*" \n:#\"'|-\\{}[]&*!%@`?,>~0aZ\t\r\ufeff\x85"])


@given(
    st.lists(_records(), min_size=1, max_size=3, unique_by=lambda r: r.name),
    st.lists(
        st.tuples(st.sampled_from(["insert", "delete", "replace", "line"]), st.integers(0)),
        min_size=1,
        max_size=3,
    ),
    _EDIT_CHARS,
)
@settings(max_examples=600, deadline=None)
def test_an_edited_configmap_is_never_read_differently(
    records: list[ModelRecord], edits: list[tuple[str, int]], char: str
) -> None:
    text = render_configmap(records, namespace="ns").text
    for kind, where in edits:
        at = where % (len(text) + 1)
        if kind == "insert":
            text = text[:at] + char + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + 1 :]
        elif kind == "replace":
            text = text[:at] + char + text[at + 1 :]
        else:  # a whole line again, as a hand edit or a bad merge might leave it
            lines = text.splitlines(keepends=True)
            line = lines[where % len(lines)] if lines else ""
            text = text[:at] + line + text[at:]
    own = read_own_yaml(text)
    if own is None:
        return
    try:
        full = compose_documents(text)
    except YamlProblem as exc:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"read {text!r} where StrictLoader refuses it: {exc}")
    _same(own, full)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\r\nb: 2\r\n",  # carriage returns
        "a:\n\tb: 1\n",  # a tab
        "\ufeffa: 1\n",  # a byte order mark
        "a: 1\n\ufeffb: 2\n",  # one inside
        "a: 1\n",  # no, this one is ours: see the assertion below
        "a: 1",  # no final line feed
        "---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: &x 1\nb: *x\n",
        "a: [1, 2]\n",
        "a:\n  - 1\n",
        "a: {b: 1}\n",
        "a: 'x'\n",
        "a: |-\n  x\n",
        "a: |\n  x\n\n",
        "a: 0123\n",
        "a: " + "1" * 5000 + "\n",  # more digits than int() takes: StrictLoader's to answer
        "a: yes\n",
        "a: True\n",
        "true: 1\n",
        "a: 1\na: 2\n",
        "a:\n  b: 1\n  b: 2\n",
        "a:\n",
        "a: \n",
        "a:  1\n",
        '"a\\x41": 1\n',
        "# only a comment\n",
        "",
        '{"apiVersion": "v1", "kind": "ConfigMap"}\n',
    ],
)
def test_anything_else_is_left_to_strictloader(text: str) -> None:
    own = read_own_yaml(text)
    assert (own is not None) == (text == "a: 1\n")
    if own is not None:
        _same(own, compose_documents(text))


def test_a_duplicate_key_in_the_writers_format_is_found() -> None:
    text = dump({"data": {"a": "1", "b": "2"}}).replace('  b: "2"', '  a: "2"')
    assert read_own_yaml(text) is None
    (document,) = parse_documents(text)
    (duplicate,) = document.duplicates
    assert (duplicate.key, duplicate.first_line, duplicate.line) == ("a", 2, 3)


def test_over_the_node_limit_the_writers_format_is_refused_as_before() -> None:
    text = dump({"data": {f"k{i}": "v" for i in range(MAX_NODES // 2 + 1)}})
    with pytest.raises(YamlProblem) as fast:
        parse_documents(text)
    with pytest.raises(YamlProblem) as full:
        compose_documents(text)
    assert str(fast.value) == str(full.value)
    assert fast.value.refused and "more than 20,000 values" in str(fast.value)


def test_past_the_depth_limit_the_writers_format_is_refused_as_before() -> None:
    document: dict[str, Any] = {"k": "v"}
    for _ in range(MAX_DEPTH):
        document = {"k": document}
    text = dump(document)
    with pytest.raises(YamlProblem) as fast:
        parse_documents(text)
    assert fast.value.refused and f"nested deeper than {MAX_DEPTH} levels" in str(fast.value)
    with pytest.raises(YamlProblem) as full:
        compose_documents(text)
    assert str(fast.value) == str(full.value)


def test_just_under_the_limits_the_writers_format_is_read_fast() -> None:
    document: dict[str, Any] = {"k": "v"}
    for _ in range(MAX_DEPTH - 3):
        document = {"k": document}
    assert _agrees(dump(document)) is not None
    wide = {"data": {f"k{i}": "v" for i in range(MAX_NODES // 2 - 2)}}
    assert _agrees(dump(wide)) is not None


def test_the_sample_configmap_and_tree_files_are_read_as_strictloader_reads_them() -> None:
    records = [m.record for m in load_models(sample_path()).models]
    rendered = render_configmap(records, revisioned=True)
    assert _agrees(rendered.text) is not None
    for relative, content in render_tree(rendered, render_template()).items():
        text = content.decode()
        own = _agrees(text)
        if relative.endswith("nim-models-data.yaml"):
            assert own is not None
