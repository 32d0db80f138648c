"""Reading an answer without trusting it: decoded size, inflation, nesting, echoed keys."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterable

import pytest

from nimgen.ngc.body import (
    MAX_INFLATION,
    BodyRefused,
    BodyUnreadable,
    SecretEcho,
    parse_json,
    read_capped,
)
from tests.support.ngc_emulator import gzip_bomb

MIB = 1 << 20
KEY = "nvapi-Ab3dEf9hIjKlMn0pQrStUvWxYz12345678AbCdEfGhIjKlMnOpQrStUvWxYz0123"


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read(data: bytes, encoding: str = "", cap: int = 16 * MIB) -> bytes:
    return asyncio.run(read_capped(_chunks(data), encoding, cap))


def test_plain_bodies_are_capped() -> None:
    assert read(b"x" * 1000, cap=1000) == b"x" * 1000
    with pytest.raises(BodyRefused, match="larger than 999 bytes"):
        read(b"x" * 1000, cap=999)


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda d: _raw_deflate(d)),  # without the zlib wrapper
        ("gzip, gzip", lambda d: gzip.compress(gzip.compress(d))),
        ("identity", lambda d: d),
        ("br", lambda d: d),  # unknown codings pass through, as httpx treats them
    ],
)
def test_compressed_bodies_are_inflated(encoding: str, encode: object) -> None:
    data = json.dumps({"text": "nimgen " * 50_000}).encode()  # 350 kB, compresses well
    assert read(encode(data), encoding) == data  # type: ignore[operator]


def _raw_deflate(data: bytes) -> bytes:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return raw.compress(data) + raw.flush()


def test_raw_deflate_is_read_as_some_servers_send_it() -> None:
    data = b'{"a": "' + b"b" * 10_000 + b'"}'
    assert read(_raw_deflate(data), "deflate") == data


def test_the_cap_holds_for_the_decoded_bytes() -> None:
    noise = random.Random(7).randbytes(2 * MIB)  # does not compress: 2 MiB sent, 2 MiB decoded
    with pytest.raises(BodyRefused, match=r"larger than 1048576 bytes refused \(once decompressed"):
        read(gzip.compress(noise), "gzip", cap=MIB)
    assert read(gzip.compress(noise), "gzip", cap=2 * MIB) == noise


def test_an_answer_inflating_a_hundredfold_is_refused_past_its_first_mebibyte() -> None:
    small = b"a" * MIB  # 1 MiB of one letter: about 1000-fold, yet allowed up to 1 MiB
    assert read(gzip.compress(small), "gzip") == small
    with pytest.raises(BodyRefused, match="100-fold"):
        read(gzip.compress(b"a" * (2 * MIB)), "gzip")


@pytest.mark.parametrize("layers", [1, 2])
def test_a_bomb_is_refused_holding_about_a_mebibyte(layers: int) -> None:
    bomb = gzip_bomb(1 << 30)
    for _ in range(layers - 1):
        bomb = gzip.compress(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(BodyRefused, match=f"inflates more than {MAX_INFLATION}-fold"):
            read(bomb, ", ".join(["gzip"] * layers))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, peak  # the bomb is 1 GiB decoded; the cap alone would allow 16 MiB


def test_a_corrupt_compressed_body_is_unreadable_not_a_crash() -> None:
    good = gzip.compress(b'{"a": 1}' * 1000)
    broken = good[:20] + bytes(b ^ 0xFF for b in good[20:40]) + good[40:]
    with pytest.raises(BodyUnreadable, match="corrupt compressed body"):
        read(broken, "gzip")


def test_deep_nesting_is_refused_cleanly() -> None:
    assert parse_json(b"[[[]]]") == [[[]]]
    with pytest.raises(BodyRefused, match="nested too deeply"):
        parse_json(b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(ValueError):
        parse_json(b"{not json")


def _answer(value: str) -> tuple[bytes, object]:
    document = {
        "name": "m",
        "shortDescription": value,
        "tags": ["1.0"],
        "digest": "sha256:" + "ab" * 32,
    }
    raw = json.dumps(document).encode()
    return raw, json.loads(raw)


def _escaped(text: str) -> bytes:
    body = '{"name": "' + "".join(f"\\u{ord(c):04x}" for c in text) + '"}'
    return body.encode()


ECHOES: Iterable[str] = [
    KEY,
    f"Bearer {KEY}",
    KEY.upper(),
    KEY.lower(),
    KEY[20:32],  # 12 characters of the secret part
    KEY[-12:],
    KEY[:18],  # the public prefix and 12 secret characters
]


@pytest.mark.parametrize("echo", ECHOES)
def test_the_key_or_a_long_piece_of_it_is_found(echo: str) -> None:
    raw, parsed = _answer(f"copied: {echo}!")
    assert SecretEcho(KEY).found_in(raw, parsed)


def test_the_key_spelled_in_json_escapes_is_found() -> None:
    raw = _escaped(KEY[10:40])
    assert SecretEcho(KEY).found_in(raw, json.loads(raw))


@pytest.mark.parametrize(
    "text",
    [
        "An ordinary description, with the words nvapi- and Bearer in it.",
        KEY[20:27],  # 7 characters: shorter than any block the check looks for
        "\\u00e9t\\u00e9 caf\\u00e9",  # escapes of characters the key does not have
    ],
)
def test_honest_answers_are_not_mistaken_for_echoes(text: str) -> None:
    raw, parsed = _answer(text)
    assert not SecretEcho(KEY).found_in(raw, parsed)


def test_a_short_key_is_matched_whole_only() -> None:
    echo = SecretEcho("nvapi-abc12")
    assert echo.found_in(*_answer("nvapi-ABC12"))
    assert not echo.found_in(*_answer("abc12 alone is too common to mean the key"))
