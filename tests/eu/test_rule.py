"""``nimgen.eu.rule``: the conservative rule under each ``--eu-uncertain`` policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimgen.catalog import EuStatus
from nimgen.eu import probe_file as probefile
from nimgen.eu.rule import (
    Policy,
    UncertainEuStatus,
    apply_eu,
    carries_eu_facts,
    facts_from_models,
    keep_records,
    no_facts,
)
from nimgen.selection import Selection
from tests.eu.records import MODELS, flags, model, probe_file


@pytest.mark.parametrize("policy", ["restrict", "allow"])
def test_probe_file_statuses_and_policies(tmp_path: Path, policy: Policy) -> None:
    facts = probefile.load_eu_list(
        probe_file(tmp_path, [("a", "restricted", None), ("b", "inconclusive", "HTTP 503")])
    )
    outcome = apply_eu(MODELS, facts, policy)
    uncertain = policy == "restrict"
    assert flags(outcome) == {"a": True, "b": uncertain, "c": uncertain}
    assert outcome.uncertain == {"b": "inconclusive: HTTP 503", "c": "not in the probe file"}
    assert outcome.flagged_uncertain == (("b", "c") if uncertain else ())
    assert outcome.restricted == (("a", "b", "c") if uncertain else ("a",))
    assert {m.record.name: m.eu for m in outcome.models}["a"] == EuStatus(status="restricted")
    text = "\n".join(outcome.warnings)
    assert "does not mention 1 catalog model(s)" in text and ": c" in text
    assert f"--eu-uncertain {policy}" in text


def test_fail_policy_raises_naming_the_uncertain(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(
        probe_file(
            tmp_path,
            [
                ("a", "restricted", None),
                ("b", "inconclusive", "HTTP 503"),
                ("gone", "available", None),
            ],
        )
    )
    with pytest.raises(UncertainEuStatus) as caught:
        apply_eu(MODELS, facts, "fail")
    assert caught.value.exit_code == 1
    assert caught.value.details == ("b: inconclusive: HTTP 503", "c: not in the probe file")
    assert any("gone" in w for w in caught.value.warnings)


def test_all_conclusive_has_no_uncertainty(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(
        probe_file(
            tmp_path,
            [("a", "restricted", None), ("b", "available", None), ("c", "available", None)],
        )
    )
    outcome = apply_eu(MODELS, facts, "fail")
    assert flags(outcome) == {"a": True, "b": False, "c": False}
    assert outcome.uncertain == {} and outcome.warnings == ()


def test_stale_entries_are_named_unless_left_out_on_purpose(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(
        probe_file(
            tmp_path,
            [(n, "available", None) for n in ("a", "b", "c", "retired", "no-tag", "unselected")]
            + [("d", "restricted", None)],
        )
    )
    outcome = apply_eu(
        MODELS,
        facts,
        "restrict",
        selection=Selection(exclude=("unselected",)),
        not_shipped={"no-tag"},
    )
    assert flags(outcome) == {"a": False, "b": False, "c": False}
    (warning,) = outcome.warnings
    assert "names 2 model(s) not in the catalog" in warning and warning.endswith(": d, retired")


def test_a_moved_model_matches_by_name(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(probe_file(tmp_path, [("a", "restricted", None)]))
    moved = (model("a", rid="nim/other-team/a"),)
    outcome = apply_eu(moved, facts, "allow")
    assert flags(outcome) == {"a": True} and outcome.warnings == ()


def test_flat_list_absent_means_available(fixtures_dir: Path) -> None:
    facts = probefile.load_eu_list(fixtures_dir / "ngc" / "eu-restricted-2025.json")
    models = (model("llama-4-scout-17b-16e-instruct"), model("llama-3.1-8b-instruct"))
    outcome = apply_eu(models, facts, "fail")
    assert flags(outcome) == {
        "llama-4-scout-17b-16e-instruct": True,
        "llama-3.1-8b-instruct": False,
    }
    assert outcome.uncertain == {}
    assert outcome.warnings[0] == facts.warnings[0]
    assert sum("records no probe coverage" in w for w in outcome.warnings) == 1
    assert any("not in the catalog" in w and "llama-4-maverick" in w for w in outcome.warnings)


def test_no_451_at_all_warns_about_the_vantage(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(
        probe_file(
            tmp_path, [("a", "available", None), ("b", "available", None), ("c", "available", None)]
        )
    )
    outcome = apply_eu(MODELS, facts, "restrict")
    assert len(outcome.warnings) == 1 and "may not be in the EU" in outcome.warnings[0]


def test_statuses_carried_by_the_models() -> None:
    models = (
        model("a", eu_status=EuStatus(status="restricted")),
        model("b", eu_status=EuStatus(status="available")),
        model("c"),
    )
    assert carries_eu_facts(models, "none")
    assert not carries_eu_facts((model("x"),), "none")
    assert carries_eu_facts((model("x"),), "probe-file sha256:00")
    facts = facts_from_models("snapshot", "probe-file sha256:00")
    outcome = apply_eu(models, facts, "restrict")
    assert flags(outcome) == {"a": True, "b": False, "c": True}
    assert outcome.uncertain == {"c": "no EU status recorded"}
    assert outcome.source == "probe-file sha256:00"
    assert not any("not in the catalog" in w for w in outcome.warnings)


def test_keep_records_changes_nothing() -> None:
    restricted = model("a").replace(record=model("a").record.replace(euRestricted=True))
    outcome = keep_records((restricted, model("b")), "probe-file sha256:11")
    assert outcome.restricted == ("a",) and outcome.source == "probe-file sha256:11"


def test_no_facts_clears_every_flag() -> None:
    restricted = model("a").replace(
        record=model("a").record.replace(euRestricted=True), eu=EuStatus(status="restricted")
    )
    outcome = no_facts((restricted, model("b")))
    assert flags(outcome) == {"a": False, "b": False}
    assert outcome.source == "none" and outcome.restricted == ()
    assert all(m.eu is None for m in outcome.models)
