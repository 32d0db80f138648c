from pathlib import Path

import pytest

from nimgen.errors import BadInput
from nimgen.selection import Selection, build_selection, read_models_file


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


@pytest.mark.parametrize(
    "content", ['["a", 1]', "[not json", "kind: ConfigMap\ndata:\n  other: x\n", "kind: [\n"]
)
def test_bad_models_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad"
    path.write_text(content)
    with pytest.raises(BadInput, match=str(path)):
        read_models_file(path)


def test_missing_models_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read"):
        read_models_file(tmp_path / "nope")
