"""``nimgen.tags``: the one tag rule, and the canonical order, total and independent of the
order NGC lists the tags in, so that a catalog always renders the same ConfigMap."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nimgen.tags import TAG_PATTERN, canonical_tags, tag_problem, tag_sort_key


@pytest.mark.parametrize(
    ("tags", "ordered"),
    [
        ("1.9 1.10 1.2", "1.10 1.9 1.2"),  # versions descend by numeric parts
        ("1 1.2 1.2.0", "1.2.0 1.2 1"),  # a longer version before its prefix
        ("1.8.0-rtx 1.8.1 1.8.0 1.8 latest", "1.8.1 1.8.0 1.8.0-rtx 1.8 latest"),
        ("1.9.0 1.8.0-RTX 1.7", "1.9.0 1.8.0-RTX 1.7"),  # a variant without its base
        ("rtx-latest latest 1.0 dev", "1.0 dev latest rtx-latest"),  # not versions: last
        (
            "2.1.0-41313772 1.14.0-pb5.1-stig-fips-x86-64 1.14.0 2.1.0 1.14.0 latest 1.15.5 1.15 1",
            "2.1.0 2.1.0-41313772 1.15.5 1.15 1.14.0 1.14.0-pb5.1-stig-fips-x86-64 1 latest",
        ),
        (
            "1 latest 1.9 1.10 1.2 1.2.0 1.8.0-rtx 1.8.0",
            "1.10 1.9 1.8.0 1.8.0-rtx 1.2.0 1.2 1 latest",
        ),
    ],
)
def test_documented_orders(tags: str, ordered: str) -> None:
    assert canonical_tags(tags.split()) == tuple(ordered.split())


@pytest.mark.parametrize(
    "tag", ["1.0 ; rm -rf /", "x\ny", "a\x00", "\u202etag", "1.0\n", ".hidden", "-x", "", "9" * 129]
)
def test_a_tag_outside_the_oci_grammar_is_refused_shown_escaped(tag: str) -> None:
    problem = tag_problem(tag)
    assert problem is not None and problem.endswith("not starting with '.' or '-')")
    assert problem.isprintable() and len(problem) < 200


@pytest.mark.parametrize("tag", ["latest", "1.15.5", "1.8.0-RTX", "_", "a" * 128, "v1_2.x-y"])
def test_oci_tags_are_accepted(tag: str) -> None:
    assert tag_problem(tag) is None and re.fullmatch(TAG_PATTERN, tag)


_number = st.integers(min_value=0, max_value=10**6).map(str) | st.sampled_from(["0", "00", "007"])
_version = st.lists(_number, min_size=1, max_size=4).map(".".join)
_variant = st.from_regex(r"[a-z0-9][a-z0-9.\-_]{0,12}", fullmatch=True)
# Real shapes (1.15.5, 1.8.0-rtx, latest, rtx-latest) mixed with anything at all.
tags = st.one_of(
    _version,
    st.builds(lambda v, sep, var: f"{v}{sep}{var}", _version, st.sampled_from("-+_"), _variant),
    st.sampled_from(["latest", "rtx-latest", "1", "1.0", "1.0.0", "1.10", "1.9", "2.1.0-41313772"]),
    st.text(min_size=1, max_size=20),
)
tag_lists = st.lists(tags, max_size=25)


@given(tags, tags, tags)
@example("1", "01", "1.0")
@example("1.0", "1.0.0", "1-a")
@example("1-a", "1_a", "1" * 5000)
def test_the_order_is_total_and_transitive(a: str, b: str, c: str) -> None:
    ka, kb = tag_sort_key(a), tag_sort_key(b)
    assert (ka < kb) + (ka == kb) + (kb < ka) == 1
    assert (ka == kb) == (a == b)  # distinct tags never tie: no order left to chance
    first, second, third = (tag_sort_key(t) for t in sorted([a, b, c], key=tag_sort_key))
    assert first <= second <= third


@given(tag_lists, st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_canonical_tags_deduplicates_and_ignores_the_input_order(
    values: list[str], rng: object
) -> None:
    once = canonical_tags(values)
    assert canonical_tags(once) == once
    assert len(once) == len(set(once)) and set(once) == set(values)
    shuffled = list(values) + list(values[:3])  # duplicates too
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert canonical_tags(shuffled) == once


@given(st.lists(_version, min_size=2, max_size=10, unique=True))
def test_plain_versions_come_newest_first_before_every_other_tag(versions: list[str]) -> None:
    ordered = canonical_tags([*versions, "latest", "rtx-latest"])
    assert ordered[-2:] == ("latest", "rtx-latest")
    numbers = [tuple(int(p) for p in v.split(".")) for v in ordered[:-2]]
    for newer, older in itertools.pairwise(numbers):
        # Newest first; a longer version sorts before its own prefix (1.2.0 before 1.2).
        assert newer >= older or older[: len(newer)] == newer
