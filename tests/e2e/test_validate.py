"""``nimgen validate`` and ``nimgen schema`` from the command line."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from nimgen.catalog import record_json_schema
from nimgen.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "validate"
GOOD = str(DATA / "good.yaml")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as caught:
        main(args)
    captured = capsys.readouterr()
    code = caught.value.code
    assert isinstance(code, int)
    return code, captured.out, captured.err


def test_a_valid_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["validate", GOOD], capsys)
    assert (code, out, err) == (0, f"{GOOD}: valid (2 models)\n", "")


def test_problems_are_printed_as_file_key_problem_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = str(DATA / "bad-latest-not-in-tags.yaml")
    dup = str(DATA / "bad-duplicate-key.yaml")
    code, out, err = run(["validate", GOOD, bad], capsys)
    assert code == 1
    assert err == ""
    assert out.splitlines() == [
        f"{GOOD}: valid (2 models)",
        f"{bad}: llama-a: latestTag '1.2.0' is not among the model's tags",
    ]
    # A duplicated key is refused like by every other reader: exit 2, file, lines and key.
    code, out, _ = run(["validate", GOOD, bad, dup], capsys)
    assert code == 2
    assert out.splitlines()[-1] == (
        f"{dup}: llama-3.1-8b-instruct: duplicate key (lines 10 and 21): kubectl refuses "
        "the file, and YAML libraries that accept it keep only the last"
    )


def test_every_bad_file_exits_non_zero_and_names_its_problem(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(str(p) for p in DATA.glob("bad-*.yaml"))
    code, out, _ = run(["validate", *files], capsys)
    assert code == 2  # bad-duplicate-key.yaml is refused, the others are findings
    for file in files:
        assert any(line.startswith(f"{file}: ") for line in out.splitlines()), file
    assert "valid (" not in out


def test_warnings_do_not_fail_and_quiet_hides_them(capsys: pytest.CaptureFixture[str]) -> None:
    warn = str(DATA / "warn-immutable-fixed-name.yaml")
    code, out, _ = run(["validate", warn], capsys)
    assert code == 0
    assert f"{warn}: immutable: warning: an immutable ConfigMap under the fixed name" in out
    assert f"{warn}: valid (2 models)" in out
    code, out, _ = run(["validate", "--quiet", warn], capsys)
    assert (code, out) == (0, "")


def test_unreadable_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing.yaml")
    code, out, err = run(["validate", GOOD, str(DATA / "bad-kind.yaml"), missing], capsys)
    assert code == 2
    assert err == f"nimgen: error: {missing}: cannot read it: No such file or directory\n"
    assert "bad-kind.yaml: kind: is 'Secret', not 'ConfigMap'" in out


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["validate"], capsys)
    assert code == 2
    assert "Missing argument" in err


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(DATA / "bad-empty-tags.yaml")
    code, out, _ = run(["validate", "--json", GOOD, bad], capsys)
    assert code == 1
    report = json.loads(out)
    assert report["exitCode"] == 1 and report["valid"] is False
    good_file, bad_file = report["files"]
    assert good_file == {
        "file": GOOD,
        "valid": True,
        "configMaps": 1,
        "models": 2,
        "problems": [],
    }
    assert bad_file["problems"] == [
        {"key": "llama-a", "message": "'tags' is empty", "severity": "error"}
    ]


def test_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO((DATA / "bad-wrong-type.yaml").read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, _ = run(["validate", "-"], capsys)
    assert code == 1
    assert out == "<stdin>: llama-a: 'euRestricted' must be true or false, not a string\n"


def test_validate_imports_neither_httpx_nor_rich() -> None:
    probe = (
        "import sys\n"
        "from nimgen.cli import main\n"
        "try:\n"
        f"    main(['validate', '--quiet', {GOOD!r}, {str(DATA / 'bad-kind.yaml')!r}])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'rich'))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "1 []"


@pytest.mark.skipif(shutil.which("nimgen") is None, reason="console script not installed")
def test_the_console_script(tmp_path: Path) -> None:
    result = subprocess.run(
        ["nimgen", "validate", GOOD, str(DATA / "bad-invalid-key.yaml")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{DATA / 'bad-invalid-key.yaml'}: meta/llama3: 'meta/llama3' is not a valid " in (
        result.stdout
    )


def test_schema_prints_the_record_schema_sorted_with_indent_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["schema"], capsys)
    assert (code, err) == (0, "")
    assert out == json.dumps(record_json_schema(), sort_keys=True, indent=2) + "\n"
    schema = json.loads(out)
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(schema["properties"])
    assert len(schema["properties"]) == 8


def test_what_validate_accepts_the_printed_schema_accepts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(["schema"], capsys)
    validator = jsonschema.Draft202012Validator(json.loads(out))
    good = yaml.safe_load((DATA / "good.yaml").read_text())
    for value in good["data"].values():
        validator.validate(json.loads(value))
    for name in ("bad-missing-field.yaml", "bad-unknown-field.yaml", "bad-wrong-type.yaml"):
        bad = yaml.safe_load((DATA / name).read_text())
        assert not validator.is_valid(json.loads(bad["data"]["llama-a"])), name
