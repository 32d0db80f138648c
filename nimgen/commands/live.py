"""The live phase of ``generate`` and ``fetch``: ``prepare`` checks all input before any
request (bad input exits 2); ``fetch_models`` collects the catalog and decides EU flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nimgen import aiorun
from nimgen.commands.common import (
    ModelChoice,
    NgcAccess,
    RunLog,
    eu_warnings_first,
    log_outcome,
    request_log,
)
from nimgen.commands.previous import Previous, reusable_records
from nimgen.commands.results import Reuse
from nimgen.errors import NimgenError, RunFailed
from nimgen.eu.proxy import ProxyUrl
from nimgen.eu.resolve import EuRequest, EuSource, check_eu_source, resolve_eu
from nimgen.eu.rule import EuOutcome
from nimgen.ngc.client import NgcClient, Throttle
from nimgen.ngc.collect import collect_catalog
from nimgen.ngc.jobs import Scope
from nimgen.ngc.policy import tls_for
from nimgen.selection import check_unmatched

if TYPE_CHECKING:
    from nimgen.apikey import ApiKey
    from nimgen.catalog import SnapshotModel
    from nimgen.collection import Collection
    from nimgen.ngc.settings import ClientSettings
    from nimgen.selection import Selection


@dataclass(frozen=True)
class LiveRequest:
    """What ``generate`` and ``fetch`` share: how to reach NGC, what to take, EU, reuse."""

    access: NgcAccess
    choice: ModelChoice
    eu: EuRequest
    previous: Path | None = None
    full: bool = False
    allow_partial: bool = False


@dataclass(frozen=True)
class Prepared:
    """A live run's inputs, every one checked before the first request."""

    request: LiveRequest
    settings: ClientSettings
    selection: Selection
    key: ApiKey
    eu: EuSource


@dataclass(frozen=True)
class Fetched:
    """The collected models with their EU flags decided, and what the run found."""

    collection: Collection
    eu: EuOutcome
    reuse: Reuse | None
    previous: Previous | None  # what --previous held, when it was read (not --full)


def prepare(request: LiveRequest, log: RunLog, *, eu_required: bool) -> Prepared:
    settings = request.access.client_settings()
    selection = request.choice.selection()
    key = request.access.load_key(log)
    eu = check_eu_source(request.eu, required=eu_required)
    return Prepared(request, settings, selection, key, eu)


@contextlib.contextmanager
def reporting(collection: Collection) -> Iterator[None]:
    """A failure past this point still reports what was collected (``--json``)."""
    try:
        yield
    except NimgenError as exc:
        if exc.collection is None:
            exc.collection = collection
        raise


def fetch_models(prepared: Prepared, log: RunLog, *, one_configmap: bool = False) -> Fetched:
    """``one_configmap`` (generate): stop once the models cannot fit in one ConfigMap."""
    request = prepared.request
    previous = reusable_records(request.previous, request.full, log, prepared.settings.api_url)
    reusable = dict(previous.by_id) if previous is not None else None
    collection = collect_live(prepared, reusable, log, one_configmap)
    with reporting(collection), eu_warnings_first(log):
        check_unmatched(collection.unmatched, "the catalog", log.warn)
        check_failures(collection, request.allow_partial, log)
        not_shipped = set(collection.no_tag) | {failure.name for failure in collection.failures}
        outcome = resolve_eu(
            collection.models,
            prepared.eu,
            request.eu,
            selection=prepared.selection,
            not_shipped=not_shipped,
            api_url=prepared.settings.api_url,
            now=datetime.now(UTC),
        )
    log_outcome(outcome, log)
    reuse = None
    if request.previous is not None and not request.full:
        reuse = Reuse(
            request.previous, collection.reused, len(collection.models) - collection.reused
        )
    return Fetched(
        collection=dataclasses.replace(collection, models=outcome.models),
        eu=outcome,
        reuse=reuse,
        previous=previous,
    )


def check_failures(collection: Collection, allow_partial: bool, log: RunLog) -> None:
    """Strict by default: any failed model fails the run, naming each one."""
    if not collection.failures:
        return
    lines = tuple(f"{failure.name}: {failure.reason}" for failure in collection.failures)
    if not allow_partial:
        raise RunFailed(
            f"{len(lines)} model(s) failed; nothing was written (--allow-partial ships the others)",
            details=lines,
        )
    log.warn(f"shipping without {len(lines)} failed model(s) (--allow-partial):")
    for line in lines:
        log.warn(f"  {line}")


def collect_live(
    prepared: Prepared,
    previous: dict[str, SnapshotModel] | None,
    log: RunLog,
    one_configmap: bool = False,
) -> Collection:
    """With an EU proxy each model is probed through it too (same throttle), and the key
    checked through it alongside, so a broken proxy fails early."""
    proxy = prepared.eu.proxy
    scope = Scope(selection=prepared.selection, previous=previous, one_configmap=one_configmap)

    async def run() -> Collection:
        throttle = Throttle(prepared.settings.concurrency)
        # One SSL context for both vantages: certifi and --ca-bundle are loaded once.
        tls = tls_for(prepared.settings, proxy.url if proxy else None)
        client = NgcClient(
            prepared.settings, prepared.key, throttle=throttle, tls=tls, log=request_log(log)
        )
        async with client:
            if proxy is None:
                return await collect_catalog(client, scope, log.progress("fetching models"))
            eu_client = NgcClient(
                dataclasses.replace(prepared.settings, proxy=proxy.url),
                prepared.key,
                throttle=throttle,
                tls=tls,
                log=request_log(log, "[eu-proxy] "),
            )
            async with eu_client:
                return await _collect_with_vantage_check(client, eu_client, scope, proxy, log)

    return aiorun.run(run())


async def _collect_with_vantage_check(
    client: NgcClient,
    eu_client: NgcClient,
    scope: Scope,
    proxy: ProxyUrl,
    log: RunLog,
) -> Collection:
    check = asyncio.create_task(eu_client.validate_key())
    collect = asyncio.create_task(
        collect_catalog(client, scope, log.progress("fetching models"), eu_client=eu_client)
    )
    try:
        await asyncio.wait({check, collect}, return_when=asyncio.FIRST_EXCEPTION)
        if collect.done():
            collect.result()  # a failure of the run itself is reported as such
        try:
            await check
        except NimgenError as exc:
            raise RunFailed(
                f"checking the key through the EU proxy {proxy.redacted} failed: {exc.message}"
            ) from None
        return await collect
    finally:
        for task in (check, collect):
            if not task.done():
                task.cancel()
        await asyncio.gather(check, collect, return_exceptions=True)
