"""The canonical order of a model's image tags.

Plain version tags come first, newest first by their numeric parts read left to
right (``1.10`` before ``1.9``; ``1.2.0`` before ``1.2`` before ``1``). A variant
such as ``1.8.0-rtx`` follows its base version. Tags that are not versions
(``latest``, ``rtx-latest``) come last, alphabetically. The order is total, so
it does not depend on the order NGC lists the tags in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_VERSION = re.compile(r"(?P<numbers>\d+(?:\.\d+)*)(?:[-+_](?P<variant>.+))?")

# Sort key: (group, numbers, is_variant, variant, tag). ``numbers`` holds the
# negated parts and a trailing sentinel above every negated part, so an
# ascending sort gives descending versions with 1.2.0 ahead of 1.2.
_Key = tuple[int, tuple[int, ...], int, str, str]


def tag_sort_key(tag: str) -> _Key:
    match = _VERSION.fullmatch(tag)
    if match is None:
        return (1, (), 0, "", tag)
    numbers = (*(-int(part) for part in match["numbers"].split(".")), 1)
    variant = match["variant"]
    if variant is None:
        return (0, numbers, 0, "", tag)
    return (0, numbers, 1, variant, tag)


def canonical_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """De-duplicate ``tags`` and put them in the canonical order."""
    return tuple(sorted(set(tags), key=tag_sort_key))
