"""``nimgen.eu.resolve``: one EU source per run, required to ship; stale or foreign probe files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nimgen import eu
from nimgen.catalog import EuStatus
from nimgen.errors import BadInput
from nimgen.eu import probe_file as probefile
from nimgen.eu.resolve import (
    EuRequest,
    EuSource,
    carried_eu,
    check_eu_source,
    freshness_problems,
    resolve_eu,
)
from nimgen.eu.rule import EuOutcome, UncertainEuStatus
from tests.eu.records import MODELS, flags, model, probe_file

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # the probe files of tests.eu.records are of this day
API = "https://api.ngc.nvidia.com"


def resolve(source: EuSource, **kw: object) -> EuOutcome:
    request = kw.pop("request", EuRequest())
    return resolve_eu(MODELS, source, request, now=NOW, api_url=API, **kw)  # type: ignore[arg-type]


def test_generate_needs_one_source_and_names_the_three_ways_out() -> None:
    with pytest.raises(BadInput) as caught:
        check_eu_source(EuRequest(), required=True)
    assert all(way in caught.value.message for way in ("--eu-proxy", "--eu-list", "--no-eu"))
    assert check_eu_source(EuRequest(), required=False) == EuSource()


@pytest.mark.parametrize(
    "request_",
    [
        EuRequest(eu_list=Path("x.json"), no_eu=True),
        EuRequest(eu_proxy="http://proxy.example:3128", no_eu=True),
        EuRequest(eu_list=Path("x.json"), eu_proxy="http://proxy.example:3128"),
    ],
)
def test_two_sources_are_a_usage_error(request_: EuRequest) -> None:
    with pytest.raises(BadInput, match="cannot be combined"):
        check_eu_source(request_, required=True)


def test_no_eu_clears_every_flag_and_warns() -> None:
    flagged = model("a").replace(record=model("a").record.replace(euRestricted=True))
    outcome = resolve_eu((flagged,), EuSource(no_eu=True), EuRequest(no_eu=True))
    assert flags(outcome) == {"a": False} and outcome.source == "none"
    assert outcome.warnings == (eu.resolve.NO_EU_WARNING,)


def test_a_fresh_probe_file_of_this_api_only_decides(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(
        probe_file(tmp_path, [("a", "restricted", None), ("b", "available", None)])
    )
    assert (facts.probed_at, facts.api_url) == ("2026-01-01T00:00:00Z", API)
    outcome = resolve(EuSource(facts=facts), request=EuRequest(policy="allow"))
    assert flags(outcome) == {"a": True, "b": False, "c": False}
    assert not any("days old" in w or "probed against" in w for w in outcome.warnings)


def test_a_stale_probe_file_warns_with_its_age_and_fails_under_fail(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(probe_file(tmp_path, [(n, "available", None) for n in "abc"]))
    later = NOW + timedelta(days=45, hours=3)
    outcome = resolve_eu(MODELS, EuSource(facts=facts), EuRequest(), now=later)
    assert outcome.warnings[0] == (
        f"{facts.label} is 45 days old (probed 2026-01-01T00:00:00Z; --eu-max-age 30): "
        "EU restrictions may have changed since; probe again with 'nimgen probe-eu'"
    )
    # the age never changes what ships
    assert flags(outcome) == {"a": False, "b": False, "c": False}
    roomy = EuRequest(max_age_days=60)
    assert not any(
        "days old" in w
        for w in resolve_eu(MODELS, EuSource(facts=facts), roomy, now=later).warnings
    )
    with pytest.raises(UncertainEuStatus, match="--eu-uncertain fail") as caught:
        resolve_eu(MODELS, EuSource(facts=facts), EuRequest(policy="fail"), now=later)
    assert caught.value.exit_code == 1 and "45 days old" in caught.value.details[0]


def test_a_probe_file_of_another_api_warns(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(probe_file(tmp_path, [(n, "available", None) for n in "abc"]))
    other = "https://ngc.example.internal"
    outcome = resolve_eu(MODELS, EuSource(facts=facts), EuRequest(), now=NOW, api_url=other)
    assert f"probed against the NGC API {API}, not this run's {other}" in outcome.warnings[0]
    same = resolve_eu(MODELS, EuSource(facts=facts), EuRequest(), now=NOW, api_url=API + "/")
    assert not any("probed against" in w for w in same.warnings)


def test_an_unreadable_probe_time_is_said(tmp_path: Path) -> None:
    path = probe_file(tmp_path, [("a", "available", None)])
    document = json.loads(path.read_text())
    document["probedAt"] = "last tuesday"
    path.write_text(json.dumps(document))
    facts = probefile.load_eu_list(path)
    assert freshness_problems(facts, 30, api_url=None, now=NOW) == (
        f"{facts.label} records no readable probe time ('last tuesday')",
    )


def _loaded(kind: str, eu_facts: str, statuses: bool) -> object:
    from nimgen.snapshot import Loaded

    status = EuStatus(status="restricted") if statuses else None
    models = (model("a", eu_status=status),)
    return Loaded(Path("input"), kind, models, eu_facts=eu_facts)


def test_render_input_without_facts_is_refused_unless_no_eu() -> None:
    bare = carried_eu(_loaded("snapshot", "none", statuses=False))  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="the snapshot input carries no EU facts") as caught:
        resolve_eu(MODELS, EuSource(), EuRequest(), carried=bare)
    assert "--eu-list" in caught.value.message and "--no-eu" in caught.value.message
    outcome = resolve_eu(MODELS, EuSource(no_eu=True), EuRequest(), carried=bare)
    assert outcome.source == "none" and eu.resolve.NO_EU_WARNING in outcome.warnings
    cm = carried_eu(_loaded("configmap", "none", statuses=False))  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="the ConfigMap input carries no EU facts"):
        resolve_eu(MODELS, EuSource(), EuRequest(), carried=cm)


def test_render_input_with_facts_applies_them_even_with_no_eu() -> None:
    loaded = _loaded(
        "snapshot",
        "probe-file sha256:0000000000000000000000000000000000000000000000000000000000000000",
        statuses=True,
    )
    carried = carried_eu(loaded)  # type: ignore[arg-type]
    models = loaded.models  # type: ignore[attr-defined]
    outcome = resolve_eu(models, EuSource(no_eu=True), EuRequest(), carried=carried)
    assert (
        flags(outcome) == {"a": True}
        and outcome.source
        == "probe-file sha256:0000000000000000000000000000000000000000000000000000000000000000"
    )
    assert outcome.notes == ("--no-eu: the snapshot input carries EU facts; they are applied",)
    kept = carried_eu(
        _loaded("configmap", "inline-probe via proxy http://eu-proxy.internal:3128", statuses=False)
    )  # type: ignore[arg-type]
    outcome = resolve_eu(models, EuSource(), EuRequest(), carried=kept)
    assert outcome.source == "inline-probe"  # the host never ships
