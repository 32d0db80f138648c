"""EU restrictions in ``generate``/``fetch``/``render``: --eu-proxy, --eu-list, --eu-uncertain.

The US build server is the emulator on 127.0.0.1; the real forward proxy dials it from
127.0.0.2, the address the emulator treats as "in the EU". A second emulator in EU mode
plays an EU runner for the probe-eu -> generate --eu-list flow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from nimgen.snapshot import sample_path
from tests.support.eu_setup import PROXY_PASSWORD, PROXY_USER
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator
from tests.support.nimgen_runner import NimgenResult, kustomize, run_nimgen, tree_bytes

FAST = ("--max-attempts", "2", "--request-timeout", "5")
EU_SOURCE = "opendatahub.io/nim-models-eu-source"


@pytest.fixture
def plain(models: list[EmulatedModel]) -> str:
    """A model that is available in the EU."""
    return next(m.name for m in models if not m.eu_restricted)


@pytest.fixture
def eu_only_503(us_emulator: NgcEmulator) -> Callable[[str], None]:
    """Make a model answer 503 forever to EU callers (127.0.0.2) only; others see it normally."""

    def fault(name: str) -> None:
        us_emulator.fault_model_eu_forever(name, Fault.status(503))

    return fault


def nimgen(command: str, server: NgcEmulator, out: Path, *extra: str) -> NimgenResult:
    return run_nimgen(
        command, "--ngc-api-url", server.url, "--output", str(out), *FAST, *extra, key=VALID_KEY
    )


def configmap(out: Path) -> dict[str, Any]:
    return yaml.safe_load((out / "base" / "nim-models-data.yaml").read_text())  # type: ignore[no-any-return]


def eu_flags(out: Path) -> dict[str, bool]:
    data = configmap(out)["data"]
    return {name: json.loads(value)["euRestricted"] for name, value in data.items()}


def flagged(out: Path) -> list[str]:
    return sorted(name for name, flag in eu_flags(out).items() if flag)


def write_probe(
    path: Path, entries: dict[str, tuple[str, str | None]], namespaces: dict[str, str]
) -> None:
    models = []
    for name, (status, detail) in sorted(entries.items()):
        entry: dict[str, Any] = {
            "name": name,
            "resourceId": f"{namespaces.get(name, 'nim/gone')}/{name}",
            "status": status,
            "attempts": 1,
        }
        if detail:
            entry["detail"] = detail
        models.append(entry)
    document = {
        "kind": "NimgenEuProbe",
        "version": 1,
        "probedAt": "2026-01-01T00:00:00Z",
        "vantage": {"kind": "local", "apiUrl": "https://api.ngc.nvidia.com"},
        "models": models,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# -- inline probe through the proxy ---------------------------------------------------


def test_generate_eu_proxy_flags_exactly_the_restricted_models(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    result = nimgen(
        "generate", us_emulator, out, "--eu-proxy", auth_proxy.url, "--json", "--verbose"
    )
    assert result.code == 0, result.stderr
    assert flagged(out) == restricted
    annotations = configmap(out)["metadata"]["annotations"]
    assert annotations[EU_SOURCE] == "inline-probe"  # no proxy host in what ships
    assert f":{auth_proxy.port}" not in "".join(p.read_text() for p in out.rglob("*.yaml"))
    summary = json.loads(result.stdout)
    assert summary["euRestricted"] == restricted and summary["euUncertain"] == []
    assert summary["euSource"] == annotations[EU_SOURCE]
    # The US client fetched every model directly, the probe went through the proxy.
    assert us_emulator.count("model") == 2 * len(eu_flags(out))
    assert sum(1 for method, *_ in auth_proxy.log if method == "GET") >= len(eu_flags(out))
    assert "[eu-proxy] GET" in result.stderr
    # The proxy's credentials appear nowhere.
    for text in (result.stdout, result.stderr, *(b.decode() for b in tree_bytes(out).values())):
        assert PROXY_PASSWORD not in text and f"{PROXY_USER}:" not in text
    docs = [d for d in yaml.safe_load_all(kustomize(out / "overlays" / "odh")) if d]
    assert {d["kind"] for d in docs} == {"ConfigMap", "Template"}


def test_eu_proxy_is_deterministic(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert nimgen("generate", us_emulator, first, "--eu-proxy", auth_proxy.url).code == 0
    assert nimgen("generate", us_emulator, second, "--eu-proxy", auth_proxy.url).code == 0
    assert tree_bytes(first) == tree_bytes(second)


def test_inconclusive_from_the_eu_under_each_policy(
    us_emulator: NgcEmulator,
    auth_proxy: ForwardProxy,
    eu_only_503: Callable[[str], None],
    restricted: list[str],
    plain: str,
    tmp_path: Path,
) -> None:
    eu_only_503(plain)

    default = nimgen(
        "generate", us_emulator, tmp_path / "r", "--eu-proxy", auth_proxy.url, "--json"
    )
    assert default.code == 0, default.stderr
    assert flagged(tmp_path / "r") == sorted([*restricted, plain])
    summary = json.loads(default.stdout)
    assert summary["euUncertain"] == [plain]
    assert summary["euUncertainReasons"] == {
        plain: "inconclusive: HTTP 503 Service Unavailable (gave up after 2 attempts)"
    }
    assert (
        "EU flag from uncertainty" in default.stderr and "--eu-uncertain restrict" in default.stderr
    )

    allow = nimgen(
        "generate",
        us_emulator,
        tmp_path / "a",
        "--eu-proxy",
        auth_proxy.url,
        "--eu-uncertain",
        "allow",
        "--json",
    )
    assert allow.code == 0, allow.stderr
    assert flagged(tmp_path / "a") == restricted
    assert json.loads(allow.stdout)["euUncertain"] == []
    assert f"{plain}: inconclusive" in allow.stderr and "--eu-uncertain allow" in allow.stderr

    fail = nimgen(
        "generate",
        us_emulator,
        tmp_path / "f",
        "--eu-proxy",
        auth_proxy.url,
        "--eu-uncertain",
        "fail",
        "--json",
    )
    assert fail.code == 1
    assert "--eu-uncertain fail" in fail.stderr and f"- {plain}: inconclusive" in fail.stderr
    assert json.loads(fail.stdout)["errorDetails"] == [
        f"{plain}: inconclusive: HTTP 503 Service Unavailable (gave up after 2 attempts)"
    ]
    assert not (tmp_path / "f").exists()


def test_wrong_proxy_credentials_fail_the_run(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, tmp_path: Path
) -> None:
    wrong = "Not-the-gen-passw0rd"
    url = f"http://{PROXY_USER}:{wrong}@127.0.0.1:{auth_proxy.port}"
    result = nimgen("generate", us_emulator, tmp_path / "t", "--eu-proxy", url)
    assert result.code == 1
    assert f"EU proxy http://***@127.0.0.1:{auth_proxy.port}" in result.stderr
    assert "407" in result.stderr and wrong not in result.output
    assert not (tmp_path / "t").exists()


def test_eu_list_and_eu_proxy_together_are_a_usage_error(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, fixtures_dir: Path, tmp_path: Path
) -> None:
    flat = fixtures_dir / "ngc" / "eu-restricted-2025.json"
    result = nimgen(
        "generate",
        us_emulator,
        tmp_path / "t",
        "--eu-list",
        str(flat),
        "--eu-proxy",
        auth_proxy.url,
    )
    assert result.code == 2 and "cannot be combined" in result.stderr
    assert PROXY_PASSWORD not in result.output
    assert us_emulator.count("catalog") == 0


# -- probe-eu on an EU runner, then generate --eu-list -----------------------------------


def test_probe_on_eu_runner_then_generate_eu_list(
    us_emulator: NgcEmulator, eu_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    probe_file = tmp_path / "eu-restricted.json"
    probed = nimgen("probe-eu", eu_emulator, probe_file)
    assert probed.code == 0, probed.stderr
    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, "--eu-list", str(probe_file), "--json")
    assert result.code == 0, result.stderr
    assert flagged(out) == restricted
    digest = hashlib.sha256(probe_file.read_bytes()).hexdigest()
    probed_at = json.loads(probe_file.read_text())["probedAt"]
    assert (
        configmap(out)["metadata"]["annotations"][EU_SOURCE]
        == f"probe-file probed {probed_at} sha256:{digest}"
    )
    summary = json.loads(result.stdout)
    assert summary["euRestricted"] == restricted
    # The EU runner here is another emulator, so the probe file names another NGC API URL.
    assert summary["warnings"] == [
        f"the EU probe file {probe_file} was probed against the NGC API {eu_emulator.url}, "
        f"not this run's {us_emulator.url}: its statuses may describe another catalog"
    ]
    assert us_emulator.count("model") == len(eu_flags(out))  # no probe from the US host

    # fetch records the statuses; render --from the snapshot ships the same tree.
    snapshot = tmp_path / "snap.json"
    fetched = nimgen("fetch", us_emulator, snapshot, "--eu-list", str(probe_file))
    assert fetched.code == 0, fetched.stderr
    document = json.loads(snapshot.read_text())
    assert document["source"]["euFacts"] == f"probe-file probed {probed_at} sha256:{digest}"
    statuses = {m["record"]["name"]: m["eu"]["status"] for m in document["models"]}
    assert sorted(n for n, s in statuses.items() if s == "restricted") == restricted
    rendered = tmp_path / "rendered"
    assert run_nimgen("render", "--from", str(snapshot), "--output", str(rendered)).code == 0
    assert tree_bytes(rendered) == tree_bytes(out)


def test_inconclusive_in_a_probe_file_follows_the_policy_in_fetch_and_render(
    us_emulator: NgcEmulator,
    eu_emulator: NgcEmulator,
    restricted: list[str],
    plain: str,
    tmp_path: Path,
) -> None:
    eu_emulator.fault_model_forever(plain, Fault.status(503))
    probe_file = tmp_path / "probe.json"
    assert nimgen("probe-eu", eu_emulator, probe_file).code == 0

    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, "--eu-list", str(probe_file), "--json")
    assert result.code == 0, result.stderr
    assert flagged(out) == sorted([*restricted, plain])
    assert json.loads(result.stdout)["euUncertain"] == [plain]

    snapshot = tmp_path / "snap.json"
    fetched = nimgen(
        "fetch", us_emulator, snapshot, "--eu-list", str(probe_file), "--eu-uncertain", "allow"
    )
    assert fetched.code == 0, fetched.stderr
    entry = next(
        m for m in json.loads(snapshot.read_text())["models"] if m["record"]["name"] == plain
    )
    assert entry["eu"]["status"] == "inconclusive" and entry["record"]["euRestricted"] is False

    # render re-applies the policy from the snapshot's statuses
    strict = run_nimgen(
        "render", "--from", str(snapshot), "--output", str(tmp_path / "r"), "--json"
    )
    assert strict.code == 0, strict.stderr
    assert flagged(tmp_path / "r") == sorted([*restricted, plain])
    assert json.loads(strict.stdout)["euUncertain"] == [plain]
    failing = run_nimgen(
        "render", "--from", str(snapshot), "--output", str(tmp_path / "f"), "--eu-uncertain", "fail"
    )
    assert failing.code == 1 and f"{plain}: inconclusive" in failing.stderr
    assert not (tmp_path / "f").exists()
    failing_fetch = nimgen(
        "fetch",
        us_emulator,
        tmp_path / "s2.json",
        "--eu-list",
        str(probe_file),
        "--eu-uncertain",
        "fail",
    )
    assert failing_fetch.code == 1 and not (tmp_path / "s2.json").exists()


# -- the flat legacy list, a stale list -----------------------------------------------------


def test_flat_legacy_list(
    us_emulator: NgcEmulator, fixtures_dir: Path, restricted: list[str], tmp_path: Path
) -> None:
    flat = fixtures_dir / "ngc" / "eu-restricted-2025.json"
    out = tmp_path / "tree"
    result = nimgen(
        "generate", us_emulator, out, "--eu-list", str(flat), "--eu-uncertain", "fail", "--json"
    )
    assert result.code == 0, result.stderr
    assert flagged(out) == restricted
    digest = hashlib.sha256(flat.read_bytes()).hexdigest()
    assert configmap(out)["metadata"]["annotations"][EU_SOURCE] == f"flat-list sha256:{digest}"
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 1 and "records no probe coverage" in warnings[0]
    assert result.stderr.count("records no probe coverage") == 1


def test_stale_list_names_the_models_and_never_crashes(
    us_emulator: NgcEmulator, models: list[EmulatedModel], restricted: list[str], tmp_path: Path
) -> None:
    namespaces = {m.name: m.namespace for m in models}
    unmentioned = sorted(m.name for m in models if not m.eu_restricted)[-2:]
    entries: dict[str, tuple[str, str | None]] = {
        m.name: ("restricted" if m.eu_restricted else "available", None)
        for m in models
        if m.name not in unmentioned
    }
    entries["retired-model-a"] = ("restricted", None)
    entries["retired-model-b"] = ("available", None)
    probe_file = tmp_path / "stale.json"
    write_probe(probe_file, entries, namespaces)
    out = tmp_path / "tree"
    result = nimgen("generate", us_emulator, out, "--eu-list", str(probe_file), "--json")
    assert result.code == 0, result.stderr
    warnings = "\n".join(json.loads(result.stdout)["warnings"])
    assert "2 model(s) not in the catalog" in warnings
    assert "retired-model-a, retired-model-b" in warnings
    uncertain = ", ".join(unmentioned)
    assert f"does not mention 2 catalog model(s), so their EU status is uncertain: {uncertain}" in (
        warnings
    )
    assert flagged(out) == sorted([*restricted, *unmentioned])
    assert json.loads(result.stdout)["euUncertain"] == unmentioned

    allowed = nimgen(
        "generate",
        us_emulator,
        tmp_path / "allowed",
        "--eu-list",
        str(probe_file),
        "--eu-uncertain",
        "allow",
    )
    assert allowed.code == 0 and flagged(tmp_path / "allowed") == restricted


def test_bad_eu_list_is_bad_input(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"hello": 1}')
    result = nimgen("generate", us_emulator, tmp_path / "t", "--eu-list", str(bogus))
    assert result.code == 2 and "neither a nimgen EU probe file" in result.stderr
    assert us_emulator.count("catalog") == 0


# -- render ---------------------------------------------------------------------------------


def test_render_sample_applies_its_eu_statuses(tmp_path: Path) -> None:
    out = tmp_path / "tree"
    result = run_nimgen("render", "--output", str(out), "--json")
    assert result.code == 0, result.stderr
    sample = json.loads(sample_path().read_text())
    expected = sorted(
        m["record"]["name"] for m in sample["models"] if m["eu"]["status"] == "restricted"
    )
    assert len(expected) == 4 and flagged(out) == expected
    annotations = configmap(out)["metadata"]["annotations"]
    assert annotations[EU_SOURCE] == sample["source"]["euFacts"]
    assert json.loads(result.stdout)["euRestricted"] == expected

    # and re-rendering that tree (a ConfigMap input) keeps flags and source
    again = tmp_path / "again"
    assert run_nimgen("render", "--from", str(out), "--output", str(again)).code == 0
    assert tree_bytes(again) == tree_bytes(out)


def test_render_eu_list_replaces_the_snapshot_statuses(tmp_path: Path) -> None:
    sample = json.loads(sample_path().read_text())
    namespaces = {m["record"]["name"]: m["record"]["namespace"] for m in sample["models"]}
    probe_file = tmp_path / "probe.json"
    write_probe(
        probe_file,
        {
            name: ("restricted" if name == "llama-3.1-8b-instruct" else "available", None)
            for name in namespaces
        },
        namespaces,
    )
    out = tmp_path / "tree"
    result = run_nimgen("render", "--output", str(out), "--eu-list", str(probe_file))
    assert result.code == 0, result.stderr
    assert flagged(out) == ["llama-3.1-8b-instruct"]
    assert configmap(out)["metadata"]["annotations"][EU_SOURCE].startswith("probe-file probed ")
