"""``nimgen airgap --json``: every field typed by ``AirgapJson``, none beyond it, and the
schema ``nimgen schema --json-output`` prints says the same."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nimgen.cli import main
from nimgen.report.json_models import AirgapJson, json_output_schema
from nimgen.report.json_output import dumps
from nimgen.snapshot import sample_path

MIRROR = "registry.example.com:5000/mirror"
# The lists every document has, failed or not.
LISTS = {"warnings", "leftOutNoTag", "failed", "euRestricted", "euUncertain"}
# What a failed run prints: the fields every command has and the lists.
ERROR_FIELDS = {"command", "ok", "exitCode", "error"} | LISTS
# Every field a successful run prints.
AIRGAP_FIELDS = {"command", "ok", "exitCode", "skippedBySelection", "models", "output"} | LISTS
AIRGAP_FIELDS |= {"configMap", "mirror", "tags", "images", "files", "movingTags"}
AIRGAP_FIELDS |= {"unpinnedMovingTags", "weights", "nextSteps"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as caught:
        main(["airgap", "--mirror", MIRROR, "--json", "-q", *args])
    code = caught.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().out


def with_digests(target: Path) -> Path:
    """The sample snapshot with two made-up digests (amd64, arm64) for each latestTag."""
    document = json.loads(sample_path().read_text())
    for model in document["models"]:
        tag, name = model["record"]["latestTag"], model["record"]["name"]
        model["digests"] = [
            {
                "tag": tag,
                "architecture": arch,
                "os": "linux",
                "digest": "sha256:" + hashlib.sha256(f"{name}:{tag}:{arch}".encode()).hexdigest(),
            }
            for arch in ("amd64", "arm64")
        ]
    target.write_text(json.dumps(document))
    return target


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json_output_schema()


def test_the_schema_declares_every_airgap_field_and_no_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["schema", "--json-output"])
    assert caught.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    airgap = printed["$defs"]["AirgapJson"]
    assert set(airgap["properties"]) == AIRGAP_FIELDS | {"error", "errorDetails"}
    assert airgap["additionalProperties"] is False
    assert printed["discriminator"]["mapping"]["airgap"] == "#/$defs/AirgapJson"
    for typed in ("movingTags", "weights"):
        assert "$ref" in json.dumps(airgap["properties"][typed]), typed
    assert printed["$defs"]["WeightsJson"]["additionalProperties"] is False
    assert printed["$defs"]["MovingTagJson"]["additionalProperties"] is False
    assert AirgapJson.model_config.get("extra") == "forbid"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(("--models", "a*"), id="weights"),
        pytest.param(("--models", "b*", "--no-weights", "--tags", "all"), id="no-weights"),
        pytest.param(("--models", "llama-3.1*", "--digests", "--gpu", "h100"), id="digests"),
    ],
)
def test_each_document_is_exactly_an_airgap_json(
    options: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    schema: dict[str, Any],
) -> None:
    source = with_digests(tmp_path / "digests.json") if "--digests" in options else sample_path()
    code, stdout = run(capsys, "--from", str(source), "-o", str(tmp_path / "out"), *options)
    assert code == 0
    document = json.loads(stdout)
    assert set(document) == AIRGAP_FIELDS
    jsonschema.validate(document, schema)
    # No field beyond the model (extra="forbid"), and the model prints the same bytes.
    typed = AirgapJson.model_validate_json(stdout)
    assert dumps(typed) == stdout.rstrip("\n")
    if "--no-weights" in options:
        assert document["weights"] is None  # null, not left out: nothing is staged
    else:
        assert typed.weights is not None and typed.weights.models
    if "--digests" in options:
        assert any(image.digest for image in typed.images or ())


def test_a_failed_run_has_the_common_fields_and_the_empty_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schema: dict[str, Any]
) -> None:
    missing = tmp_path / "nope.json"
    code, stdout = run(capsys, "--from", str(missing), "-o", str(tmp_path / "out"))
    assert code == 2
    document = json.loads(stdout)
    assert set(document) == ERROR_FIELDS
    assert document["ok"] is False and document["exitCode"] == 2
    assert all(document[name] == [] for name in LISTS)
    jsonschema.validate(document, schema)
    assert dumps(AirgapJson.model_validate_json(stdout)) == stdout.rstrip("\n")
