"""Property-based tests of the canonical tag order (``nimgen.tags``).

The order must be total (any two distinct tags compare one way, consistently and
transitively), ``canonical_tags`` idempotent and independent of the order NGC lists the
tags in, so that the same catalog always renders byte for byte the same ConfigMap.
"""

from __future__ import annotations

import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nimgen.tags import canonical_tags, tag_sort_key

_number = st.integers(min_value=0, max_value=10**6).map(str) | st.sampled_from(["0", "00", "007"])
_version = st.lists(_number, min_size=1, max_size=4).map(".".join)
_variant = st.from_regex(r"[a-z0-9][a-z0-9.\-_]{0,12}", fullmatch=True)
_versioned = st.builds(
    lambda v, sep, var: f"{v}{sep}{var}", _version, st.sampled_from("-+_"), _variant
)
# Real shapes (1.15.5, 1.8.0-rtx, latest, rtx-latest) mixed with anything at all.
tags = st.one_of(
    _version,
    _versioned,
    st.sampled_from(["latest", "rtx-latest", "1", "1.0", "1.0.0", "1.10", "1.9", "2.1.0-41313772"]),
    st.text(min_size=1, max_size=20),
    st.from_regex(r"[0-9][0-9.\-+_a-z]{0,15}", fullmatch=True),
)
tag_lists = st.lists(tags, max_size=25)


@given(tags, tags)
@example("1", "01")
@example("1.0", "1.0.0")
@example("1-a", "1_a")
@example("1" * 5000, "2")
def test_any_two_tags_compare_exactly_one_way(a: str, b: str) -> None:
    ka, kb = tag_sort_key(a), tag_sort_key(b)
    assert (ka < kb) + (ka == kb) + (kb < ka) == 1
    assert (ka == kb) == (a == b)  # distinct tags never tie: no order left to chance


@given(tags, tags, tags)
def test_the_order_is_transitive(a: str, b: str, c: str) -> None:
    first, second, third = sorted([a, b, c], key=tag_sort_key)
    assert tag_sort_key(first) <= tag_sort_key(second) <= tag_sort_key(third)
    assert tag_sort_key(first) <= tag_sort_key(third)


@given(tag_lists)
def test_canonical_tags_is_idempotent_and_deduplicates(values: list[str]) -> None:
    once = canonical_tags(values)
    assert canonical_tags(once) == once
    assert len(once) == len(set(once)) and set(once) == set(values)


@given(tag_lists, st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_canonical_tags_ignores_the_input_order(values: list[str], rng: object) -> None:
    shuffled = list(values) + list(values[:3])  # duplicates too
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert canonical_tags(shuffled) == canonical_tags(values)


@given(st.lists(_version, min_size=2, max_size=10, unique=True))
def test_plain_versions_come_newest_first_before_every_other_tag(versions: list[str]) -> None:
    ordered = canonical_tags([*versions, "latest", "rtx-latest"])
    assert ordered[-2:] == ("latest", "rtx-latest")
    numbers = [tuple(int(p) for p in v.split(".")) for v in ordered[:-2]]
    for newer, older in itertools.pairwise(numbers):
        # Newest first; a longer version sorts before its own prefix (1.2.0 before 1.2).
        assert newer >= older or older[: len(newer)] == newer


def test_documented_examples() -> None:
    assert canonical_tags(["1", "latest", "1.9", "1.10", "1.2", "1.2.0", "1.8.0-rtx", "1.8.0"]) == (
        "1.10",
        "1.9",
        "1.8.0",
        "1.8.0-rtx",
        "1.2.0",
        "1.2",
        "1",
        "latest",
    )
