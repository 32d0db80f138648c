"""``nimgen.collector``: fewer collector passes within a command, all put back after."""

from __future__ import annotations

import gc

from nimgen.collector import YOUNG_THRESHOLD, fewer_collections, set_aside_loaded


def test_the_collector_is_as_it_was_after_a_command() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
        loaded = [[] for _ in range(100)]  # objects the collector tracks
        frozen = gc.get_freeze_count()
        set_aside_loaded()
        assert gc.get_freeze_count() >= frozen + len(loaded)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_outside_a_command_nothing_is_set_aside() -> None:
    set_aside_loaded()
    assert gc.get_freeze_count() == 0


def test_cycles_are_still_collected_within() -> None:
    class Node:
        other: object

    with fewer_collections():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
        assert gc.collect() >= 2
