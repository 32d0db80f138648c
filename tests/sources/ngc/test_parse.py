"""NGC's answers turned into records: real answers from tests/fixtures/ngc, and odd shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nimgen.sources import CatalogEntry
from nimgen.sources.ngc import Final, Transient, parse_catalog_page, record_from_answer

NGC = Path(__file__).resolve().parents[2] / "fixtures" / "ngc"
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
