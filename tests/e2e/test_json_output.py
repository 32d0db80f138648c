"""Every ``--json`` document follows the schema ``nimgen schema --json-output`` prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import run_nimgen


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
    url: list[str] = []
    with NgcEmulator(ngc_models[:12], fixtures_dir=fixtures_dir) as emu:
        url = ["--ngc-api-url", emu.url]
        runs = {
            "generate": run_nimgen("generate", *url, "-o", str(tmp_path / "t"), "--json",
                                   key=VALID_KEY),
            "generate --check": run_nimgen("generate", *url, "-o", str(tmp_path / "t"),
                                           "--check", "--json", key=VALID_KEY),
            "fetch": run_nimgen("fetch", *url, "-o", str(tmp_path / "s.json"), "--json",
                                key=VALID_KEY),
            "probe-eu": run_nimgen("probe-eu", *url, "-o", str(tmp_path / "p.json"), "--json",
                                   key=VALID_KEY),
            "verify-key": run_nimgen("verify-key", *url, "--json", key=VALID_KEY),
            "failing generate": run_nimgen("generate", *url, "-o", str(tmp_path / "x"),
                                           "--json", key="nvapi-not-the-key"),
        }  # fmt: skip
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
