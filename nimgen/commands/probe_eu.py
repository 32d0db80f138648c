"""``probe-eu``: each model's per-model call from an EU vantage, recorded in a probe file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen import aiorun
from nimgen.commands.common import ModelChoice, NgcAccess, RunLog, request_log
from nimgen.commands.results import ProbeResult
from nimgen.eu.probe_file import EuProbe, build_probe, probe_json
from nimgen.eu.proxy import ProxyUrl, check_proxy_url
from nimgen.ngc.client import NgcClient
from nimgen.ngc.collect import collect_catalog
from nimgen.ngc.jobs import Scope
from nimgen.report.probe import probe_notes
from nimgen.selection import check_unmatched
from nimgen.tree.write import check_output_file, write_file

if TYPE_CHECKING:
    from nimgen.apikey import ApiKey
    from nimgen.collection import Collection
    from nimgen.ngc.settings import ClientSettings
    from nimgen.selection import Selection


@dataclass(frozen=True)
class ProbeRequest:
    access: NgcAccess
    choice: ModelChoice
    output: Path
    eu_proxy: str | None = None


def probe_eu(request: ProbeRequest, log: RunLog) -> ProbeResult:
    """Probe from this machine (or ``--eu-proxy``) and write the probe file. Inconclusive
    models are named, not failed: ``generate --eu-list`` treats them under --eu-uncertain."""
    eu_proxy = check_proxy_url(request.eu_proxy) if request.eu_proxy else None
    settings, given_proxy = request.access.checked_settings()
    selection = request.choice.selection()
    key = request.access.load_key(log)
    check_output_file(request.output)  # a directory or an unwritable place: exit 2 first
    # The vantage is the EU proxy, else --proxy when one is given, else this machine.
    proxy = eu_proxy or given_proxy
    kind = "the EU proxy" if eu_proxy else "the proxy"
    vantage = f"{kind} {proxy.redacted}" if proxy else "this machine"
    log.info(f"probing the NIM catalog from {vantage}")
    probe, collection = run_probe(key, settings, selection, eu_proxy, proxy, log)
    check_unmatched(collection.unmatched, "the catalog", log.warn)
    write_file(request.output, probe_json(probe), result=True)
    result = ProbeResult(probe=probe, collection=collection, output=request.output, vantage=vantage)
    told = probe_notes(result)
    for line in told.info:
        log.info(line)
    for line in told.warnings:
        log.warn(line)
    return result


def run_probe(
    key: ApiKey,
    settings: ClientSettings,
    selection: Selection,
    eu_proxy: ProxyUrl | None,
    vantage_proxy: ProxyUrl | None,
    log: RunLog,
) -> tuple[EuProbe, Collection]:
    """Each selected model's per-model call from the vantage: key check, catalog and calls
    all through one client (this machine, or the proxy), as ``generate`` makes them."""
    scope = Scope(selection=selection, fetch_details=False)
    if eu_proxy is not None:
        settings = dataclasses.replace(settings, proxy=eu_proxy.url)
    requests = request_log(log, "[eu-proxy] " if eu_proxy else "")

    async def run() -> Collection:
        async with NgcClient(settings, key, log=requests) as client:
            progress = log.progress("probing models")
            return await collect_catalog(client, scope, progress, eu_client=client)

    collection = aiorun.run(run())
    probe = build_probe(
        collection.eu_statuses,
        collection.eu_attempts,
        probed_at=collection.fetched_at,
        api_url=settings.api_url,
        proxy=vantage_proxy,
    )
    return probe, collection
