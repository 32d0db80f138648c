"""NGC's answers turned into records: real answers from tests/fixtures/ngc, and odd shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nimgen.collection import CatalogEntry
from nimgen.ngc import PermanentError as Final
from nimgen.ngc import RetryableError as Transient
from nimgen.ngc import parse_catalog_page, record_from_answer

NGC = Path(__file__).resolve().parents[1] / "fixtures" / "ngc"
ENTRY = CatalogEntry("nim/meta/m", "nim", "meta", "m", "M", "2025", "1.0", "2025")


def test_real_catalog_page_parses() -> None:
    body = json.loads((NGC / "catalog-search-page.json").read_text())
    page = parse_catalog_page(body, 0)
    assert page.page_total == 90 and page.result_total == 180
    resources = body["results"][1]["resources"]
    assert [e.resource_id for e in page.entries] == [r["resourceId"] for r in resources]
    assert page.listed == len(resources)
    assert all(e.latest_tag for e in page.entries)


def test_catalog_entry_shapes() -> None:
    body = {
        "resultTotal": 3,
        "resultPageTotal": 1,
        "params": {"page": 0},
        "results": [
            {
                "groupValue": "CONTAINER",
                "resources": [
                    {"resourceId": "nim/solo", "name": "solo", "attributes": []},
                    {"resourceId": "a/b/c/d", "name": "d"},
                    {"name": "no-id"},
                ],
            }
        ],
    }
    page = parse_catalog_page(body, 0)
    assert page.entries[0].team is None and page.entries[0].latest_tag is None
    assert {f.name for f in page.invalid} == {"d", "no-id"}
    assert page.listed == 3


@pytest.mark.parametrize("body", [None, [], {"resultTotal": -1}, {"resultTotal": "x"}])
def test_a_malformed_page_is_worth_another_read(body: object) -> None:
    with pytest.raises(Transient, match="catalog page 4 is malformed"):
        parse_catalog_page(body, 4)


def test_real_model_answer_becomes_a_record() -> None:
    body = json.loads((NGC / "repo-llama-3.1-8b-instruct.json").read_text())
    record = record_from_answer(body, ENTRY)
    assert record.name == "llama-3.1-8b-instruct"
    assert record.tags[0] == "1.2.2" and record.tags[-1] == "latest"
    assert record.euRestricted is False
    body["tags"] = "not-a-list"
    with pytest.raises(Final, match="tags"):
        record_from_answer(body, ENTRY)


def test_a_malformed_resource_is_named_in_pydantic_s_words() -> None:
    # The words pydantic always gave, now that it reads only what the plain checks refuse.
    body = {
        "resultTotal": 4,
        "resultPageTotal": 1,
        "params": {"page": 2},
        "results": [
            {
                "groupValue": "CONTAINER",
                "resources": [
                    {"resourceId": "nim/x", "name": "x", "attributes": [5]},
                    7,
                    {"resourceId": "nim/y", "name": "y", "displayName": 3},
                    {"resourceId": "nim/z", "name": "z", "attributes": [{"key": "a"}]},
                ],
            }
        ],
    }
    page = parse_catalog_page(body, 2)
    assert [(f.name, f.reason, f.resource_id) for f in page.invalid] == [
        (
            "x",
            "catalog entry: attributes.0: Input should be a valid dictionary or instance of "
            "_Attribute",
            "nim/x",
        ),
        (
            "catalog page 2 item 1",
            "catalog entry: answer: Input should be a valid dictionary or instance of _Resource",
            "",
        ),
        ("y", "catalog entry: displayName: Input should be a valid string", "nim/y"),
    ]
    assert [e.name for e in page.entries] == ["z"] and page.listed == 4


def test_a_malformed_page_or_answer_is_named_in_pydantic_s_words() -> None:
    body = {"resultTotal": 1, "resultPageTotal": "x", "results": None}
    with pytest.raises(Transient) as page:
        parse_catalog_page(body, 4)
    assert str(page.value) == (
        "catalog page 4 is malformed: resultPageTotal: Input should be a valid integer; "
        "params: Field required; "
        "results: Input should be a valid list"
    )
    answer = {
        "name": "m",
        "displayName": "M",
        "shortDescription": "",
        "namespace": "",
        "tags": [],
        "latestTag": "\ud800",
        "updatedDate": "2025",
    }
    with pytest.raises(Final) as model:
        record_from_answer(answer, ENTRY)
    assert str(model.value) == (
        "answer failed validation: namespace: String should have at least 1 character; "
        "tags: List should have at least 1 item after validation, not 0; "
        "latestTag: Input should be a valid string, unable to parse raw data as a unicode string"
    )
