from pathlib import Path

import pytest

from nimgen.errors import BadInput, RunFailed
from nimgen.selection import Selection, build_selection, check_unmatched, read_models_file


def test_globs_include_and_exclude() -> None:
    selection = Selection(include=("llama-*",), exclude=("*-vision-*",))
    assert selection.matches("llama-3.1-8b-instruct")
    assert not selection.matches("llama-3.2-11b-vision-instruct")
    assert not selection.matches("mistral-7b")
    assert Selection().matches("anything")


def test_models_file_formats(tmp_path: Path) -> None:
    lines = tmp_path / "models.txt"
    lines.write_text("# wanted\nllama-3.1-8b-instruct\n\nmistral-7b  # comment\n")
    assert read_models_file(lines) == ("llama-3.1-8b-instruct", "mistral-7b")
    as_json = tmp_path / "models.json"
    as_json.write_text('["a", "b"]')
    assert read_models_file(as_json) == ("a", "b")
    account = tmp_path / "account-models.yaml"
    account.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odh-nim-account-models\n"
        'data:\n  models: \'["llama-3.1-8b-instruct", "phi-3"]\'\n'
    )
    assert read_models_file(account) == ("llama-3.1-8b-instruct", "phi-3")
    selection = build_selection(["x*"], ["xy"], as_json)
    assert selection.include == ("x*", "a", "b")


def test_missing_models_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read"):
        read_models_file(tmp_path / "nope")


# --- a models file that selects nothing is an error, not "every model" -------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "names no model"),
        ("\n\n   \n", "names no model"),
        ("# only a comment\n# and another\n", "names no model"),
        ("[]", "names no model"),
        ("  [ ]  \n", "names no model"),
        ("kind: ConfigMap\nmetadata: {name: m}\ndata:\n  models: '[]'\n", "names no model"),
        ('{"llama-3.1-8b-instruct": true}', "is a JSON object"),
        ('{"models": ["a"]}', "is a JSON object"),
        ('["a", ""]', "non-empty strings"),
        ('["a", "a", {"x": 1, "x": 2}]', "duplicate key 'x'"),
        ('["a", 1]', ""),
        ("[not json", ""),
        ("kind: ConfigMap\ndata:\n  other: x\n", ""),
        ("kind: [\n", ""),
    ],
)
def test_a_models_file_that_is_bad_or_selects_nothing_is_refused(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "models"
    path.write_text(content)
    with pytest.raises(BadInput) as info:
        read_models_file(path)
    assert str(path) in info.value.message and says in info.value.message
    assert info.value.exit_code == 2


def test_a_json_configmap_models_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "account.json"
    path.write_text('{"kind": "ConfigMap", "data": {"models": "[\\"a\\", \\"b\\"]"}}')
    assert read_models_file(path) == ("a", "b")


def test_patterns_that_match_nothing_warn_by_name_or_fail_as_globs() -> None:
    selection = Selection(include=("a*", "b", "c", "z?"))
    assert selection.unmatched(["abc", "c"]) == ("b", "z?")
    warnings: list[str] = []
    check_unmatched(("b",), "the catalog", warnings.append)
    assert warnings == ["--models/--models-file 'b': no such model in the catalog"]
    with pytest.raises(RunFailed, match=r"'z\?' matches no model in the catalog"):
        check_unmatched(("b", "z?"), "the catalog", warnings.append)
