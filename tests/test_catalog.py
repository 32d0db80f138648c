"""nimgen.catalog: each value defined once, strict, frozen, and written back byte for byte."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from nimgen.catalog import (
    RECORD_FIELDS,
    CatalogFacts,
    EuStatus,
    ImageDigest,
    ModelRecord,
    Snapshot,
    SnapshotModel,
    record_json_schema,
)
from nimgen.errors import RunFailed
from nimgen.files import MIB
from nimgen.snapshot import load_models, sample_path, snapshot_json
from tests.support.model_records import make_record, record_fields

VALID = record_fields("llama-3.1-8b-instruct")


def test_valid_record_keeps_contract_field_order() -> None:
    record = ModelRecord.model_validate(VALID)
    assert tuple(record.as_json_dict()) == RECORD_FIELDS
    assert record.as_json_dict() == VALID


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": "meta/llama3"}, "not a valid ConfigMap key"),
        ({"name": "x" * 254}, "253"),
        ({"name": ""}, "empty"),
        ({"tags": []}, "at least 1"),
        ({"latestTag": "2.0"}, "not among the model's tags"),
        ({"euRestricted": "false"}, "boolean"),
        ({"tags": "1.0"}, "tuple"),
        ({"namespace": ""}, "at least 1 character"),
        ({"displayName": 3}, "valid string"),
        ({"extra": 1}, "Extra inputs"),
        ({"updatedDate": None}, "updatedDate\n  Field required"),
    ],
)
def test_invalid_records_are_refused(changes: dict[str, object], fragment: str) -> None:
    data = {k: v for k, v in {**VALID, **changes}.items() if v is not None}
    with pytest.raises(ValidationError) as info:
        ModelRecord.model_validate_json(json.dumps(data))
    assert fragment in str(info.value)


def test_values_are_frozen_and_replace_checks_like_a_new_value() -> None:
    schema = record_json_schema()  # the same rules, as the JSON Schema of an entry
    assert set(schema["required"]) == set(RECORD_FIELDS) and not schema["additionalProperties"]
    record = ModelRecord(**{**VALID, "tags": ["1.0", "latest"]})
    assert record.tags == ("1.0", "latest")  # a list becomes a tuple: hashable, comparable
    assert hash(record) == hash(record.replace())
    assert record.replace(tags=("latest", "1.0", "1.0")).canonical().tags == ("1.0", "latest")
    with pytest.raises(ValueError, match="not among the model's tags"):
        record.replace(latestTag="9.9")
    with pytest.raises(ValueError, match="not a valid ConfigMap key"):
        record.replace(name="a/b")
    with pytest.raises(ValidationError, match="frozen"):
        record.name = "b"  # type: ignore[misc]


def test_the_other_values_keep_their_rules() -> None:
    with pytest.raises(ValueError, match="status"):
        EuStatus(status="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="digest"):
        ImageDigest(tag="1.0", architecture="amd64", os="linux", digest="sha256:x")
    with pytest.raises(ValueError, match="os"):
        ImageDigest(tag="1.0", architecture="amd64", os="linux\n", digest="sha256:" + "a" * 64)
    model = SnapshotModel(record=ModelRecord(**VALID), catalog=CatalogFacts(resourceId="a/b"))
    assert model.digests == () and model.replace(eu=EuStatus(status="available")).eu is not None
    assert model.as_json_dict() == {"record": VALID, "catalog": {"resourceId": "a/b"}}


def test_the_sample_snapshot_reads_and_writes_back_the_same_document() -> None:
    document = json.loads(sample_path().read_text(encoding="utf-8"))
    assert Snapshot.model_validate(document).as_json_dict() == document


def test_fetch_never_writes_a_snapshot_nimgen_cannot_read_back(tmp_path: Path) -> None:
    def models(count: int) -> tuple[SnapshotModel, ...]:  # a MiB of description each
        records = (make_record(f"m{i:02d}", shortDescription="x" * MIB) for i in range(count))
        return tuple(
            SnapshotModel(record=r, catalog=CatalogFacts(resourceId=f"nim/test/{r.name}"))
            for r in records
        )

    path = tmp_path / "snapshot.json"
    path.write_bytes(snapshot_json(models(15), api_url="http://x", fetched_at="t"))
    assert len(load_models(path).models) == 15  # under the one limit: read back
    with pytest.raises(RunFailed) as refused:
        snapshot_json(models(17), api_url="http://x", fetched_at="t")
    assert refused.value.message.startswith("the snapshot of 17 models would be 17,")
    assert "over the 16 MiB nimgen reads back: fetch fewer models" in refused.value.message
