"""Single requests of the NGC client against the emulator: retries, finals, answer checks."""

from __future__ import annotations

import pytest

from nimgen.collection import CatalogEntry
from nimgen.errors import BadInput, KeyRejected
from nimgen.ngc import Answer, NgcClient, RequestFailed
from nimgen.ngc.http import ECHOED_KEY
from tests.ngc.conftest import fast_settings, with_client
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator

MODEL = EmulatedModel("m", display_name="M", team="meta", tags=("1.0", "latest"), latest_tag="1.0")
ENTRY = CatalogEntry("nim/meta/m", "nim", "meta", "m", "M", "2025", "1.0", "2025")


@pytest.fixture
def emu() -> NgcEmulator:
    with NgcEmulator([MODEL]) as emulator:
        yield emulator


def details(emu: NgcEmulator, *, eu: bool = False, **settings: object) -> Answer:
    async def use(client: NgcClient) -> Answer:
        return await client.model_details(ENTRY, eu_probe=eu)

    answer, _ = with_client(fast_settings(emu.url, **settings), use)
    return answer


def test_retries_5xx_then_succeeds(emu: NgcEmulator) -> None:
    emu.fault_model("m", Fault.status(503), Fault.status(502))
    answer = details(emu)
    assert answer.status == 200 and answer.attempts == 3
    assert answer.body["name"] == "m"
    assert emu.model_calls["m"] == 3


def test_gives_up_after_max_attempts(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.status(500))
    with pytest.raises(RequestFailed, match=r"HTTP 500.*gave up after 3 attempts") as info:
        details(emu)
    assert info.value.attempts == 3 and emu.model_calls["m"] == 3


def test_429_honours_retry_after_and_throttles(emu: NgcEmulator) -> None:
    emu.fault_model("m", Fault.status(429, retry_after="0"))

    async def use(client: NgcClient) -> Answer:
        return await client.model_details(ENTRY)

    answer, limiter = with_client(fast_settings(emu.url), use)
    assert answer.attempts == 2
    assert limiter.lowest_limit == 2 and limiter.throttled == 1


def test_451_is_an_answer_for_the_probe_and_a_failure_otherwise(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.status(451))
    answer = details(emu, eu=True)
    assert answer.status == 451 and answer.attempts == 1
    with pytest.raises(RequestFailed, match="451"):
        details(emu)


def test_404_is_final(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.status(404))
    with pytest.raises(RequestFailed, match="404"):
        details(emu)
    assert emu.model_calls["m"] == 1


def test_bad_bodies_are_retried(emu: NgcEmulator) -> None:
    emu.fault_model("m", Fault.garbage(), Fault.html())
    answer = details(emu)
    assert answer.attempts == 3 and answer.body["name"] == "m"


def test_connection_resets_are_retried(emu: NgcEmulator) -> None:
    emu.fault_model("m", Fault.reset())
    assert details(emu).attempts == 2


def test_connection_refused_is_retried_then_named() -> None:
    with NgcEmulator([MODEL]) as emu:
        url = emu.url  # stopped below: nothing listens there any more

    async def use(client: NgcClient) -> Answer:
        return await client.model_details(ENTRY)

    with pytest.raises(RequestFailed, match=r"connection failed: .*gave up after 2 attempts"):
        with_client(fast_settings(url, max_attempts=2), use)


def test_oversized_answer_refused_without_retry(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.huge(4096))
    with pytest.raises(RequestFailed, match="refused") as info:
        details(emu, max_response_bytes=1024)
    assert info.value.attempts == 1 and emu.model_calls["m"] == 1


def test_key_validation_sends_the_key_as_nothing_else_would(emu: NgcEmulator) -> None:
    async def validate(client: NgcClient) -> None:
        await client.validate_key()

    with_client(fast_settings(emu.url), validate)
    assert emu.count("key", 200) == 1
    with pytest.raises(KeyRejected) as info:
        with_client(fast_settings(emu.url), validate, key="nvapi-not-the-right-key-0000")
    assert "nvapi-not-the-right-key" not in info.value.message
    with pytest.raises(BadInput, match="no NGC API key"):
        with_client(fast_settings(emu.url), validate, key=None)


@pytest.mark.parametrize("style", ["verbatim", "upper", "piece", "escaped"])
def test_an_answer_echoing_the_key_is_refused_at_once(emu: NgcEmulator, style: str) -> None:
    emu.fault_model_forever("m", Fault.echo("shortDescription", style=style))  # type: ignore[arg-type]
    with pytest.raises(RequestFailed) as info:
        details(emu)
    assert info.value.reason == ECHOED_KEY and info.value.attempts == 1
    assert VALID_KEY not in str(info.value) and VALID_KEY.upper() not in str(info.value)


def test_the_key_check_answer_may_mention_the_key(emu: NgcEmulator) -> None:
    """Its body is never used or written: an echo there is not a reason to fail."""
    emu.fault_key(Fault.echo("userId"))

    async def validate(client: NgcClient) -> None:
        await client.validate_key()

    with_client(fast_settings(emu.url), validate)


def test_deeply_nested_json_is_a_final_failure_of_that_request(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.deeply_nested(200_000))
    with pytest.raises(RequestFailed, match="nested too deeply") as info:
        details(emu)
    assert info.value.attempts == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "gzip, gzip"])
def test_compressed_answers_are_inflated(emu: NgcEmulator, encoding: str) -> None:
    plain = details(emu).body
    emu.fault_model("m", Fault.compressed(encoding))
    assert details(emu).body == plain


def test_a_decompression_bomb_is_refused_by_its_inflation(emu: NgcEmulator) -> None:
    emu.fault_model_forever("m", Fault.bomb(64 << 20))
    with pytest.raises(RequestFailed, match="decompression bomb") as info:
        details(emu)
    assert info.value.attempts == 1


def test_a_corrupt_compressed_answer_is_retried(emu: NgcEmulator) -> None:
    emu.fault_model(
        "m", Fault.status(200, body=b"not gzip at all", content_type="application/json")
    )
    emu.fault_model("m", Fault.compressed("gzip", corrupt=True))
    assert details(emu).attempts == 3
