"""Image tags: the OCI grammar a tag follows, and the canonical (total) order of a model's tags.

Version tags first, newest first by numeric parts (``1.10`` before ``1.9``; ``1.2.0``
before ``1.2``), a variant (``1.8.0-rtx``) after its base; other tags last, alphabetically.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_TAG = re.compile(TAG_PATTERN)


def tag_problem(tag: str) -> str | None:
    if _TAG.fullmatch(tag) is not None:
        return None
    shown = tag if len(tag) <= 64 else f"{tag[:64]}..."
    return (
        f"{shown!r} is not a valid image tag (letters, digits, '_', '.' and '-', at most "
        "128, not starting with '.' or '-')"
    )


_VERSION = re.compile(r"(?P<numbers>\d+(?:\.\d+)*)(?:[-+_](?P<variant>.+))?")

# Sort key: (group, numbers, is_variant, variant, tag). ``numbers`` holds one
# descending key per numeric part and a trailing sentinel above every part key,
# so an ascending sort gives descending versions with 1.2.0 ahead of 1.2.
_Part = tuple[int, tuple[int, ...]]
_Key = tuple[int, tuple[_Part, ...], int, str, str]
_SENTINEL: _Part = (1, ())


def _part_key(part: str) -> _Part:
    """Descending by numeric value, for any number of digits (no int() size limit)."""
    digits = [int(char) for char in part]
    while digits and digits[0] == 0:
        digits.pop(0)
    return (-len(digits), tuple(-d for d in digits))


# Cached: a catalog repeats the same tags (latest, 1.0.0, ...) across its models, and
# this runs for every tag of every per-model answer.
@functools.lru_cache(maxsize=4096)
def tag_sort_key(tag: str) -> _Key:
    match = _VERSION.fullmatch(tag)
    if match is None:
        return (1, (), 0, "", tag)
    numbers = (*(_part_key(part) for part in match["numbers"].split(".")), _SENTINEL)
    variant = match["variant"]
    if variant is None:
        return (0, numbers, 0, "", tag)
    return (0, numbers, 1, variant, tag)


def canonical_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """De-duplicate ``tags`` and put them in the canonical order."""
    return tuple(sorted(set(tags), key=tag_sort_key))
