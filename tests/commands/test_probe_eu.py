"""``nimgen.commands.probe_eu.run_probe`` through the real forward proxy."""

from __future__ import annotations

from pathlib import Path

from nimgen.apikey import ApiKey
from nimgen.commands.probe_eu import run_probe
from nimgen.eu.proxy import check_proxy_url
from nimgen.ngc.settings import ClientSettings
from nimgen.report.console import Console
from nimgen.selection import Selection
from tests.support.http_proxy import ForwardProxy
from tests.support.ngc_emulator import VALID_KEY, EmulatedModel, Fault, NgcEmulator


def test_run_probe_through_the_proxy(
    ngc_models: list[EmulatedModel], fixtures_dir: Path, forward_proxy: ForwardProxy
) -> None:
    chosen = [m for m in ngc_models if m.eu_restricted] + ngc_models[:6]
    proxy = check_proxy_url(forward_proxy.url)
    with NgcEmulator(chosen, fixtures_dir=fixtures_dir, eu_addresses={"127.0.0.2"}) as emu:
        emu.fault_model_forever(ngc_models[0].name, Fault.status(404))
        settings = ClientSettings(api_url=emu.url, max_attempts=2, backoff_first=0.01)
        probe, collection = run_probe(
            ApiKey(VALID_KEY), settings, Selection(), proxy, proxy, Console(quiet=True)
        )
    statuses = {m.name: m.status for m in probe.models}
    assert {n for n, s in statuses.items() if s == "restricted"} == {
        m.name for m in chosen if m.eu_restricted
    }
    assert statuses[ngc_models[0].name] == "inconclusive"
    detail = next(m.detail for m in probe.models if m.name == ngc_models[0].name)
    assert detail == "HTTP 404 Not Found"
    assert probe.vantage.kind == "proxy" and probe.vantage.apiUrl == emu.url
    assert forward_proxy.requests > 0
    assert collection.discovered == len(chosen)
