"""Single requests of the NGC client, against respx mocks."""

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from nimgen.apikey import ApiKey
from nimgen.errors import BadInput, KeyRejected
from nimgen.sources import CatalogEntry
from nimgen.sources.limiter import AdaptiveLimiter
from nimgen.sources.ngc import (
    ClientSettings,
    Final,
    NgcClient,
    RequestFailed,
    check_api_url,
    parse_catalog_page,
    parse_retry_after,
    record_from_answer,
)

API = "https://ngc.test"
KEY = "nvapi-respx-secret-1234"
SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "ngc"
ENTRY = CatalogEntry("nim/meta/m", "nim", "meta", "m", "M", "2025", "1.0", "2025")
SETTINGS = ClientSettings(api_url=API, max_attempts=3, backoff_base=0.001, request_timeout=2)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def details(settings: ClientSettings = SETTINGS, *, eu: bool = False) -> Any:
    limiter = AdaptiveLimiter(4)
    async with NgcClient(settings, ApiKey(KEY), limiter=limiter) as client:
        answer = await client.model_details(ENTRY, eu_probe=eu)
    return answer, limiter


MODEL_URL = f"{API}/v2/org/nim/team/meta/repos/m"


@respx.mock
def test_retries_5xx_then_succeeds() -> None:
    route = respx.get(MODEL_URL).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json={"a": 1})]
    )
    answer, _ = run(details())
    assert answer.status == 200 and answer.body == {"a": 1} and answer.attempts == 3
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert "resolve-labels=true" in str(route.calls.last.request.url)


@respx.mock
def test_gives_up_after_max_attempts() -> None:
    respx.get(MODEL_URL).mock(return_value=httpx.Response(500))
    with pytest.raises(RequestFailed, match=r"HTTP 500.*3 attempts") as info:
        run(details())
    assert info.value.attempts == 3


@respx.mock
def test_429_honours_retry_after_and_throttles() -> None:
    respx.get(MODEL_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, json={}),
        ]
    )
    answer, limiter = run(details())
    assert answer.attempts == 2
    assert limiter.lowest_limit == 2


@respx.mock
def test_451_is_an_answer_for_the_probe_and_a_failure_otherwise() -> None:
    respx.get(MODEL_URL).mock(return_value=httpx.Response(451))
    answer, _ = run(details(eu=True))
    assert answer.status == 451 and answer.attempts == 1
    with pytest.raises(RequestFailed, match="451"):
        run(details())


@respx.mock
def test_404_is_final() -> None:
    route = respx.get(MODEL_URL).mock(return_value=httpx.Response(404))
    with pytest.raises(RequestFailed, match="404"):
        run(details())
    assert route.call_count == 1


@respx.mock
def test_bad_bodies_are_retried() -> None:
    respx.get(MODEL_URL).mock(
        side_effect=[
            httpx.Response(200, content=b'{"trunc', headers={"content-type": "application/json"}),
            httpx.Response(
                200, content=b"<html>oops</html>", headers={"content-type": "text/html"}
            ),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    answer, _ = run(details())
    assert answer.body == {"ok": True} and answer.attempts == 3


@respx.mock
def test_connection_errors_are_retried() -> None:
    respx.get(MODEL_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json={})]
    )
    answer, _ = run(details())
    assert answer.attempts == 2


@respx.mock
def test_oversized_answer_refused_without_retry() -> None:
    route = respx.get(MODEL_URL).mock(
        return_value=httpx.Response(200, content=b"x" * 2048, headers={"content-type": "json"})
    )
    small = ClientSettings(api_url=API, max_attempts=3, max_response_bytes=1024)
    with pytest.raises(RequestFailed, match="refused"):
        run(details(small))
    assert route.call_count == 1


@respx.mock
def test_key_validation() -> None:
    route = respx.post(f"{API}/v3/keys/get-caller-info").mock(
        side_effect=[httpx.Response(200, json={}), httpx.Response(401)]
    )

    async def validate() -> None:
        async with NgcClient(SETTINGS, ApiKey(KEY), limiter=AdaptiveLimiter(1)) as client:
            await client.validate_key()

    run(validate())
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.content == f"credentials={KEY}".encode()
    with pytest.raises(KeyRejected) as info:
        run(validate())
    assert KEY not in info.value.message


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "url",
    ["http://api.ngc.nvidia.com", "ftp://x", "https://user:pw@host", "not a url"],
)
def test_api_url_refused(url: str) -> None:
    with pytest.raises(BadInput):
        check_api_url(url)


def test_api_url_accepted() -> None:
    assert check_api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert check_api_url("http://localhost:1") == "http://localhost:1"
    assert check_api_url("https://api.ngc.nvidia.com") == "https://api.ngc.nvidia.com"


def test_real_catalog_page_parses() -> None:
    body = json.loads((SHARED / "catalog-search-page.json").read_text())
    page = parse_catalog_page(body, 0)
    assert page.page_total == 90 and page.result_total == 180
    assert [e.resource_id for e in page.entries] == [
        r["resourceId"] for r in body["results"][1]["resources"]
    ]
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


def test_real_model_answer_becomes_a_record() -> None:
    body = json.loads((SHARED / "repo-llama-3.1-8b-instruct.json").read_text())
    record = record_from_answer(body, ENTRY)
    assert record.name == "llama-3.1-8b-instruct"
    assert record.tags[0] == "1.2.2" and record.tags[-1] == "latest"
    assert record.euRestricted is False
    body["tags"] = "not-a-list"
    with pytest.raises(Final, match="tags"):
        record_from_answer(body, ENTRY)
