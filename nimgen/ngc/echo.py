"""Finding the API key in an answer, where a server or proxy copying request headers into
its answers would put it (and so into a ConfigMap or a snapshot): any piece of its secret
part of ``_BLOCK + _STRIDE - 1`` (12) characters or more, in any letter case, in the
answer's decoded strings (JSON escapes hide nothing).
"""

from __future__ import annotations

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
            self._blocks: tuple[str, ...] = (lowered,)
        else:
            starts = range(0, len(part) - _BLOCK + 1, _STRIDE)
            self._blocks = tuple(dict.fromkeys(part[start : start + _BLOCK] for start in starts))

    def found_in(self, parsed: Any) -> bool:
        text = "\x00".join(_strings(parsed)).lower()
        return any(block in text for block in self._blocks)


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
