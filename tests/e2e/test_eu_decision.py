"""No ConfigMap ships without an EU decision; stale or foreign EU facts are said out loud.

The installed console script against the NGC emulator (and the real forward proxy).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from nimgen.snapshot import sample_path
from tests.support.eu_setup import PROXY_USER
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, NgcEmulator
from tests.support.nimgen_runner import NimgenResult, clean_env, run_nimgen, tree_bytes

FAST = ("--max-attempts", "2", "--request-timeout", "5")
EU_SOURCE = "opendatahub.io/nim-models-eu-source"


def nimgen(command: str, emu: NgcEmulator, out: Path, *extra: str, **kw: Any) -> NimgenResult:
    where = ("--ngc-api-url", emu.url, "--output", str(out))
    return run_nimgen(command, *where, *FAST, *extra, key=VALID_KEY, **kw)


def annotations(out: Path) -> dict[str, str]:
    configmap = yaml.safe_load((out / "base" / "nim-models-data.yaml").read_text())
    return configmap["metadata"]["annotations"]  # type: ignore[no-any-return]


def probe_file(path: Path, models: list[EmulatedModel], *, probed: datetime, api: str) -> Path:
    document = {
        "kind": "NimgenEuProbe",
        "version": 1,
        "probedAt": probed.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "vantage": {"kind": "local", "apiUrl": api},
        "models": [
            {
                "name": m.name,
                "resourceId": m.resource_id,
                "status": "restricted" if m.eu_restricted else "available",
                "attempts": 1,
            }
            for m in models
        ],
    }
    path.write_text(json.dumps(document, indent=2))
    return path


def test_generate_without_an_eu_source_exits_2_and_writes_nothing(
    us_emulator: NgcEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, eu_decision=False)
    assert result.code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "no EU source" in line
    assert all(way in line for way in ("--eu-proxy", "--eu-list", "--no-eu", "NIMGEN_EU_PROXY"))
    assert not out.exists() and us_emulator.requests == []


def test_no_eu_ships_with_a_warning_even_under_quiet(
    us_emulator: NgcEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, "--no-eu", "--quiet", "--json")
    assert result.code == 0, result.stderr
    assert result.stderr.startswith("warning: --no-eu: no EU facts")
    assert annotations(out)[EU_SOURCE] == "none"
    summary = json.loads(result.stdout)
    assert summary["euSource"] == "none" and summary["euRestricted"] == []
    assert any(w.startswith("--no-eu:") for w in summary["warnings"])
    both = nimgen("generate", us_emulator, tmp_path / "t", "--no-eu", "--eu-list", "x.json")
    assert both.code == 2 and "cannot be combined" in both.stderr


def test_render_of_a_snapshot_without_eu_facts_needs_a_decision(
    us_emulator: NgcEmulator, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    assert nimgen("fetch", us_emulator, snapshot, "--quiet").code == 0  # fetch needs none
    out = tmp_path / "tree"
    refused = run_nimgen("render", "--from", str(snapshot), "-o", str(out), eu_decision=False)
    assert refused.code == 2 and not out.exists()
    assert f"the snapshot {snapshot} carries no EU facts" in refused.stderr
    assert "--eu-list" in refused.stderr and "--no-eu" in refused.stderr
    opted_out = run_nimgen("render", "--from", str(snapshot), "-o", str(out), "--no-eu")
    assert opted_out.code == 0 and annotations(out)[EU_SOURCE] == "none"
    assert "warning: --no-eu" in opted_out.stderr
    # the built-in sample carries its EU facts: no option needed
    sample = run_nimgen("render", "-o", str(tmp_path / "sample"), eu_decision=False)
    assert sample.code == 0, sample.stderr
    assert annotations(tmp_path / "sample")[EU_SOURCE] == "sample 2026-02-19"


def test_a_stale_probe_file_warns_and_fails_only_under_fail(
    us_emulator: NgcEmulator, models: list[EmulatedModel], restricted: list[str], tmp_path: Path
) -> None:
    old = datetime.now(UTC) - timedelta(days=75)
    stale = probe_file(tmp_path / "stale.json", models, probed=old, api=us_emulator.url)
    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, "--eu-list", str(stale), "--json")
    assert result.code == 0, result.stderr
    assert "is 75 days old" in result.stderr and "--eu-max-age 30" in result.stderr
    assert any("75 days old" in w for w in json.loads(result.stdout)["warnings"])
    assert json.loads(result.stdout)["euRestricted"] == restricted
    first = tree_bytes(out)

    roomy = nimgen("generate", us_emulator, out, "--eu-list", str(stale), "--eu-max-age", "90")
    assert roomy.code == 0 and "days old" not in roomy.stderr
    assert tree_bytes(out) == first  # the age never changes the tree

    failed = nimgen(
        "generate", us_emulator, tmp_path / "f", "--eu-list", str(stale), "--eu-uncertain", "fail"
    )
    assert failed.code == 1 and "75 days old" in failed.stderr
    assert not (tmp_path / "f").exists()


def test_a_probe_file_of_another_ngc_api_warns(
    us_emulator: NgcEmulator, models: list[EmulatedModel], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    foreign = probe_file(tmp_path / "p.json", models, probed=now, api="https://api.ngc.nvidia.com")
    result = nimgen("generate", us_emulator, tmp_path / "tree", "--eu-list", str(foreign))
    assert result.code == 0, result.stderr
    assert (
        f"was probed against the NGC API https://api.ngc.nvidia.com, not this run's "
        f"{us_emulator.url}" in result.stderr
    )


def test_an_eu_proxy_password_with_url_delimiters_works_and_never_shows(
    us_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    password = "p#ss/w0rd?with@odd-chars"
    with ForwardProxy(username=PROXY_USER, password=password) as proxy:
        url = f"http://{PROXY_USER}:{password}@127.0.0.1:{proxy.port}"
        out = tmp_path / "tree"
        result = nimgen("generate", us_emulator, out, "--eu-proxy", url, "--json", "--verbose")
        assert result.code == 0, result.stderr
        wrong = nimgen(
            "generate", us_emulator, tmp_path / "w", "--eu-proxy", url.replace("#", "%"), "-q"
        )
    assert json.loads(result.stdout)["euRestricted"] == restricted
    assert annotations(out)[EU_SOURCE] == "inline-probe"
    assert wrong.code == 1
    for text in (result.output, wrong.output, *(b.decode() for b in tree_bytes(out).values())):
        assert PROXY_USER not in text and "p#ss" not in text and "w0rd" not in text


def test_proxy_option_sends_every_request_through_the_proxy(
    ngc_emulator: NgcEmulator, tmp_path: Path
) -> None:
    emu = ngc_emulator
    with ForwardProxy(username="corp", password="corp-Secret-9") as proxy:
        url = f"http://corp:corp-Secret-9@127.0.0.1:{proxy.port}"
        direct = run_nimgen("verify-key", "--ngc-api-url", emu.url, "--proxy", url, key=VALID_KEY)
        after_verify = proxy.requests
        env = clean_env(VALID_KEY, NIMGEN_PROXY=url)
        via_env = nimgen(
            "fetch", emu, tmp_path / "s.json", "--quiet", "--models", "llama-3.1-8b*", env=env
        )
        seen = proxy.requests
    assert direct.code == 0, direct.stderr
    assert via_env.code == 0, via_env.stderr
    assert after_verify >= 1
    assert seen - after_verify >= emu.count("model") + emu.count("catalog") >= 2
    assert "corp-Secret-9" not in direct.output + via_env.output


def test_render_checks_a_probe_file_against_the_snapshots_ngc_api(
    us_emulator: NgcEmulator, models: list[EmulatedModel], tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot.json"
    fetched = run_nimgen(
        "fetch", "--ngc-api-url", us_emulator.url, "--output", str(snapshot), *FAST, key=VALID_KEY
    )
    assert fetched.code == 0, fetched.stderr
    now = datetime.now(UTC)
    foreign = probe_file(tmp_path / "p.json", models, probed=now, api="https://api.ngc.nvidia.com")
    same = probe_file(tmp_path / "same.json", models, probed=now, api=us_emulator.url)

    def render(probe: Path, out: str, *extra: str) -> NimgenResult:
        inputs = ("--from", str(snapshot), "--output", str(tmp_path / out))
        return run_nimgen("render", *inputs, "--eu-list", str(probe), *extra)

    warned = render(foreign, "a")
    assert warned.code == 0, warned.stderr
    assert (
        f"was probed against the NGC API https://api.ngc.nvidia.com, not this run's "
        f"{us_emulator.url}" in warned.stderr
    )
    quiet = render(same, "b")
    assert quiet.code == 0 and "probed against" not in quiet.stderr
    failed = render(foreign, "c", "--eu-uncertain", "fail")
    assert failed.code == 1 and "probed against" in failed.stderr
    assert not (tmp_path / "c").exists()


def test_a_carried_eu_source_ships_as_its_kind_never_as_the_file_says(tmp_path: Path) -> None:
    # A snapshot's euFacts is text from a file: 300 KB of it, or a proxy URL, never ships.
    snapshot = json.loads(sample_path().read_text(encoding="utf-8"))
    for facts, shipped in (
        ("probe-file " + "a" * 300_000, "snapshot"),
        ("inline-probe via proxy http://eu-proxy.internal:3128", "inline-probe"),
        ("flat-list sha256:" + "1" * 64, "flat-list sha256:" + "1" * 64),
    ):
        snapshot["source"]["euFacts"] = facts
        path = tmp_path / "snapshot.json"
        path.write_text(json.dumps(snapshot), encoding="utf-8")
        out = tmp_path / "out"
        result = run_nimgen("render", "--from", str(path), "--output", str(out))
        assert result.code == 0, result.stderr
        assert annotations(out)[EU_SOURCE] == shipped
