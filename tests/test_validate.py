"""nimgen.validate: the ConfigMap checker, its YAML loader, and its agreement with the schema."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from nimgen.catalog import ModelRecord, record_json_schema
from nimgen.errors import BadInput
from nimgen.snapshot import load_models, sample_path
from nimgen.tree.configmap import MAX_OBJECT_BYTES, render_configmap
from nimgen.validate import (
    FileResult,
    Problem,
    exit_code,
    validate_file,
    validate_text,
)
from nimgen.yamlio import YamlProblem, parse_documents

DATA = Path(__file__).resolve().parent / "data" / "validate"

# (file, key the message names, what the message says)
BAD_FILES = [
    ("bad-duplicate-key.yaml", "llama-3.1-8b-instruct", "duplicate key (lines 10 and 21)"),
    ("bad-kind.yaml", "kind", "is 'Secret', not 'ConfigMap'"),
    ("bad-invalid-key.yaml", "meta/llama3", "is not a valid ConfigMap key"),
    ("bad-key-name-mismatch.yaml", "llama-a", "the key differs from the value's name 'llama-b'"),
    ("bad-not-json.yaml", "llama-a", "not valid JSON"),
    ("bad-missing-field.yaml", "llama-a", "missing field 'updatedDate'"),
    ("bad-unknown-field.yaml", "llama-a", "unknown field 'description'"),
    ("bad-wrong-type.yaml", "llama-a", "'euRestricted' must be true or false, not a string"),
    ("bad-empty-tags.yaml", "llama-a", "'tags' is empty"),
    ("bad-latest-not-in-tags.yaml", "llama-a", "latestTag '1.2.0' is not among the model's tags"),
    ("bad-tag-not-string.yaml", "llama-a", "'tags[0]' must be a string, not a number"),
    ("bad-value-not-string.yaml", "llama-a", "the value is a YAML mapping, not a string"),
    ("bad-duplicate-json-field.yaml", "llama-a", "the JSON gives the field 'tags' twice"),
    ("bad-yaml-syntax.yaml", "line 7", "not valid YAML: mapping values are not allowed"),
    (
        "bad-annotation-not-string.yaml",
        "metadata.annotations.opendatahub.io/nim-models-schema-version",
        "the value is a number, not a string: quote it",
    ),
    ("bad-unknown-top-level-field.yaml", "Data", "unknown field"),
    ("bad-name-uppercase.yaml", "metadata.name", "'Custom-NIM-Models' is not a valid object name"),
    ("bad-multi-document.yaml", "llama-a", "'tags' is empty (ConfigMap second-nim-models"),
]

GOOD_ENTRY: dict[str, Any] = {
    "name": "llama-a",
    "displayName": "Some model",
    "shortDescription": "A model",
    "namespace": "nim/meta",
    "tags": ["1.0.0", "1.0"],
    "latestTag": "1.0.0",
    "updatedDate": "2025-01-01T00:00:00Z",
    "euRestricted": False,
}


def configmap_yaml(
    data: dict[Any, Any], *, name: str = "custom-nim-models", extra: str = ""
) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}", extra]
    lines.append("data:" if data else "data: {}")
    for key, value in data.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "\n".join(line for line in lines if line) + "\n"


def entry(**changes: Any) -> str:
    value = {**GOOD_ENTRY, **changes}
    return json.dumps({k: v for k, v in value.items() if v is not ...})


def one_problem(result: FileResult) -> Problem:
    assert len(result.errors) == 1, [str(p) for p in result.problems]
    return result.errors[0]


def test_the_good_file_is_valid() -> None:
    result = validate_file(str(DATA / "good.yaml"))
    assert result.valid, [str(p) for p in result.problems]
    assert result.problems == ()
    assert (result.configmaps, result.models) == (1, 2)
    assert exit_code([result]) == 0


def test_a_configmap_among_other_documents_is_valid() -> None:
    result = validate_file(str(DATA / "good-multi-document.yaml"))
    assert result.valid and result.problems == ()
    assert (result.configmaps, result.models) == (1, 2)


def test_there_are_at_least_ten_distinct_bad_files() -> None:
    files = {name for name, _, _ in BAD_FILES}
    assert len(files) >= 10
    assert files == {p.name for p in DATA.glob("bad-*.yaml")}


@pytest.mark.parametrize(("file", "key", "what"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_each_bad_file_names_the_key_and_the_problem(file: str, key: str, what: str) -> None:
    path = str(DATA / file)
    result = validate_file(path)
    assert not result.valid
    # A duplicated key is refused (exit 2), as every reader refuses it; the rest are findings.
    assert exit_code([result]) == (2 if file == "bad-duplicate-key.yaml" else 1)
    matching = [p for p in result.errors if p.key == key and what in p.message]
    assert matching, [str(p) for p in result.problems]
    assert str(matching[0]).startswith(f"{path}: {key}: ")
    assert what in str(matching[0])


def test_a_bad_entry_is_the_only_problem_reported() -> None:
    # Each bad file differs from the good one in one place, so one error is found,
    # except where one fault implies a second (no 'data' once it is spelt 'Data').
    for file, key, _ in BAD_FILES:
        if file == "bad-unknown-top-level-field.yaml":
            continue
        assert one_problem(validate_file(str(DATA / file))).key == key, file


def test_a_missing_data_section_is_named() -> None:
    result = validate_file(str(DATA / "bad-unknown-top-level-field.yaml"))
    assert {p.key for p in result.errors} == {"Data", "data"}


def test_an_immutable_configmap_under_a_fixed_name_is_a_warning() -> None:
    result = validate_file(str(DATA / "warn-immutable-fixed-name.yaml"))
    assert result.valid and not result.errors
    (warning,) = result.warnings
    assert warning.key == "immutable"
    assert "immutable ConfigMap under the fixed name 'custom-nim-models'" in warning.message
    assert str(warning).endswith(warning.message) and ": warning: " in str(warning)
    assert exit_code([result]) == 0


def test_an_unknown_schema_version_is_a_warning() -> None:
    result = validate_file(str(DATA / "warn-schema-version.yaml"))
    assert result.valid
    (warning,) = result.warnings
    assert warning.key == "metadata.annotations.opendatahub.io/nim-models-schema-version"
    assert "schema version '2' is not one this nimgen knows ('1')" in warning.message


def test_a_versioned_immutable_configmap_is_not_warned_about() -> None:
    records = [m.record for m in load_models(sample_path()).models[:5]]
    rendered = render_configmap(records, versioned=True, immutable=True)
    result = validate_text(rendered.text, "shipped.yaml")
    assert result.valid and result.problems == ()


def test_a_versioned_name_whose_suffix_is_not_the_content_is_a_warning() -> None:
    records = [m.record for m in load_models(sample_path()).models[:5]]
    rendered = render_configmap(records, versioned=True, immutable=True)
    edited = rendered.text.replace('"euRestricted": false', '"euRestricted": true', 1)
    result = validate_text(edited, "edited.yaml")
    assert result.valid
    (warning,) = result.warnings
    assert warning.key == "metadata.name"
    assert "is not the content digest" in warning.message


def test_the_shipped_configmap_of_the_whole_sample_is_valid() -> None:
    records = [m.record for m in load_models(sample_path()).models]
    rendered = render_configmap(records, versioned=True, namespace="opendatahub")
    result = validate_text(rendered.text, "nim-models-data.yaml")
    assert result.problems == ()
    assert result.models == len(records) == 186


def test_a_configmap_over_one_mebibyte_is_refused(tmp_path: Path) -> None:
    description = "x" * 2000
    data = {
        f"model-{i:04d}": entry(name=f"model-{i:04d}", shortDescription=description)
        for i in range(600)
    }
    path = tmp_path / "big.yaml"
    path.write_text(configmap_yaml(data))
    assert path.stat().st_size > MAX_OBJECT_BYTES
    problem = one_problem(validate_file(str(path)))
    assert problem.key == "size"
    assert "not under the 1,048,576 bytes (1 MiB) etcd accepts" in problem.message


def test_aliases_are_refused_unread() -> None:
    # Small text, but every key would hold the same large value (a YAML alias): refused
    # as unreadable (exit 2) at the first alias, before anything is built from it.
    value = entry(shortDescription="y" * 100_000)
    lines = [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata: {name: m}",
        "data:",
        f"  model-00: &v {json.dumps(value.replace('llama-a', 'model-00'))}",
    ]
    lines += [f"  model-{i:02d}: *v" for i in range(1, 12)]
    result = validate_text("\n".join(lines) + "\n", "alias.yaml")
    assert result.unreadable is not None
    assert result.unreadable.startswith("line 6: the alias *v is refused")
    assert exit_code([result]) == 2


@pytest.mark.parametrize(
    ("text", "key", "what"),
    [
        ("", "kind", "the file is empty"),
        ("- a\n- b\n", "kind", "the document is a list, not a ConfigMap"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "kind", "missing: expected kind: ConfigMap"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "metadata", "missing"),
        (configmap_yaml({}), "data", "holds no models"),
        (
            configmap_yaml({"llama-a": entry()}).replace("apiVersion: v1", "apiVersion: v2"),
            "apiVersion",
            "is 'v2', not 'v1'",
        ),
        (
            configmap_yaml({"llama-a": entry()}, extra="immutable: 'yes'"),
            "immutable",
            "must be true or false, not a string",
        ),
        (
            configmap_yaml({"llama-a": entry()}) + "binaryData: {x: AAAA}\n",
            "binaryData",
            "binaryData must be empty",
        ),
        (
            configmap_yaml({"llama-a": entry()}, extra="  namespace: x").replace(
                "  name: custom-nim-models\n", ""
            ),
            "metadata.name",
            "missing",
        ),
        (
            configmap_yaml({"llama-a": entry()}, extra="  namespace: Bad_NS"),
            "metadata.namespace",
            "is not a valid namespace name",
        ),
        (
            configmap_yaml({"llama-a": entry()}, extra="  labels: {a: true}"),
            "metadata.labels.a",
            "the value is a boolean, not a string",
        ),
        (configmap_yaml({"llama-a": "[1, 2]"}), "llama-a", "the JSON value is an array"),
        (configmap_yaml({"llama-a": 42}), "llama-a", "the value is a number, not a string"),
        (
            configmap_yaml({"llama-a": entry(displayName=7)}),
            "llama-a",
            "'displayName' must be a string, not a number",
        ),
        (
            configmap_yaml({"llama-a": entry(tags="1.0.0")}),
            "llama-a",
            "'tags' must be a non-empty array of strings, not a string",
        ),
        (
            configmap_yaml({"llama-a": entry(namespace="")}),
            "llama-a",
            "'namespace' is empty",
        ),
        (
            configmap_yaml({"x" * 254: entry(name="x" * 254)}),
            "x" * 254,
            "254 characters long",
        ),
        (
            configmap_yaml({"..": entry(name="..")}),
            "..",
            "'..' is not a valid ConfigMap key",
        ),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else str(value),
)
def test_rules_name_the_key_and_the_problem(text: str, key: str, what: str) -> None:
    result = validate_text(text, "f.yaml")
    matching = [p for p in result.errors if p.key == key and what in p.message]
    assert matching, [str(p) for p in result.problems]


def test_a_key_yaml_reads_as_a_boolean_must_be_quoted() -> None:
    text = configmap_yaml({"llama-a": entry()}) + "  yes: '{}'\n"
    result = validate_text(text, "f.yaml")
    problem = one_problem(result)
    assert problem.key == "True"
    assert "the key is read as a boolean, not a string: quote it" in problem.message


def test_a_value_invalid_both_ways_is_reported_once() -> None:
    problem = one_problem(validate_text(configmap_yaml({"a/b": entry(name="a/b")})))
    assert problem.key == "a/b" and "is not a valid ConfigMap key" in problem.message


def test_duplicate_keys_are_found_anywhere_with_their_path() -> None:
    text = configmap_yaml({"llama-a": entry()}).replace(
        "  name: custom-nim-models\n", "  name: custom-nim-models\n  name: other\n"
    )
    problem = one_problem(validate_text(text))
    assert problem.key == "metadata.name"
    assert "duplicate key (lines 4 and 5)" in problem.message


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize(
    ("file", "accepted"), [("good.yaml", True), ("bad-duplicate-key.yaml", False)]
)
def test_kubectl_refuses_duplicate_keys_as_validate_says(
    file: str, accepted: bool, tmp_path: Path
) -> None:
    shutil.copy(DATA / file, tmp_path / "cm.yaml")
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert (built.returncode == 0) is accepted
    assert validate_file(str(DATA / file)).valid is accepted
    if not accepted:
        assert "already defined at line 10" in built.stderr


def test_merge_keys_need_an_alias_and_are_refused_with_it() -> None:
    with pytest.raises(YamlProblem, match=r"alias \*b is refused") as info:
        parse_documents("base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  a: 3\n")
    assert info.value.refused and info.value.line == 3


def test_a_merge_key_without_alias_is_not_a_duplicate() -> None:
    (document,) = parse_documents("derived:\n  <<: {a: 1, b: 2}\n  a: 3\n")
    assert document.data["derived"] == {"a": 3, "b": 2}
    assert document.duplicates == []


def test_the_loader_records_duplicates_that_pyyaml_would_hide() -> None:
    text = "a: 1\nb: 2\na: 3\n"
    assert yaml.safe_load(text) == {"a": 3, "b": 2}  # PyYAML keeps the last, silently
    (duplicate,) = parse_documents(text)[0].duplicates
    assert (duplicate.key, duplicate.first_line, duplicate.line) == ("a", 1, 3)


def test_every_configmap_of_a_multi_document_file_is_checked() -> None:
    result = validate_file(str(DATA / "bad-multi-document.yaml"))
    assert result.configmaps == 2
    assert result.models == 4


def test_unreadable_input_is_not_a_problem_but_exit_2(tmp_path: Path) -> None:
    missing = validate_file(str(tmp_path / "missing.yaml"))
    assert missing.unreadable is not None and "No such file" in missing.unreadable
    assert validate_file(str(tmp_path)).unreadable == "is a directory, not a file"
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in str(validate_file(str(binary)).unreadable)
    good = validate_file(str(DATA / "good.yaml"))
    bad = validate_file(str(DATA / "bad-kind.yaml"))
    assert exit_code([good, bad, missing]) == 2
    assert exit_code([good, bad]) == 1
    assert exit_code([good]) == 0


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (DATA / "good.yaml").read_bytes())
    assert validate_file(str(path)).valid


# --- validate and the schema never disagree --------------------------------------------

ENTRY_CASES: list[dict[str, Any]] = [
    GOOD_ENTRY,
    {k: v for k, v in GOOD_ENTRY.items() if k != "tags"},
    {**GOOD_ENTRY, "extra": 1},
    {**GOOD_ENTRY, "tags": []},
    {**GOOD_ENTRY, "tags": [1]},
    {**GOOD_ENTRY, "tags": "1.0.0"},
    {**GOOD_ENTRY, "euRestricted": "false"},
    {**GOOD_ENTRY, "euRestricted": 0},
    {**GOOD_ENTRY, "displayName": None},
    {**GOOD_ENTRY, "namespace": ""},
    {**GOOD_ENTRY, "latestTag": ""},
    {**GOOD_ENTRY, "updatedDate": 20250101},
    {**GOOD_ENTRY, "name": "a b", "tags": ["1.0.0"]},
    {**GOOD_ENTRY, "name": "x" * 254},
    {**GOOD_ENTRY, "shortDescription": ["a"]},
]


@pytest.mark.parametrize("value", ENTRY_CASES, ids=range(len(ENTRY_CASES)))
def test_validate_agrees_with_the_published_schema(value: dict[str, Any]) -> None:
    schema = record_json_schema()
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(value)
    key = value["name"] if isinstance(value.get("name"), str) else "llama-a"
    result = validate_text(configmap_yaml({key: json.dumps(value)}))
    entry_errors = [p for p in result.errors if p.key == key]
    assert schema_ok == (not entry_errors), [str(p) for p in result.problems]


def test_the_rule_the_schema_cannot_express_is_the_only_extra_one() -> None:
    # JSON Schema cannot say "latestTag is one of tags".
    schema = jsonschema.Draft202012Validator(record_json_schema())
    value = {**GOOD_ENTRY, "latestTag": "9.9"}
    assert schema.is_valid(value)
    assert not validate_text(configmap_yaml({value["name"]: json.dumps(value)})).valid


@pytest.mark.parametrize("name", [".", "..", "..a", "...", "..llama"])
def test_the_schema_states_the_whole_key_rule(name: str) -> None:
    # The API server's IsConfigMapKey refuses ".", ".." and any key starting with "..":
    # validate and the published schema both do, so they still agree.
    schema = jsonschema.Draft202012Validator(record_json_schema())
    value = {**GOOD_ENTRY, "name": name}
    assert not schema.is_valid(value)
    assert not validate_text(configmap_yaml({name: json.dumps(value)})).valid


def test_keys_with_single_dots_stay_valid() -> None:
    schema = jsonschema.Draft202012Validator(record_json_schema())
    for name in (".a", "a..b", "a.", ".a.b", "a-b_c.d"):
        value = {**GOOD_ENTRY, "name": name}
        assert schema.is_valid(value), name
        assert validate_text(configmap_yaml({name: json.dumps(value)})).valid, name


def test_the_entries_of_the_good_file_validate_against_the_schema() -> None:
    schema = jsonschema.Draft202012Validator(record_json_schema())
    document = yaml.safe_load((DATA / "good.yaml").read_text())
    for value in document["data"].values():
        schema.validate(json.loads(value))
        ModelRecord.model_validate_json(value)


ENTRY_BAD_FILES = [
    "bad-invalid-key.yaml",
    "bad-key-name-mismatch.yaml",
    "bad-not-json.yaml",
    "bad-missing-field.yaml",
    "bad-unknown-field.yaml",
    "bad-wrong-type.yaml",
    "bad-empty-tags.yaml",
    "bad-latest-not-in-tags.yaml",
    "bad-tag-not-string.yaml",
    "bad-value-not-string.yaml",
]


@pytest.mark.parametrize("file", ENTRY_BAD_FILES)
def test_what_validate_refuses_the_loader_refuses_too(file: str) -> None:
    with pytest.raises(BadInput):
        load_models(DATA / file)


def test_what_validate_accepts_the_loader_reads() -> None:
    loaded = load_models(DATA / "good.yaml")
    assert [m.record.name for m in loaded.models] == ["llama-3.1-8b-instruct", "nv-embedqa-e5-v5"]
