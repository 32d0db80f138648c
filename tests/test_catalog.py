import json

import pytest
from pydantic import ValidationError

from nimgen.catalog import RECORD_FIELDS, configmap_key_problem, record_json_schema
from nimgen.catalog_schema import record_from, record_from_json


def record(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "llama-3.1-8b-instruct",
        "displayName": "Llama 3.1 8B",
        "shortDescription": "A model.",
        "namespace": "nim/meta",
        "tags": ["1.0", "latest"],
        "latestTag": "1.0",
        "updatedDate": "2025-01-01T00:00:00Z",
        "euRestricted": False,
    }
    base.update(changes)
    return base


def test_valid_record_keeps_contract_field_order() -> None:
    parsed = record_from(record())
    assert tuple(parsed.as_json_dict()) == RECORD_FIELDS


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": "meta/llama3"}, "not a valid ConfigMap key"),
        ({"name": "x" * 254}, "253"),
        ({"name": ""}, "empty"),
        ({"tags": []}, "at least 1"),
        ({"latestTag": "2.0"}, "not among the tags"),
        ({"euRestricted": "false"}, "boolean"),
        ({"tags": "1.0"}, "tuple"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_invalid_records_are_refused(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        record_from_json(json.dumps(record(**changes)))
    assert fragment in str(info.value)


def test_missing_field_is_refused() -> None:
    data = record()
    del data["updatedDate"]
    with pytest.raises(ValidationError, match="updatedDate"):
        record_from(data)


@pytest.mark.parametrize("name", ["a/b", "../x", "with space", ".", ".."])
def test_key_problems(name: str) -> None:
    assert configmap_key_problem(name) is not None


@pytest.mark.parametrize("name", ["yes", "null", "1e3", "007", "a.b_c-d"])
def test_odd_but_valid_keys(name: str) -> None:
    assert configmap_key_problem(name) is None


def test_json_schema_lists_the_eight_fields() -> None:
    schema = record_json_schema()
    assert set(schema["required"]) == set(RECORD_FIELDS)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["euRestricted"]["type"] == "boolean"
