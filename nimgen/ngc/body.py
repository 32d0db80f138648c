"""Reading an answer's body without trusting it: size, compression, nesting, echoed secrets.

* The size cap holds for the *decoded* bytes, counted as they stream: nimgen inflates
  gzip/deflate itself, at most ``PIECE`` bytes per step (httpx's own decoder inflates a
  whole network chunk at once: one 64 KiB chunk of zeros becomes 64 MiB), and refuses a
  body that inflates more than ``MAX_INFLATION``-fold past its first MiB, so a
  "decompression bomb" costs about a MiB of memory, not the cap.
* JSON nested too deep to parse is a clean, final refusal of that answer.
* An answer that contains the API key (or a long piece of it, in any letter case) comes
  from something that echoes requests (a broken proxy, a hostile server): it is refused
  before any of its fields can reach a ConfigMap or a snapshot.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

# Decoded bytes produced per decompression step: bounds what one step can allocate.
PIECE = 64 * 1024
# Compressed bytes fed per step, and the most a body may inflate past its first MiB:
# JSON compresses perhaps 20-fold; a bomb of zeros ~1000-fold, refused after ~1 MiB.
_RAW_SLICE = 4 * 1024
MAX_INFLATION = 100
_INFLATION_FLOOR = 1024 * 1024
# The public prefix of personal keys: not a secret, so never matched on its own.
_PUBLIC_PREFIX = "nvapi-"
# Echo detection: blocks of the key's secret part, BLOCK long at every STRIDE. Any piece
# of the secret at least BLOCK + STRIDE - 1 (12) characters long contains a whole block;
# 8 random characters never turn up in an honest answer by chance (36**8 = 2.8e12).
_BLOCK = 8
_STRIDE = 5


class BodyRefused(Exception):
    """The body breaks a limit; another try would meet the same answer."""


class BodyUnreadable(Exception):
    """The body could not be decoded (corrupt compression): worth another try."""


class _Inflater:
    """One Content-Encoding stage (gzip or deflate), inflating at most ``PIECE`` per step."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._raw_fallback = not self._gzip  # deflate: zlib-wrapped, or raw as some servers send
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)

    def pieces(self, chunks: Iterable[bytes | memoryview]) -> Iterator[bytes]:
        for chunk in chunks:
            data = chunk
            while True:
                try:
                    out = self._inflate.decompress(data, PIECE)
                except zlib.error:
                    if not self._raw_fallback:
                        raise
                    self._raw_fallback = False
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                self._raw_fallback = False
                data = self._inflate.unconsumed_tail
                if out:
                    yield out
                # A full piece may leave output pending even when all input is taken.
                if self._inflate.eof or (not data and len(out) < PIECE):
                    break
            if self._inflate.eof:
                return  # bytes after the end of the stream are ignored, as httpx does


def _stages(content_encoding: str) -> list[_Inflater]:
    """The decoders for ``Content-Encoding`` (applied in reverse order of listing).

    Unknown codings and ``identity`` pass through unchanged, as httpx treats them; the
    JSON parse then fails and the answer counts as unreadable.
    """
    names = [part.strip().lower() for part in content_encoding.split(",")]
    return [_Inflater(n) for n in reversed(names) if n in ("gzip", "x-gzip", "deflate")]


async def read_capped(raw_chunks: AsyncIterator[bytes], content_encoding: str, cap: int) -> bytes:
    """The decoded body, refused (``BodyRefused``) once more than ``cap`` bytes decode, or
    once a compressed body inflates past ``MAX_INFLATION`` times its size (a bomb)."""
    stages = _stages(content_encoding) if content_encoding else []
    chunks: list[bytes] = []
    size = 0
    if not stages:
        async for chunk in raw_chunks:
            size += len(chunk)
            if size > cap:
                raise BodyRefused(f"answer larger than {cap} bytes refused")
            chunks.append(chunk)
        return b"".join(chunks)
    raw_size = 0
    try:
        async for chunk in raw_chunks:
            view = memoryview(chunk)
            # Fed in small slices, so that the inflation ratio is judged early.
            for start in range(0, len(view), _RAW_SLICE):
                piece_in = view[start : start + _RAW_SLICE]
                raw_size += len(piece_in)
                for piece in _decode(piece_in, stages):
                    size += len(piece)
                    if size > cap:
                        raise BodyRefused(
                            f"answer larger than {cap} bytes refused (once decompressed)"
                        )
                    if size > _INFLATION_FLOOR and size > MAX_INFLATION * raw_size:
                        raise BodyRefused(
                            f"answer refused: it inflates more than {MAX_INFLATION}-fold "
                            "(a decompression bomb)"
                        )
                    chunks.append(piece)
    except zlib.error:
        raise BodyUnreadable("HTTP 200 with a corrupt compressed body") from None
    return b"".join(chunks)


def _decode(chunk: bytes | memoryview, stages: list[_Inflater]) -> Iterator[bytes]:
    """``chunk`` through every stage (there is at least one), lazily, piece by piece."""
    pieces = stages[0].pieces([chunk])
    for stage in stages[1:]:
        pieces = stage.pieces(pieces)
    return pieces


def parse_json(body: bytes) -> Any:
    """The parsed body; ``ValueError`` when it is not JSON, ``BodyRefused`` when nested too
    deep for the parser (a hostile answer, refused cleanly rather than crashing the run)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise BodyRefused("answer nested too deeply to be read: refused") from None


class SecretEcho:
    """Finds the key, or a long piece of it in any letter case, in an answer."""

    def __init__(self, secret: str) -> None:
        lowered = secret.lower()
        part = lowered.removeprefix(_PUBLIC_PREFIX)
        if len(part) < _BLOCK + _STRIDE:
            self._blocks: tuple[bytes, ...] = (lowered.encode(),)
        else:
            starts = range(0, len(part) - _BLOCK + 1, _STRIDE)
            self._blocks = tuple(dict.fromkeys(part[i : i + _BLOCK].encode() for i in starts))
        self._hiding = _escapes_of(secret)

    def found_in(self, raw: bytes, parsed: Any) -> bool:
        if self._hiding.search(raw) is not None:
            # A JSON escape spells one of the key's characters: search the decoded text.
            raw = "\x00".join(_strings(parsed)).encode("utf-8", "surrogatepass")
        lowered = raw.lower()
        return any(block in lowered for block in self._blocks)


def _escapes_of(secret: str) -> re.Pattern[bytes]:
    """The JSON escapes that could spell a character of ``secret`` (in either case), so that
    a search of the raw bytes would miss it. Ordinary answers have none of them."""
    chars = set(secret.lower()) | set(secret.upper())
    if any(ord(c) > 0xFFFF for c in chars):
        return re.compile(rb"\\u")  # beyond one escape: any escape sends us to the slow path
    forms = [re.escape(f"\\u{ord(c):04x}".encode()) for c in sorted(chars)]
    forms += [re.escape(b"\\" + c.encode()) for c in sorted(chars & set('"\\/'))]
    return re.compile(b"|".join(forms), re.IGNORECASE)


def _strings(value: Any) -> Iterator[str]:
    """Every string (keys and values) of a parsed JSON value, iteratively (no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
