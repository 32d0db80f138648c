"""``nimgen.eu.probe_file``: the probe file ``probe-eu`` writes, and the flat legacy list."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nimgen.catalog import EuStatus
from nimgen.errors import BadInput
from nimgen.eu import probe_file as probefile
from nimgen.eu.proxy import check_proxy_url
from nimgen.eu.resolve import freshness_problems
from tests.eu.records import probe_file


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
    facts = probefile.load_eu_list(path)
    assert facts.kind == "probe-file" and facts.coverage
    assert (
        facts.source
        == f"probe-file probed {facts.probed_at} sha256:"
        + hashlib.sha256(path.read_bytes()).hexdigest()
    )
    assert facts.statuses["nim/meta/c"] == EuStatus(status="inconclusive", detail="HTTP 503")
    assert facts.warnings == ()


def test_build_probe_keeps_detail_only_for_inconclusive() -> None:
    proxy = check_proxy_url("http://user:build-probe-pw@proxy.example:3128")
    probe = probefile.build_probe(
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
    assert b"build-probe-pw" not in probefile.probe_json(probe)


def test_flat_legacy_list(fixtures_dir: Path) -> None:
    path = fixtures_dir / "ngc" / "eu-restricted-2025.json"
    facts = probefile.load_eu_list(path)
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
        probefile.load_eu_list(path)


def test_a_missing_list_and_a_resource_given_twice_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot read the EU list"):
        probefile.load_eu_list(tmp_path / "nope.json")
    path = probe_file(tmp_path, [("a", "available", None), ("a", "restricted", None)])
    with pytest.raises(BadInput, match="appears twice"):
        probefile.load_eu_list(path)


def test_a_probe_file_dated_in_the_future_warns(tmp_path: Path) -> None:
    facts = probefile.load_eu_list(probe_file(tmp_path, [("a", "available", None)]))
    probed = datetime(2026, 1, 1, tzinfo=UTC)  # the file's probedAt
    skewed = probed - timedelta(minutes=2)  # this machine's clock a little behind: believed
    assert freshness_problems(facts, 30, api_url=None, now=skewed) == ()
    (warning,) = freshness_problems(facts, 30, api_url=None, now=probed - timedelta(days=1))
    assert warning.startswith(
        f"the EU probe file {tmp_path / 'probe.json'} is dated in the future "
        "(probed 2026-01-01T00:00:00Z): a clock was wrong"
    )
