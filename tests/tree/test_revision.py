"""The revision annotation: 1, then +1 per data change, unchanged otherwise; and the apply size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from nimgen.errors import BadInput
from nimgen.tree.configmap import (
    ANNOTATION_REVISION,
    MAX_ANNOTATION_BYTES,
    PreviousConfigMap,
    client_apply_bytes,
    next_revision,
    render_configmap,
)
from nimgen.tree.layout import BASE_CONFIGMAP
from nimgen.tree.revision import read_previous, revision_problem
from tests.support.model_records import make_record


def _write_tree(tree: Path, text: str) -> None:
    path = tree / BASE_CONFIGMAP
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_next_revision_counts_data_changes_only() -> None:
    assert next_revision(None, "abc") == 1
    assert next_revision(PreviousConfigMap(revision=4, digest="abc"), "abc") == 4
    assert next_revision(PreviousConfigMap(revision=4, digest="abc"), "def") == 5


def test_a_rendered_tree_reads_back(tmp_path: Path) -> None:
    first = render_configmap([make_record("a")], revisioned=True)
    assert f'{ANNOTATION_REVISION}: "1"' in first.text
    _write_tree(tmp_path, first.text)
    previous = read_previous(tmp_path)
    assert previous == PreviousConfigMap(revision=1, digest=first.digest)

    same = render_configmap([make_record("a")], revisioned=True, previous=previous)
    assert same.text == first.text  # a pure function of (catalog, previous tree)
    changed = render_configmap([make_record("a"), make_record("b")], previous=previous)
    assert changed.revision == 2
    assert ANNOTATION_REVISION not in changed.text  # only the shipped ConfigMap carries it


def test_no_tree_and_unnumbered_trees(tmp_path: Path) -> None:
    assert read_previous(tmp_path) is None
    old = render_configmap([make_record("a")])  # written before revisions existed
    _write_tree(tmp_path, old.text)
    assert read_previous(tmp_path) == PreviousConfigMap(revision=1, digest=old.digest)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('"two"', "is 'two', not a whole decimal number"),
        ('"-1"', "is -1, negative; revisions count up from 1"),
        ('"0"', "is 0; revisions count up from 1"),
        ("3", "must be a quoted decimal string, not int 3"),
        ('"1e3"', "is '1e3', not a whole decimal number"),
        ('"٣"', "not a whole decimal number"),
        ('"1234567890123456789"', "has 19 digits, over 18: a reader's 64-bit integer"),
    ],
)
def test_a_revision_nimgen_cannot_continue_is_named_for_what_it_is(
    tmp_path: Path, value: str, why: str
) -> None:
    text = render_configmap([make_record("a")], revisioned=True).text
    _write_tree(
        tmp_path, text.replace(f'{ANNOTATION_REVISION}: "1"', f"{ANNOTATION_REVISION}: {value}")
    )
    with pytest.raises(BadInput, match=f"{ANNOTATION_REVISION} ") as caught:
        read_previous(tmp_path)
    assert why in caught.value.message
    assert revision_problem(yaml.safe_load(value)) is not None
    assert revision_problem("18") is None and revision_problem("9" * 18) is None


def test_a_broken_tree_is_named(tmp_path: Path) -> None:
    _write_tree(tmp_path, "metadata: [unclosed\n")
    with pytest.raises(BadInput, match=r"nim-models-data\.yaml"):
        read_previous(tmp_path)


def test_client_apply_bytes_counts_the_escaped_json_and_the_other_annotations() -> None:
    document: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"a": "bb"}},
        "data": {"k": "<&>\n"},
    }
    applied = json.dumps(
        {**document, "metadata": {**document["metadata"], "namespace": "redhat-ods-applications"}},  # type: ignore[dict-item]
        sort_keys=True,
        separators=(",", ":"),
    )
    escaped = len(applied) + 3 * 5  # each of < & > becomes \u00XX
    last_applied = len("kubectl.kubernetes.io/last-applied-configuration")
    assert client_apply_bytes(document) == 3 + last_applied + escaped + 1  # closing newline
    assert MAX_ANNOTATION_BYTES == 262_144


@pytest.mark.parametrize(
    ("text", "what"),
    [("- a\n- b\n", "not a map"), ("just text\n", "not a map"), ("metadata: 3\n", "metadata")],
)
def test_a_configmap_file_that_is_no_map_is_bad_input_not_a_crash(
    tmp_path: Path, text: str, what: str
) -> None:
    _write_tree(tmp_path, text)
    with pytest.raises(BadInput, match=what):
        read_previous(tmp_path)


def test_the_previous_tree_gives_its_model_names_once(tmp_path: Path) -> None:
    # Read before the run for the revision; the loss check after it uses the same names.
    _write_tree(tmp_path, render_configmap([make_record("b"), make_record("a")]).text)
    previous = read_previous(tmp_path)
    assert previous is not None and previous.names == ("a", "b")
