"""nimgen.validate: the ConfigMap checker, its YAML loader, and its agreement with the schema."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nimgen.catalog import record_json_schema
from nimgen.errors import BadInput
from nimgen.snapshot import load_models, sample_path
from nimgen.tree.configmap import ANNOTATION_REVISION, MAX_OBJECT_BYTES, render_configmap
from nimgen.tree.revision import read_previous
from nimgen.validate import (
    FileResult,
    Problem,
    exit_code,
    validate_file,
    validate_text,
)
from tests.support.model_records import record_fields

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

GOOD_ENTRY: dict[str, Any] = record_fields("llama-a")


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


def test_the_good_file_is_valid_and_read_by_the_loader() -> None:
    result = validate_file(str(DATA / "good.yaml"))
    assert result.valid and result.problems == (), [str(p) for p in result.problems]
    assert (result.configmaps, result.models, exit_code([result])) == (1, 2, 0)
    loaded = load_models(DATA / "good.yaml")
    assert [m.record.name for m in loaded.models] == ["llama-3.1-8b-instruct", "nv-embedqa-e5-v5"]


def test_every_configmap_of_a_file_of_several_documents_is_checked() -> None:
    result = validate_file(str(DATA / "good-multi-document.yaml"))
    assert result.valid and result.problems == ()
    assert (result.configmaps, result.models) == (1, 2)
    result = validate_file(str(DATA / "bad-multi-document.yaml"))
    assert (result.configmaps, result.models) == (2, 4)


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
    # Each bad file differs from the good one in one place, so one error is found,
    # except where one fault implies a second (no 'data' once it is spelt 'Data').
    assert len(result.errors) == 1 or file == "bad-unknown-top-level-field.yaml"


def test_a_missing_data_section_is_named() -> None:
    result = validate_file(str(DATA / "bad-unknown-top-level-field.yaml"))
    assert {p.key for p in result.errors} == {"Data", "data"}


@pytest.mark.parametrize(
    ("file", "key", "what"),
    [
        ("warn-immutable-fixed-name.yaml", "immutable", "under the fixed name 'custom-nim-models'"),
        (
            "warn-schema-version.yaml",
            "metadata.annotations.opendatahub.io/nim-models-schema-version",
            "schema version '2' is not one this nimgen knows ('1')",
        ),
    ],
)
def test_warnings_do_not_make_a_file_invalid(file: str, key: str, what: str) -> None:
    result = validate_file(str(DATA / file))
    assert result.valid and not result.errors and exit_code([result]) == 0
    (warning,) = result.warnings
    assert warning.key == key and what in warning.message
    assert str(warning).endswith(warning.message) and ": warning: " in str(warning)


def test_nimgens_own_configmap_is_valid_and_a_hand_edit_is_noticed() -> None:
    records = [m.record for m in load_models(sample_path()).models]
    rendered = render_configmap(records, versioned=True, namespace="opendatahub")
    result = validate_text(rendered.text, "nim-models-data.yaml")
    assert result.problems == () and result.models == len(records) == 186
    edited = rendered.text.replace('"euRestricted": false', '"euRestricted": true', 1)
    (warning,) = validate_text(edited, "edited.yaml").warnings
    assert warning.key == "metadata.name" and "is not the content digest" in warning.message


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


GOOD = configmap_yaml({"llama-a": entry()})


@pytest.mark.parametrize(
    ("text", "key", "what"),
    [
        ("", "kind", "the file is empty"),
        ("- a\n- b\n", "kind", "the document is a list, not a ConfigMap"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "kind", "missing: expected kind: ConfigMap"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "metadata", "missing"),
        (configmap_yaml({}), "data", "holds no models"),
        (GOOD.replace("apiVersion: v1", "apiVersion: v2"), "apiVersion", "is 'v2', not 'v1'"),
        (GOOD + "immutable: 'yes'\n", "immutable", "must be true or false, not a string"),
        (GOOD + "binaryData: {x: AAAA}\n", "binaryData", "binaryData must be empty"),
        (
            GOOD.replace("  name: custom-nim-models\n", "  namespace: x\n"),
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
        (configmap_yaml({"llama-a": entry(namespace="")}), "llama-a", "'namespace' is empty"),
        (configmap_yaml({"x" * 254: entry(name="x" * 254)}), "x" * 254, "254 characters long"),
        (configmap_yaml({"..": entry(name="..")}), "..", "'..' is not a valid ConfigMap key"),
        (GOOD + "  yes: '{}'\n", "True", "the key is read as a boolean, not a string: quote it"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else str(value),
)
def test_rules_name_the_key_and_the_problem(text: str, key: str, what: str) -> None:
    result = validate_text(text, "f.yaml")
    matching = [p for p in result.errors if p.key == key and what in p.message]
    assert matching, [str(p) for p in result.problems]


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
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + (DATA / "good.yaml").read_bytes())
    assert validate_file(str(bom)).valid  # a byte order mark is accepted


# --- validate and the schema never disagree --------------------------------------------

_CHANGES: list[dict[str, Any]] = [
    *({"extra": 1}, {"tags": []}, {"tags": [1]}, {"tags": "1.0.0"}, {"tags": ["1.0", "-x"]}),
    *({"euRestricted": "false"}, {"euRestricted": 0}, {"displayName": None}, {"latestTag": ""}),
    *({"namespace": ""}, {"namespace": "a/b/c"}, {"updatedDate": 1}, {"shortDescription": ["a"]}),
    # The API server's IsConfigMapKey refuses ".", ".." and any key starting with "..".
    *({"name": name} for name in ("a b", "x" * 254, ".", "..", "..a", "...", ".a", "a..b", "a.")),
]
ENTRY_CASES = [
    GOOD_ENTRY,
    {k: v for k, v in GOOD_ENTRY.items() if k != "tags"},
    *({**GOOD_ENTRY, **changes} for changes in _CHANGES),
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


# --- the rules of issue 24: validate and every reader refuse the same, naming the model ------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (entry(tags=["1.0 ; rm -rf /", "1.0"]), "'tags[0]': '1.0 ; rm -rf /' is not a valid"),
        (entry(tags=["1.0", "x\ny"]), "'tags[1]': 'x\\ny' is not a valid image tag"),
        (entry(namespace="evil/../../x y"), "'namespace': 'evil/../../x y' is not org or org/t"),
    ],
)
def test_validate_and_the_configmap_reader_refuse_what_no_image_could_be(
    value: str, says: str, tmp_path: Path
) -> None:
    text = configmap_yaml({"llama-a": value})
    problem = one_problem(validate_text(text))
    assert problem.key == "llama-a" and problem.message.startswith(says), problem.message
    path = tmp_path / "cm.yaml"
    path.write_text(text)
    with pytest.raises(BadInput, match=rf"^{path}: llama-a: "):
        load_models(path)


def test_a_snapshot_record_that_is_not_its_resource_is_refused_by_name(tmp_path: Path) -> None:
    document = json.loads(sample_path().read_text())
    record = document["models"][3]["record"]
    resource = document["models"][3]["catalog"]["resourceId"]
    record["name"] = "totally-different-model"
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BadInput) as info:
        load_models(path)
    assert info.value.message == (
        f"{path}: invalid snapshot: model 'totally-different-model': namespace "
        f"{record['namespace']!r} and name 'totally-different-model' are not those of its "
        f"catalog resource {resource!r}"
    )
    record["name"], record["tags"] = resource.rsplit("/", 1)[1], ["1 ; x", record["latestTag"]]
    path.write_text(json.dumps(document))
    with pytest.raises(BadInput, match=rf"model '{record['name']}': models\.3\.record\.tags\.0"):
        load_models(path)


@pytest.mark.parametrize("revision", ["-1", "1234567890123456789", "0"])
def test_validate_refuses_the_revisions_the_reader_refuses(revision: str, tmp_path: Path) -> None:
    records = [m.record for m in load_models(sample_path()).models[:2]]
    text = render_configmap(records, revisioned=True).text.replace(
        f'{ANNOTATION_REVISION}: "1"', f'{ANNOTATION_REVISION}: "{revision}"'
    )
    problem = one_problem(validate_text(text))
    assert problem.key == f"metadata.annotations.{ANNOTATION_REVISION}"
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "nim-models-data.yaml").write_text(text)
    with pytest.raises(BadInput) as info:
        read_previous(tmp_path)
    assert f"{ANNOTATION_REVISION} {problem.message}; readers pick" in info.value.message
