"""Every ``--json`` document follows the schema ``nimgen schema --json-output`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import NimgenResult, run_nimgen


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = run_nimgen("schema", "--json-output")
    assert result.code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    assert set(document["discriminator"]["mapping"]) >= {"generate", "fetch", "probe-eu"}
    return document


def test_every_command_s_document_matches(
    schema: dict[str, Any], ngc_models: list[EmulatedModel], fixtures_dir: Path, tmp_path: Path
) -> None:
    with NgcEmulator(ngc_models[:12], fixtures_dir=fixtures_dir) as emu:

        def run(command: str, *extra: str, key: str = VALID_KEY) -> NimgenResult:
            return run_nimgen(command, "--ngc-api-url", emu.url, *extra, "--json", key=key)

        runs = {
            "generate": run("generate", "-o", str(tmp_path / "t")),
            "generate --check": run("generate", "-o", str(tmp_path / "t"), "--check"),
            "fetch": run("fetch", "-o", str(tmp_path / "s.json")),
            "probe-eu": run("probe-eu", "-o", str(tmp_path / "p.json")),
            "verify-key": run("verify-key"),
            "failing generate": run("generate", "-o", str(tmp_path / "x"), key="nvapi-not-the-key"),
        }
    runs["render"] = run_nimgen("render", "-o", str(tmp_path / "r"), "--json")
    runs["validate"] = run_nimgen(
        "validate", str(tmp_path / "r" / "base" / "nim-models-data.yaml"), "--json"
    )
    runs["failing render"] = run_nimgen("render", "--from", "nope.json", "-o", "x", "--json")
    for name, result in runs.items():
        document = json.loads(result.stdout)
        jsonschema.validate(document, schema)
        assert (document["exitCode"] == 0) == ("failing" not in name), (name, result.stderr)
    assert runs["failing generate"].code == 4
