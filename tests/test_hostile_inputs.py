"""Hostile files and answers, through the installed ``nimgen`` as a user runs it.

Every reader of a file goes through ``nimgen.files`` and ``nimgen.yamlio``: a duplicated
key, an alias bomb, a FIFO, a huge file and deep nesting are each refused in one line
(exit 2). Runs that could explode are made under an address-space limit and a timeout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from nimgen.snapshot import load_models, sample_path
from tests.support.fault_kit import Nimgen, configmap_records
from tests.support.ngc_emulator import VALID_KEY, Fault, NgcEmulator
from tests.support.nimgen_runner import GIB, Bounded, clean_env, run_bounded

MIRROR = "registry.example.com:5000/nim"


def one_line_error(run: Bounded) -> str:
    """The run's one error line (no traceback, nothing else on stderr)."""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("nimgen: error: "), run.stderr
    assert "internal error" not in lines[0] and "Traceback" not in run.stderr
    return lines[0]


# -- inputs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    models = load_models(sample_path()).models
    return [m.record.as_json_dict() for m in models if m.record.name.startswith("llama")][:3]


def configmap(entries: Sequence[tuple[str, dict[str, object]]], *, extra: str = "") -> str:
    """A ConfigMap with ``entries`` in this order (a key may repeat); ``extra`` goes into
    metadata. Values are JSON strings written as YAML double-quoted scalars."""
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: custom-nim-models"]
    lines += [extra] if extra else []
    lines.append("data:")
    lines += [f"  {key}: {json.dumps(json.dumps(value))}" for key, value in entries]
    return "\n".join(lines) + "\n"


def alias_bomb_lines() -> list[str]:
    """Labels that a plain YAML loader expands into 9**9 strings (3 GB, a minute)."""
    lines = ["  labels:", '    a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    lines += ["  annotations:", "    opendatahub.io/nim-models-eu-source: *a8"]
    return lines


@pytest.fixture
def duplicated(tmp_path: Path, records: list[dict[str, object]]) -> tuple[Path, str]:
    """A ConfigMap whose first model is given twice (lines 6 and 8): PyYAML keeps the
    second silently, and with another model's value under that key, one model is lost."""
    first, second, third = records
    key = str(first["name"])
    path = tmp_path / "duplicated.yaml"
    path.write_text(configmap([(key, first), (str(second["name"]), second), (key, third)]))
    return path, key


@pytest.fixture
def bomb(tmp_path: Path, records: list[dict[str, object]]) -> Path:
    path = tmp_path / "bomb.yaml"
    record = records[0]
    path.write_text(configmap([(str(record["name"]), record)], extra="\n".join(alias_bomb_lines())))
    assert path.stat().st_size < 2048
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path


def commands(target: Path, out: Path, emulator_url: str) -> dict[str, list[str]]:
    """Every reader of a file the user names, reading ``target``."""
    sample = str(sample_path())
    return {
        "render --from": ["render", "--from", str(target), "-o", str(out / "1")],
        "airgap --from": ["airgap", "--mirror", MIRROR, "--from", str(target), "-o", f"{out}/2"],
        "diff OLD": ["diff", str(target), sample],
        "diff NEW": ["diff", sample, str(target)],
        "--previous": [
            *("generate", "--ngc-api-url", emulator_url, "--no-eu"),
            *("--previous", str(target), "-o", str(out / "5")),
        ],
        "validate": ["validate", str(target)],
        "--models-file": ["render", "-q", "--models-file", str(target), "-o", str(out / "3")],
        "--eu-list": ["render", "-q", "--eu-list", str(target), "-o", str(out / "4")],
        "--api-key-file": [
            "verify-key",
            "--ngc-api-url",
            emulator_url,
            "--api-key-file",
            f"{target}",
        ],
    }


MODEL_READERS = ["diff OLD", "diff NEW", "render --from", "airgap --from", "--previous"]


# -- duplicate keys -------------------------------------------------------------------------


@pytest.mark.parametrize("reader", MODEL_READERS)
def test_every_reader_refuses_a_duplicated_key_naming_file_line_and_key(
    duplicated: tuple[Path, str], tmp_path: Path, ngc_emulator: NgcEmulator, reader: str
) -> None:
    path, key = duplicated
    args = commands(path, tmp_path, ngc_emulator.url)[reader]
    run = run_bounded(args, env=clean_env(VALID_KEY), timeout=60)
    assert run.code == 2, run.stderr
    assert f"{path}: line 8: duplicate key '{key}' in data (first at line 6)" in (
        one_line_error(run)
    )
    assert not any((tmp_path / name).exists() for name in ("1", "2", "5"))


def test_validate_refuses_a_duplicated_key(duplicated: tuple[Path, str]) -> None:
    # Like every other reader: exit 2, naming the file, the lines and the key.
    path, key = duplicated
    run = run_bounded(["validate", str(path)], env=clean_env(), timeout=60)
    assert run.code == 2, run.stdout + run.stderr
    assert f"{path}: {key}: duplicate key (lines 6 and 8)" in run.stdout


def test_models_file_eu_list_and_snapshot_refuse_duplicated_keys(tmp_path: Path) -> None:
    account = tmp_path / "account.yaml"
    account.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n"
        "data:\n  models: '[\"llama-3.1-8b-instruct\"]'\n  models: '[\"phi-3\"]'\n"
    )
    eu_list = tmp_path / "eu.json"
    eu_list.write_text('[{"name": "a", "resourceId": "nim/meta/a", "name": "b"}]')
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(
        sample_path()
        .read_text()
        .replace('"kind": "NimgenSnapshot",', '"kind": "NimgenSnapshot",\n  "kind": "x",', 1)
    )
    for args, says in (
        (["--models-file", str(account)], f"{account}: line 7: duplicate key 'models' in data"),
        (["--eu-list", str(eu_list)], f"{eu_list}: duplicate key 'name' in one JSON object"),
        (["--from", str(snapshot)], f"{snapshot}: duplicate key 'kind' in one JSON object"),
    ):
        run = run_bounded(
            ["render", "-q", *args, "-o", str(tmp_path / "out")], env=clean_env(), timeout=60
        )
        assert run.code == 2 and says in one_line_error(run), run.stderr


# -- alias bombs ----------------------------------------------------------------------------


ALIAS_MESSAGE = "line 7: the alias *a0 is refused: nimgen reads no YAML aliases"


@pytest.mark.parametrize("reader", [*MODEL_READERS, "validate"])
def test_an_alias_bomb_is_refused_in_bounded_memory(
    bomb: Path, tmp_path: Path, ngc_emulator: NgcEmulator, reader: str
) -> None:
    args = commands(bomb, tmp_path, ngc_emulator.url)[reader]
    run = run_bounded(args, env=clean_env(VALID_KEY), limit=GIB, timeout=120)
    assert run.code == 2, run.stdout + run.stderr
    assert f"{bomb}: {ALIAS_MESSAGE}" in one_line_error(run)
    assert run.max_rss_mib < 256, run.max_rss_mib  # was 3 GB (MemoryError under 1 GiB)


# -- FIFOs and devices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option",
    [*MODEL_READERS[1:], "validate", "--models-file", "--eu-list", "--api-key-file"],
)
def test_a_fifo_given_to_any_file_option_is_refused_not_waited_on(
    fifo: Path, tmp_path: Path, ngc_emulator: NgcEmulator, option: str
) -> None:
    args = commands(fifo, tmp_path, ngc_emulator.url)[option]
    # A plain read would never return.
    run = run_bounded(args, env=clean_env(VALID_KEY), timeout=60)
    assert run.code == 2, run.stdout + run.stderr
    line = one_line_error(run)
    assert str(fifo) in line and "is a named pipe (FIFO), not a regular file" in line
    # Devices too (tests/test_files.py): every reader goes through the one bounded reader.


# -- huge inputs ------------------------------------------------------------------------------


def test_a_huge_snapshot_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.write(b'{"kind": "NimgenSnapshot"')
        handle.truncate(4 * GIB)  # sparse
    render = ["render", "--from", str(path), "-o", str(tmp_path / "o")]
    run = run_bounded(render, env=clean_env(), limit=GIB, timeout=60)
    assert run.code == 2 and run.max_rss_mib < 128, run.max_rss_mib
    assert one_line_error(run) == (
        f"nimgen: error: cannot read {path}: is 4,294,967,296 bytes, over the 16 MiB nimgen "
        "reads here"
    )


def test_yaml_larger_than_any_configmap_is_refused_before_parsing(
    tmp_path: Path, records: list[dict[str, object]]
) -> None:
    record = records[0]
    path = tmp_path / "big.yaml"
    padding = "\n".join(f"# {'x' * 1000}" for _ in range(3 * 1024))  # 3 MiB of comments
    path.write_text(configmap([(str(record["name"]), record)]) + padding + "\n")
    render = ["render", "--from", str(path), "-o", str(tmp_path / "o")]
    run = run_bounded(render, env=clean_env(), timeout=60)
    assert run.code == 2
    assert "bytes of YAML is over the 2 MiB nimgen reads" in one_line_error(run)
    checked = run_bounded(["validate", str(path)], env=clean_env(), timeout=60)
    assert checked.code == 2
    assert one_line_error(checked) == (
        f"nimgen: error: {path}: is {path.stat().st_size:,} bytes, over the 2 MiB nimgen reads here"
    )


# -- deep nesting -----------------------------------------------------------------------------


def test_deep_nesting_is_a_usage_error_not_a_crash(
    tmp_path: Path, records: list[dict[str, object]]
) -> None:
    deep_json = tmp_path / "deep.json"
    deep = "[" * 200_000 + "]" * 200_000
    deep_json.write_text(f'{{"kind": "NimgenSnapshot", "models": {deep}}}')
    deep_yaml = tmp_path / "deep.yaml"
    deep_yaml.write_text("apiVersion: v1\nkind: ConfigMap\ndata: " + "[" * 200_000 + "\n")
    record = records[0]
    deep_entry = tmp_path / "deep-entry.yaml"
    deep_entry.write_text(
        configmap([(str(record["name"]), record)]).replace(
            '\\"euRestricted\\": false', '\\"euRestricted\\": ' + "[" * 100_000 + "]" * 100_000
        )
    )
    cases = [
        (["render", "--from", str(deep_json)], "JSON nested too deeply"),
        (["render", "--from", str(deep_yaml)], "nested deeper than 64 levels"),
        (["diff", str(deep_yaml), str(sample_path())], "nested deeper than 64 levels"),
        (["render", "-q", "--eu-list", str(deep_json)], "JSON nested too deeply"),
        (["render", "-q", "--models-file", str(deep_json)], "JSON nested too deeply"),
        (["validate", str(deep_yaml)], "nested deeper than 64 levels"),
        (["validate", str(deep_entry)], "its JSON is nested too deeply"),
        (["render", "--from", str(deep_entry)], str(record["name"])),
    ]
    for args, says in cases:
        output = ["-o", str(tmp_path / "o")] if args[0] == "render" else []
        run = run_bounded([*args, *output], env=clean_env(), timeout=60)
        assert run.code == 2, (args, run.stdout, run.stderr)
        assert says in one_line_error(run), (args, run.stderr)


# -- answers that contradict their catalog resource ------------------------------------------


def test_an_answer_that_renames_its_model_or_ships_a_hostile_tag_fails_that_model(
    ngc_emulator: NgcEmulator, tmp_path: Path
) -> None:
    renamed, moved, tagged, *_ = sorted(m.name for m in ngc_emulator.models)
    faults = {  # model -> (what its answer says, what its failure says)
        renamed: ({"name": "other"}, "'other' are not those of its catalog resource"),
        moved: ({"namespace": "evil/../../x y"}, "'evil/../../x y' is not org or org/team"),
        tagged: ({"tags": ["1.0 ; rm -rf /", "x\ny", "1"], "latestTag": "1"}, "'1.0 ; rm -rf /'"),
    }
    for name, (fields, _) in faults.items():
        ngc_emulator.fault_model_forever(name, Fault.wrong_fields(**fields))
    strict = Nimgen().generate(ngc_emulator, tmp_path / "strict")
    assert strict.code == 1 and not (tmp_path / "strict").exists()
    reasons = strict.failures()
    assert set(reasons) == set(faults) and all(faults[n][1] in r for n, r in reasons.items())
    partial = Nimgen().generate(ngc_emulator, tmp_path / "partial", "--allow-partial")
    shipped = configmap_records(tmp_path / "partial")
    assert partial.code == 0 and len(shipped) == len(ngc_emulator.models) - 3, partial.stderr
    assert not {*faults, "other"} & set(shipped)


# -- the key ---------------------------------------------------------------------------------------


def test_a_case_changed_key_echoed_in_an_error_is_redacted(
    tmp_path: Path, ngc_emulator: NgcEmulator
) -> None:
    # A hand-edited --previous whose model key is the NGC key upper-cased: the error that
    # names the key must not print it.
    previous = tmp_path / "previous.yaml"
    previous.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\n"
        f"data:\n  {VALID_KEY.upper()}: 'not json'\n"
    )
    args = commands(previous, tmp_path, ngc_emulator.url)["--previous"]
    run = run_bounded(args, env=clean_env(VALID_KEY), timeout=60)
    assert run.code == 2
    assert f"{previous}: ***: " in one_line_error(run)
    everything = (run.stdout + run.stderr).lower()
    assert VALID_KEY.lower() not in everything
    assert VALID_KEY.lower()[6:18] not in everything
