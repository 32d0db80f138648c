import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from nimgen.catalog import ModelRecord
from nimgen.snapshot import load_models, sample_path
from nimgen.tree.configmap import (
    ANNOTATION_COUNT,
    ANNOTATION_DIGEST,
    ANNOTATION_SCHEMA,
    LABEL_MODELS_DATA,
    configmap_data,
    content_digest,
    entry_bytes,
    render_configmap,
)
from nimgen.tree.layout import TREE_FILES, render_tree
from nimgen.yamlout import dump
from tests.support.model_records import make_record as make

# Names YAML 1.1 or 1.2 would read as a bool, null, number or date unless quoted.
ODD_NAMES = ["yes", "no", "on", "off", "null", "true", "1e3", "007", "0x1F", "1.0", "y", ".inf"]
ODD_NAMES += ["1_000", "2025-01-01"]


def test_odd_names_survive_pyyaml() -> None:
    rendered = render_configmap([make(n) for n in ODD_NAMES])
    parsed = yaml.safe_load(rendered.text)
    assert sorted(parsed["data"]) == sorted(ODD_NAMES)
    for name, value in parsed["data"].items():
        assert isinstance(name, str)
        assert json.loads(value)["name"] == name


def test_odd_names_survive_kustomize(tmp_path: Path) -> None:
    rendered = render_configmap([make(n) for n in ODD_NAMES])
    (tmp_path / "cm.yaml").write_text(rendered.text)
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - cm.yaml\n")
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    parsed = yaml.safe_load(built.stdout)
    assert sorted(parsed["data"]) == sorted(ODD_NAMES)
    assert all(json.loads(v)["name"] == k for k, v in parsed["data"].items())


def test_hostile_strings_round_trip() -> None:
    hostile = 'quote " back\\slash: colon # hash\nnewline\ttab ünïcødé 😀 \u2028 end'
    record = make("m", displayName=hostile, shortDescription="- [a]: {b}", tags=("1.0", "1.0-a_b"))
    parsed = yaml.safe_load(render_configmap([record]).text)
    assert ModelRecord.model_validate_json(parsed["data"]["m"]) == record


def test_configmap_contract() -> None:
    records = [make("b"), make("a")]
    rendered = render_configmap(records)
    parsed = yaml.safe_load(rendered.text)
    assert parsed["immutable"] is True
    assert list(parsed["data"]) == ["a", "b"]
    metadata = parsed["metadata"]
    assert metadata["labels"] == {"opendatahub.io/managed": "true", LABEL_MODELS_DATA: "true"}
    assert metadata["annotations"][ANNOTATION_SCHEMA] == "1"
    assert metadata["annotations"][ANNOTATION_COUNT] == "2"
    digest = content_digest(configmap_data(records))
    assert metadata["annotations"][ANNOTATION_DIGEST] == f"sha256:{digest}"
    assert metadata["name"] == f"nim-models-data-{digest[:10]}"
    assert rendered.text == render_configmap(list(reversed(records))).text


def test_one_changed_tag_is_one_changed_line() -> None:
    before = render_configmap([make("a"), make("b")], versioned=False).text.splitlines()
    changed = make("b", tags=("1.1", "latest"), latestTag="1.1")
    after = render_configmap([make("a"), changed], versioned=False).text.splitlines()
    differing = [i for i, (x, y) in enumerate(zip(before, after, strict=True)) if x != y]
    # The tag line, the latestTag line, and the two digest/name-independent annotations.
    assert len(differing) == 3  # digest annotation, one tag, latestTag


def test_fixed_name_and_namespace() -> None:
    parsed = yaml.safe_load(
        render_configmap([make("a")], name="custom", versioned=False, namespace="ns").text
    )
    assert parsed["metadata"]["name"] == "custom"
    assert parsed["metadata"]["namespace"] == "ns"


def test_duplicate_names_refused() -> None:
    with pytest.raises(ValueError, match="two models"):
        configmap_data([make("a"), make("a")])


def test_quote_escapes() -> None:
    assert yaml.safe_load(dump({"k": "a\x00b\x7f\u2029"})) == {"k": "a\x00b\x7f\u2029"}
    assert dump({"k": []}) == "k: []\n"


def test_tree_builds_with_kustomize(tmp_path: Path) -> None:
    files = render_tree(render_configmap([make("a")]), "apiVersion: v1\nkind: List\nitems: []\n")
    assert set(files) == TREE_FILES
    for relative, content in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(content)
    for overlay, namespace in (("odh", "opendatahub"), ("rhoai", "redhat-ods-applications")):
        built = subprocess.run(
            ["kubectl", "kustomize", str(tmp_path / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert built.returncode == 0, built.stderr
        docs = [d for d in yaml.safe_load_all(built.stdout) if d]
        assert all(d["metadata"]["namespace"] == namespace for d in docs)


def test_the_sample_configmap_is_byte_for_byte_as_before() -> None:
    # A change to the sample snapshot or the ConfigMap format changes it, deliberately.
    models = load_models(sample_path()).models
    rendered = render_configmap((m.record for m in models), revisioned=True)
    assert hashlib.sha256(rendered.text.encode()).hexdigest() == (
        "e967b8719c4561c770501423f4333e8c0963f6b3172fbaa2932da1d6e796676d"
    )
    assert rendered.apply_annotation_bytes == 102_979
    first = json.loads(next(iter(configmap_data(m.record for m in models[:1]).values())))
    assert list(first) == list(models[0].record.as_json_dict())  # the contract's field order


def test_entry_bytes_bound_the_rendered_size_closely() -> None:
    records = [m.record for m in load_models(sample_path()).models]
    empty = render_configmap(()).size_bytes
    for chosen in (records[:1], records):
        over = empty + sum(map(entry_bytes, chosen)) - render_configmap(chosen).size_bytes
        assert 0 <= over <= 2 * len(chosen) + 3  # never under: a size check never lets through
