"""Finding the API key in an answer: a server or proxy that copies request headers into
its answers would otherwise put the key into a ConfigMap or a snapshot.

Any piece of the key's secret part at least ``_BLOCK + _STRIDE - 1`` (12) characters long,
in any letter case, raw or spelled in JSON escapes, is found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# The public prefix of personal keys: not a secret, so never matched on its own.
_PUBLIC_PREFIX = "nvapi-"
# Blocks of the secret part, BLOCK long at every STRIDE: 8 random characters never turn up
# in an honest answer by chance (36**8 = 2.8e12).
_BLOCK = 8
_STRIDE = 5


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
