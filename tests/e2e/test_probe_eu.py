"""``nimgen probe-eu`` end to end: the console script, a real forward proxy, the NGC emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.eu_setup import PROXY_PASSWORD, PROXY_USER
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator
from tests.support.nimgen_runner import clean_env, run_nimgen

FAST = ("--max-attempts", "2", "--request-timeout", "5")


def probe(emu: NgcEmulator, out: Path, *extra: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    where = ("--ngc-api-url", emu.url, "--output", str(out))
    return run_nimgen("probe-eu", *where, *FAST, *extra, key=VALID_KEY, env=env)


def without_time(path: Path) -> dict:  # type: ignore[type-arg]
    document = json.loads(path.read_text())
    assert isinstance(document.pop("probedAt"), str)
    return document  # type: ignore[no-any-return]


def test_probe_through_the_proxy_records_every_model(
    us_emulator: NgcEmulator,
    auth_proxy: ForwardProxy,
    models: list[EmulatedModel],
    restricted: list[str],
    tmp_path: Path,
) -> None:
    out = tmp_path / "eu-restricted.json"
    result = probe(us_emulator, out, "--eu-proxy", auth_proxy.url, "--json", "--verbose")
    assert result.code == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["kind"] == "NimgenEuProbe" and document["version"] == 1
    assert document["vantage"] == {
        "kind": "proxy",
        "proxy": f"http://***@127.0.0.1:{auth_proxy.port}",
        "apiUrl": us_emulator.url,
    }
    entries = {m["name"]: m for m in document["models"]}
    assert set(entries) == {m.name for m in models}
    assert sorted(n for n, m in entries.items() if m["status"] == "restricted") == restricted
    assert all(m["status"] in ("restricted", "available") for m in entries.values())
    assert all(m["attempts"] == 1 and "detail" not in m for m in entries.values())
    assert entries[restricted[0]]["resourceId"].endswith("/" + restricted[0])
    # Every request went through the proxy (it alone is "in the EU").
    assert auth_proxy.requests >= len(models) + 2
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["euRestricted"] == restricted
    assert summary["probed"] == len(models) and summary["euInconclusive"] == []
    assert ", ".join(restricted) in result.stderr
    assert "may not be in the EU" not in result.stderr
    # Credentials: never printed, never written.
    for text in (result.stdout, result.stderr, out.read_text()):
        assert PROXY_PASSWORD not in text
        assert f"{PROXY_USER}:" not in text
        assert VALID_KEY not in text
    assert "[eu-proxy] GET" in result.stderr


def test_probe_file_is_deterministic_apart_from_the_time(
    eu_emulator: NgcEmulator, tmp_path: Path
) -> None:
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    assert probe(eu_emulator, first).code == 0
    assert probe(eu_emulator, second).code == 0
    assert without_time(first) == without_time(second)
    assert without_time(first)["vantage"] == {"kind": "local", "apiUrl": eu_emulator.url}


def test_inconclusive_models_are_named_and_the_probe_succeeds(
    eu_emulator: NgcEmulator, models: list[EmulatedModel], tmp_path: Path
) -> None:
    flaky = next(m.name for m in models if not m.eu_restricted)
    eu_emulator.fault_model_forever(flaky, Fault.status(503))
    out = tmp_path / "probe.json"
    result = probe(eu_emulator, out, "--json")
    assert result.code == 0, result.stderr
    entry = next(m for m in json.loads(out.read_text())["models"] if m["name"] == flaky)
    assert entry["status"] == "inconclusive" and entry["attempts"] == 2
    assert entry["detail"] == "HTTP 503 Service Unavailable (gave up after 2 attempts)"
    assert eu_emulator.model_calls[flaky] == 2
    assert f"{flaky}: HTTP 503" in result.stderr and "1 inconclusive" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["euInconclusive"] == [{"name": flaky, "detail": entry["detail"], "attempts": 2}]


def test_a_vantage_without_451_warns_but_succeeds(us_emulator: NgcEmulator, tmp_path: Path) -> None:
    result = probe(us_emulator, tmp_path / "p.json", "--json")  # not through the proxy
    assert result.code == 0, result.stderr
    assert "the vantage may not be in the EU" in result.stderr
    assert any("may not be in the EU" in w for w in json.loads(result.stdout)["warnings"])
    statuses = {m["status"] for m in json.loads((tmp_path / "p.json").read_text())["models"]}
    assert statuses == {"available"}


def test_proxy_url_from_the_environment(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, restricted: list[str], tmp_path: Path
) -> None:
    env = clean_env(VALID_KEY, NIMGEN_EU_PROXY=auth_proxy.url)
    result = probe(us_emulator, tmp_path / "p.json", "--json", env=env)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["euRestricted"] == restricted
    assert PROXY_PASSWORD not in result.stdout + result.stderr


def test_wrong_proxy_password_fails_without_printing_it(
    us_emulator: NgcEmulator, auth_proxy: ForwardProxy, tmp_path: Path
) -> None:
    wrong = "Wr0ng-proxy-passw0rd"
    url = f"http://{PROXY_USER}:{wrong}@127.0.0.1:{auth_proxy.port}"
    out = tmp_path / "p.json"
    result = probe(us_emulator, out, "--eu-proxy", url, "--json", "--verbose")
    assert result.code == 1, result.stderr
    assert "proxy refused" in result.stderr and "407" in result.stderr
    assert wrong not in result.output and not out.exists()
    assert json.loads(result.stdout)["ok"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--eu-proxy", "ftp://user:secret-ftp-pw@host:21"), "not an http:// or https://"),
        (("--eu-proxy", "http://user:secret-port-pw@host:99999"), "the port is not a number"),
    ],
)
def test_bad_proxy_url_is_bad_input(
    us_emulator: NgcEmulator, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = probe(us_emulator, tmp_path / "p.json", *args)
    assert result.code == 2 and message in result.stderr
    assert "secret-" not in result.output
    assert us_emulator.count("catalog") == 0


def test_output_directory_is_refused(eu_emulator: NgcEmulator, tmp_path: Path) -> None:
    result = probe(eu_emulator, tmp_path)
    assert result.code == 2 and "is a directory" in result.stderr
    assert eu_emulator.count("model") == 0


def test_selection_limits_the_probe(
    eu_emulator: NgcEmulator, restricted: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "p.json"
    result = probe(eu_emulator, out, "--models", "llama-4-*")
    assert result.code == 0, result.stderr
    names = [m["name"] for m in json.loads(out.read_text())["models"]]
    assert names == [n for n in restricted if n.startswith("llama-4-")]
