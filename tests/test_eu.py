"""``nimgen.eu``: the probe file, the flat list, the proxy URL and the conservative rule."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from nimgen import eu
from nimgen.apikey import ApiKey, redact
from nimgen.catalog import CatalogFacts, EuStatus, ModelRecord, SnapshotModel
from nimgen.errors import BadInput
from nimgen.selection import Selection
from nimgen.sources import NullProgress
from nimgen.sources.ngc import ClientSettings
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator


def model(name: str, rid: str | None = None, eu_status: EuStatus | None = None) -> SnapshotModel:
    record = ModelRecord(
        name=name,
        displayName=name,
        shortDescription="",
        namespace="nim/meta",
        tags=("1.0.0",),
        latestTag="1.0.0",
        updatedDate="2025-01-01T00:00:00Z",
        euRestricted=False,
    )
    return SnapshotModel(
        record=record, catalog=CatalogFacts(resourceId=rid or f"nim/meta/{name}"), eu=eu_status
    )


def probe_file(tmp_path: Path, entries: list[tuple[str, str, str | None]]) -> Path:
    """A probe file with (name, status, detail) entries under nim/meta."""
    probe = eu.EuProbe(
        probedAt="2026-01-01T00:00:00Z",
        vantage=eu.ProbeVantage(kind="local", apiUrl="https://api.ngc.nvidia.com"),
        models=tuple(
            eu.ProbedModel(
                name=name,
                resourceId=f"nim/meta/{name}",
                status=status,  # type: ignore[arg-type]
                detail=detail,
                attempts=1,
            )
            for name, status, detail in entries
        ),
    )
    path = tmp_path / "probe.json"
    path.write_bytes(eu.probe_json(probe))
    return path


MODELS = (model("a"), model("b"), model("c"))


# -- the probe file -------------------------------------------------------------


def test_probe_file_is_sorted_versioned_and_reads_back(tmp_path: Path) -> None:
    path = probe_file(
        tmp_path,
        [("c", "inconclusive", "HTTP 503"), ("a", "restricted", None), ("b", "available", None)],
    )
    document = json.loads(path.read_text())
    assert list(document) == ["kind", "version", "probedAt", "vantage", "models"]
    assert document["kind"] == "NimgenEuProbe" and document["version"] == 1
    assert [m["name"] for m in document["models"]] == ["a", "b", "c"]
    assert "detail" not in document["models"][0]
    facts = eu.load_eu_list(path)
    assert facts.kind == "probe-file" and facts.coverage
    assert facts.source == "probe-file sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert facts.statuses["nim/meta/c"] == EuStatus(status="inconclusive", detail="HTTP 503")
    assert facts.warnings == ()


def test_build_probe_keeps_detail_only_for_inconclusive() -> None:
    proxy = eu.check_proxy_url("http://user:build-probe-pw@proxy.example:3128")
    probe = eu.build_probe(
        {
            "nim/meta/x": EuStatus(status="restricted"),
            "nim/y": EuStatus(status="inconclusive", detail="HTTP 404 Not Found"),
        },
        {"nim/meta/x": 1, "nim/y": 3},
        probed_at="2026-01-01T00:00:00Z",
        api_url="https://api.ngc.nvidia.com",
        proxy=proxy,
    )
    assert probe.vantage.proxy == "http://***@proxy.example:3128"
    by_name = {m.name: m for m in probe.models}
    assert by_name["y"].resourceId == "nim/y" and by_name["y"].attempts == 3
    assert by_name["y"].detail == "HTTP 404 Not Found" and by_name["x"].detail is None
    assert b"build-probe-pw" not in eu.probe_json(probe)


def test_flat_legacy_list(fixtures_dir: Path) -> None:
    path = fixtures_dir / "ngc" / "eu-restricted-2025.json"
    facts = eu.load_eu_list(path)
    assert facts.kind == "flat-list" and not facts.coverage
    assert len(facts.statuses) == 4
    assert all(s.status == "restricted" for s in facts.statuses.values())
    assert facts.source.startswith("flat-list sha256:")
    assert len(facts.warnings) == 1 and "records no probe coverage" in facts.warnings[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"kind": "Other"}', "neither a nimgen EU probe file"),
        ('"a string"', "neither a nimgen EU probe file"),
        ('{"kind": "NimgenEuProbe", "version": 9}', "version 9 is newer"),
        ('{"kind": "NimgenEuProbe", "version": 1, "models": []}', "invalid EU probe file"),
        ('[{"name": "x"}]', "item 0: resourceId"),
        ("[1]", "item 0"),
    ],
)
def test_bad_eu_lists_are_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(content)
    with pytest.raises(BadInput, match=message):
        eu.load_eu_list(path)


def test_duplicate_resource_in_probe_file(tmp_path: Path) -> None:
    path = probe_file(tmp_path, [("a", "available", None), ("a", "restricted", None)])
    with pytest.raises(BadInput, match="appears twice"):
        eu.load_eu_list(path)


def test_missing_eu_list(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read the EU list"):
        eu.load_eu_list(tmp_path / "nope.json")


# -- the proxy URL ----------------------------------------------------------------


def test_proxy_credentials_are_registered_and_redacted() -> None:
    proxy = eu.check_proxy_url("http://eu-user:pa%40ss-w0rd-1@127.0.0.1:3128")
    assert proxy.redacted == "http://***@127.0.0.1:3128"
    assert "pa%40ss" not in repr(proxy)
    line = "via http://eu-user:pa%40ss-w0rd-1@127.0.0.1:3128 pw pa@ss-w0rd-1 / pa%40ss-w0rd-1"
    assert "pa@ss-w0rd-1" not in redact(line) and "pa%40ss-w0rd-1" not in redact(line)
    assert eu.check_proxy_url("https://proxy.example").redacted == "https://proxy.example"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("proxy.example:3128", "not an http:// or https:// proxy URL"),
        ("socks5://u:pw-socks-0@host:1080", "not an http:// or https:// proxy URL"),
        ("http://u:pw-port-0@host:port", "the port is not a number"),
        ("http://u:pw-path-0@host:1/some/path", "no path, query or fragment"),
        ("http://u:pw-host-0@:3128", "names no host"),
    ],
)
def test_bad_proxy_urls_never_echo_the_password(url: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        eu.check_proxy_url(url)
    assert "pw-" not in caught.value.message


# -- the rule ------------------------------------------------------------------------


def flags(outcome: eu.EuOutcome) -> dict[str, bool]:
    return {m.record.name: m.record.euRestricted for m in outcome.models}


@pytest.mark.parametrize("policy", ["restrict", "allow"])
def test_probe_file_statuses_and_policies(tmp_path: Path, policy: eu.Policy) -> None:
    facts = eu.load_eu_list(
        probe_file(tmp_path, [("a", "restricted", None), ("b", "inconclusive", "HTTP 503")])
    )
    outcome = eu.apply_eu(MODELS, facts, policy)
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
    facts = eu.load_eu_list(
        probe_file(
            tmp_path,
            [
                ("a", "restricted", None),
                ("b", "inconclusive", "HTTP 503"),
                ("gone", "available", None),
            ],
        )
    )
    with pytest.raises(eu.UncertainEuStatus) as caught:
        eu.apply_eu(MODELS, facts, "fail")
    assert caught.value.exit_code == 1
    assert caught.value.details == ("b: inconclusive: HTTP 503", "c: not in the probe file")
    assert any("gone" in w for w in caught.value.warnings)


def test_all_conclusive_has_no_uncertainty(tmp_path: Path) -> None:
    facts = eu.load_eu_list(
        probe_file(
            tmp_path,
            [("a", "restricted", None), ("b", "available", None), ("c", "available", None)],
        )
    )
    outcome = eu.apply_eu(MODELS, facts, "fail")
    assert flags(outcome) == {"a": True, "b": False, "c": False}
    assert outcome.uncertain == {} and outcome.warnings == ()


def test_stale_entries_are_named_unless_left_out_on_purpose(tmp_path: Path) -> None:
    facts = eu.load_eu_list(
        probe_file(
            tmp_path,
            [(n, "available", None) for n in ("a", "b", "c", "retired", "no-tag", "unselected")]
            + [("d", "restricted", None)],
        )
    )
    outcome = eu.apply_eu(
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
    facts = eu.load_eu_list(probe_file(tmp_path, [("a", "restricted", None)]))
    moved = (model("a", rid="nim/other-team/a"),)
    outcome = eu.apply_eu(moved, facts, "allow")
    assert flags(outcome) == {"a": True} and outcome.warnings == ()


def test_flat_list_absent_means_available(fixtures_dir: Path) -> None:
    facts = eu.load_eu_list(fixtures_dir / "ngc" / "eu-restricted-2025.json")
    models = (model("llama-4-scout-17b-16e-instruct"), model("llama-3.1-8b-instruct"))
    outcome = eu.apply_eu(models, facts, "fail")
    assert flags(outcome) == {
        "llama-4-scout-17b-16e-instruct": True,
        "llama-3.1-8b-instruct": False,
    }
    assert outcome.uncertain == {}
    assert outcome.warnings[0] == facts.warnings[0]
    assert sum("records no probe coverage" in w for w in outcome.warnings) == 1
    assert any("not in the catalog" in w and "llama-4-maverick" in w for w in outcome.warnings)


def test_no_451_at_all_warns_about_the_vantage(tmp_path: Path) -> None:
    facts = eu.load_eu_list(
        probe_file(
            tmp_path, [("a", "available", None), ("b", "available", None), ("c", "available", None)]
        )
    )
    outcome = eu.apply_eu(MODELS, facts, "restrict")
    assert len(outcome.warnings) == 1 and "may not be in the EU" in outcome.warnings[0]


def test_statuses_carried_by_the_models() -> None:
    models = (
        model("a", eu_status=EuStatus(status="restricted")),
        model("b", eu_status=EuStatus(status="available")),
        model("c"),
    )
    assert eu.carries_eu_facts(models, "none")
    assert not eu.carries_eu_facts((model("x"),), "none")
    assert eu.carries_eu_facts((model("x"),), "probe-file sha256:00")
    facts = eu.facts_from_models("snapshot", "probe-file sha256:00")
    outcome = eu.apply_eu(models, facts, "restrict")
    assert flags(outcome) == {"a": True, "b": False, "c": True}
    assert outcome.uncertain == {"c": "no EU status recorded"}
    assert outcome.source == "probe-file sha256:00"
    assert not any("not in the catalog" in w for w in outcome.warnings)


def test_keep_records_changes_nothing() -> None:
    restricted = model("a").model_copy(
        update={"record": model("a").record.model_copy(update={"euRestricted": True})}
    )
    outcome = eu.keep_records((restricted, model("b")), "probe-file sha256:11")
    assert outcome.restricted == ("a",) and outcome.source == "probe-file sha256:11"


# -- a probe through the real proxy --------------------------------------------------


def test_run_probe_through_the_proxy(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, forward_proxy: ForwardProxy
) -> None:
    chosen = [m for m in ngc_models if m.eu_restricted] + ngc_models[:6]
    with NgcEmulator(chosen, fixtures_dir=fixtures_dir, eu_addresses={"127.0.0.2"}) as emu:
        emu.fault_model_forever(ngc_models[0].name, Fault.status(404))
        settings = ClientSettings(api_url=emu.url, max_attempts=2, backoff_base=0.01)
        run = eu.run_probe(
            ApiKey(VALID_KEY),
            settings,
            selection=Selection(),
            proxy=eu.check_proxy_url(forward_proxy.url),
            progress=NullProgress(),
        )
    statuses = {m.name: m.status for m in run.probe.models}
    assert {n for n, s in statuses.items() if s == "restricted"} == {
        m.name for m in chosen if m.eu_restricted
    }
    assert statuses[ngc_models[0].name] == "inconclusive"
    detail = next(m.detail for m in run.probe.models if m.name == ngc_models[0].name)
    assert detail == "HTTP 404 Not Found"
    assert run.probe.vantage.kind == "proxy" and run.probe.vantage.apiUrl == emu.url
    assert forward_proxy.requests > 0
    assert run.collection.discovered == len(chosen)


def test_no_facts_clears_every_flag() -> None:
    restricted = model("a").model_copy(
        update={
            "record": model("a").record.model_copy(update={"euRestricted": True}),
            "eu": EuStatus(status="restricted"),
        }
    )
    outcome = eu.no_facts((restricted, model("b")))
    assert flags(outcome) == {"a": False, "b": False}
    assert outcome.source == "none" and outcome.restricted == ()
    assert all(m.eu is None for m in outcome.models)
