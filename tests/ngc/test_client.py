"""The NGC client's requests, one at a time, against respx: retries and their waits, final
answers, caps, compression, redirects, an echoed key, timeouts and the key check."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from nimgen.apikey import ApiKey
from nimgen.collection import CatalogEntry
from nimgen.errors import KeyRejected, RunFailed
from nimgen.ngc import client
from nimgen.ngc.client import (
    ECHOED_KEY,
    Answer,
    NgcClient,
    RequestFailed,
    Throttle,
    parse_retry_after,
)
from tests.ngc.conftest import fast_settings, with_client
from tests.support.ngc_emulator import VALID_KEY

API = "https://ngc.test"
MODEL_PATH = "/v2/org/nim/team/meta/repos/m"
ENTRY = CatalogEntry("nim/meta/m", "nim", "meta", "m", "2025", "1.0", "2025")
RECORD = {"name": "m", "displayName": "M", "tags": ["1.0"], "latestTag": "1.0"}
OK = httpx.Response(200, json=RECORD)


@pytest.fixture
def api() -> Any:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        yield mock


def details(*, eu: bool = False, **settings: Any) -> Answer:
    async def use(client: NgcClient) -> Answer:
        return await client.model_details(ENTRY, eu_probe=eu)

    return with_client(fast_settings(API, **settings), use)


def failure(**settings: Any) -> RequestFailed:
    with pytest.raises(RequestFailed) as info:
        details(**settings)
    return info.value


def test_5xx_is_retried_until_an_answer(api: Any) -> None:
    route = api.get(MODEL_PATH).mock(side_effect=[httpx.Response(503), httpx.Response(502), OK])
    answer = details()
    assert (answer.status, answer.body, answer.attempts) == (200, RECORD, 3)
    assert route.call_count == 3


def test_gives_up_after_max_attempts_naming_the_last_failure(api: Any) -> None:
    route = api.get(MODEL_PATH).mock(return_value=httpx.Response(500))
    failed = failure()
    assert failed.reason == "HTTP 500 Internal Server Error (gave up after 3 attempts)"
    assert failed.attempts == route.call_count == 3


def test_the_retry_budget_stops_retries_before_max_attempts(api: Any) -> None:
    route = api.get(MODEL_PATH).mock(return_value=httpx.Response(503))
    failed = failure(max_attempts=10_000, retry_budget=0.3, backoff_first=0.01, backoff_cap=0.01)
    assert "gave up after" in failed.reason and 1 < route.call_count < 10_000


def test_waits_are_full_jitter(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", no_sleep)
    api.get(MODEL_PATH).mock(return_value=httpx.Response(503))
    failure(max_attempts=8, backoff_first=0.5, backoff_cap=4.0)
    ceilings = [0.5, 1, 2, 4, 4, 4, 4]
    assert len(slept) == 7 and all(0 <= s <= c for s, c in zip(slept, ceilings, strict=True))
    assert len(set(slept)) == 7  # drawn at random, not in lock-step


def test_retry_after_is_obeyed_up_to_a_cap(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "MAX_RETRY_AFTER", 0.5)  # 60 s in a real run
    told = httpx.Response(429, headers={"Retry-After": "3600"})
    api.get(MODEL_PATH).mock(side_effect=[told, OK])
    started = time.monotonic()
    assert details().attempts == 2
    assert 0.5 <= time.monotonic() - started < 30  # told an hour, waited the cap


def test_retry_after_holds_back_every_new_request(api: Any) -> None:
    """One slot: the request queued behind a 429 starts no sooner than its Retry-After."""
    started: dict[str, list[float]] = {"a": [], "b": []}

    def answer(name: str, first: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
        def serve(request: httpx.Request) -> httpx.Response:
            started[name].append(time.monotonic())
            return first if len(started[name]) == 1 else OK

        return serve

    api.get("/v2/org/nim/team/meta/repos/a").mock(
        side_effect=answer("a", httpx.Response(429, headers={"Retry-After": "1"}))
    )
    api.get("/v2/org/nim/team/meta/repos/b").mock(side_effect=answer("b", OK))

    async def run() -> None:
        settings = fast_settings(API, concurrency=1)
        async with NgcClient(settings, ApiKey(VALID_KEY), throttle=Throttle(1)) as client:
            entries = [CatalogEntry(f"nim/meta/{n}", "nim", "meta", n, "", "1", "") for n in "ab"]
            await asyncio.gather(*(client.model_details(e) for e in entries))

    asyncio.run(run())
    assert len(started["a"]) == 2 and len(started["b"]) == 1
    assert started["b"][0] - started["a"][0] >= 1.0
    assert started["a"][1] - started["a"][0] >= 1.0


def test_retry_after_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412500.0) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("9" * 5000) == float("inf")  # capped where it is used


def test_451_is_an_answer_for_the_eu_probe_and_final_otherwise(api: Any) -> None:
    route = api.get(MODEL_PATH).mock(return_value=httpx.Response(451))
    answer = details(eu=True)
    assert (answer.status, answer.attempts) == (451, 1)
    assert failure().reason == "HTTP 451 Unavailable For Legal Reasons"
    assert route.call_count == 2


@pytest.mark.parametrize("status", [404, 302, 307])
def test_other_statuses_and_redirects_are_final_and_never_followed(api: Any, status: int) -> None:
    elsewhere = api.get("/elsewhere").mock(return_value=OK)
    moved = httpx.Response(status, headers={"Location": f"{API}/elsewhere"})
    route = api.get(MODEL_PATH).mock(return_value=moved)
    failed = failure()
    assert failed.reason.startswith(f"HTTP {status} ") and failed.attempts == 1
    assert route.call_count == 1 and elsewhere.call_count == 0


JSON = {"Content-Type": "application/json"}
BAD_BODIES = {
    "truncated or invalid JSON": httpx.Response(200, content=b'{"name": "m', headers=JSON),
    "non-JSON body (text/html)": httpx.Response(200, html="<html>502</html>"),
    "non-JSON body (no content type)": httpx.Response(200, content=b"{}"),
}


@pytest.mark.parametrize("says", BAD_BODIES)
def test_bodies_that_are_not_json_are_retried(api: Any, says: str) -> None:
    api.get(MODEL_PATH).mock(side_effect=[BAD_BODIES[says], OK])
    assert details().attempts == 2
    api.get(MODEL_PATH).mock(return_value=BAD_BODIES[says])
    assert says in failure().reason


def test_connection_failures_are_retried_then_named(api: Any) -> None:
    route = api.get(MODEL_PATH).mock(side_effect=[httpx.ReadError("reset by peer"), OK])
    assert details().attempts == 2
    route.mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    failed = failure()
    assert (
        failed.reason
        == "connection failed: [Errno 111] Connection refused (gave up after 3 attempts)"
    )


def test_a_certificate_that_does_not_verify_is_final_with_a_hint(api: Any) -> None:
    def untrusted(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
        cause.verify_message = "self-signed certificate"
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]") from cause

    route = api.get(MODEL_PATH).mock(side_effect=untrusted)
    failed = failure()
    assert failed.reason.startswith("TLS certificate verification failed (")
    assert "--ca-bundle PATH" in failed.reason and route.call_count == 1


def test_oversized_answers_are_refused_declared_or_streamed(api: Any) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"x" * 512

    declared = httpx.Response(200, json={"pad": "x" * 4096})
    streamed = httpx.Response(200, content=stream(), headers=JSON)
    route = api.get(MODEL_PATH).mock(return_value=declared)
    assert (
        failure(max_response_bytes=1024).reason.startswith("answer of 4") and route.call_count == 1
    )
    route.mock(return_value=streamed)
    failed = failure(max_response_bytes=1024)
    assert failed.reason == "answer larger than 1024 bytes refused" and failed.attempts == 1


def test_answers_are_asked_for_uncompressed(api: Any) -> None:
    """A server compressing anyway is refused: tests/ngc/test_hostile_network.py (respx
    inflates a mocked answer itself, so it cannot show that nimgen never does)."""
    route = api.get(MODEL_PATH).mock(
        return_value=httpx.Response(200, json=RECORD, headers={"Content-Encoding": "identity"})
    )
    assert details().body == RECORD
    assert route.calls.last.request.headers["Accept-Encoding"] == "identity"


def test_deeply_nested_json_is_refused_at_once(api: Any) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    api.get(MODEL_PATH).mock(return_value=httpx.Response(200, content=nested, headers=JSON))
    failed = failure()
    assert failed.reason == "answer nested too deeply to be read: refused" and failed.attempts == 1


def _echoes() -> dict[str, str]:
    secret = VALID_KEY
    middle = len(secret) // 2
    return {
        "verbatim": json.dumps(f"Bearer {secret}"),
        "upper": json.dumps(f"BEARER {secret.upper()}"),
        "piece": json.dumps(secret[middle - 6 : middle + 6]),
        "escaped": '"' + "".join(f"\\u{ord(c):04x}" for c in secret) + '"',
    }


@pytest.mark.parametrize("style", list(_echoes()))
def test_an_answer_carrying_the_key_is_refused_at_once(api: Any, style: str) -> None:
    body = json.dumps({**RECORD, "shortDescription": "@"}).replace('"@"', _echoes()[style])
    api.get(MODEL_PATH).mock(return_value=httpx.Response(200, content=body.encode(), headers=JSON))
    failed = failure()
    assert failed.reason == ECHOED_KEY and failed.attempts == 1
    assert VALID_KEY not in str(failed) and VALID_KEY.upper() not in str(failed)


def test_a_try_is_bounded_as_a_whole_even_when_bytes_drip(api: Any) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return OK

    async def drip() -> AsyncIterator[bytes]:
        for _ in range(300):  # each byte well within the timeout, the whole far beyond it
            await asyncio.sleep(0.01)
            yield b" "

    route = api.get(MODEL_PATH).mock(side_effect=hang)
    failed = failure(request_timeout=0.2, max_attempts=2)
    assert failed.reason == "no answer within --request-timeout 0.2s (gave up after 2 attempts)"
    route.mock(side_effect=lambda request: httpx.Response(200, content=drip(), headers=JSON))
    started = time.monotonic()
    assert "no answer within --request-timeout 0.2s" in failure(request_timeout=0.2).reason
    assert time.monotonic() - started < 3  # three tries of 0.2 s, not of 3 s


def test_the_key_check(api: Any) -> None:
    route = api.post("/v3/keys/get-caller-info").mock(return_value=httpx.Response(200, json={}))

    def validate(key: str = VALID_KEY) -> None:
        async def use(client: NgcClient) -> None:
            await client.validate_key()

        with_client(fast_settings(API), use, key=key)

    validate()
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {VALID_KEY}"
    assert sent.content == f"credentials={VALID_KEY}".encode()
    route.mock(return_value=httpx.Response(401))
    with pytest.raises(KeyRejected) as rejected:
        validate("nvapi-not-the-right-key-0000")
    assert "nvapi-not-the-right-key" not in rejected.value.message
    route.mock(return_value=httpx.Response(407))
    with pytest.raises(RunFailed, match="the proxy refused the request"):
        validate()
    route.mock(return_value=httpx.Response(503))
    with pytest.raises(RunFailed, match="could not validate the API key: HTTP 503"):
        validate()
    # Its body is never used or written: the key in it is not a reason to fail.
    route.mock(return_value=httpx.Response(200, json={"user": f"Bearer {VALID_KEY}"}))
    validate()
