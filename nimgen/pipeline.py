"""The library behind the commands: collect models, render, write, report.

The CLI parses options into the dataclasses here and calls one function per
command; everything it prints goes through the ``Reporter``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from nimgen.apikey import ApiKey
from nimgen.catalog import SnapshotModel
from nimgen.errors import RunFailed
from nimgen.render.configmap import MAX_OBJECT_BYTES, RenderedConfigMap, render_configmap
from nimgen.render.tree import TREE_FILES, render_tree
from nimgen.reports import Reporter, RichProgress, RunReport
from nimgen.selection import Selection
from nimgen.sources import Collection, NullProgress, ProgressHook
from nimgen.sources.limiter import AdaptiveLimiter
from nimgen.sources.ngc import ClientSettings, CollectOptions, NgcClient, collect_catalog


@dataclass(frozen=True)
class RenderSettings:
    versioned: bool = True
    allow_partial: bool = False


@dataclass(frozen=True)
class LiveSettings:
    client: ClientSettings
    selection: Selection = field(default_factory=Selection)
    previous: dict[str, SnapshotModel] | None = None


def progress_for(reporter: Reporter) -> ProgressHook:
    return RichProgress(reporter.stderr) if reporter.interactive else NullProgress()


def collect_live(key: ApiKey, settings: LiveSettings, reporter: Reporter) -> Collection:
    """Validate the key, discover the catalog and fetch the selected models."""

    async def run() -> Collection:
        limiter = AdaptiveLimiter(settings.client.concurrency)
        client = NgcClient(settings.client, key, limiter=limiter, log=reporter.request_line)
        async with client:
            options = CollectOptions(selection=settings.selection, previous=settings.previous)
            collection, _, _ = await collect_catalog(client, options, progress_for(reporter))
            return collection

    return asyncio.run(run())


def verify_key(key: ApiKey, settings: ClientSettings, reporter: Reporter) -> None:
    async def run() -> None:
        client = NgcClient(settings, key, limiter=AdaptiveLimiter(1), log=reporter.request_line)
        async with client:
            await client.validate_key()

    asyncio.run(run())


def check_failures(collection: Collection, allow_partial: bool, reporter: Reporter) -> None:
    """Strict by default: any failed model fails the run, naming each one."""
    if not collection.failures:
        return
    lines = tuple(f"{f.name}: {f.reason}" for f in collection.failures)
    if not allow_partial:
        raise RunFailed(
            f"{len(lines)} model(s) failed; nothing was written (--allow-partial ships the others)",
            details=lines,
        )
    reporter.warn(f"shipping without {len(lines)} failed model(s) (--allow-partial):")
    for line in lines:
        reporter.warn(f"  {line}")


def render_models(
    models: tuple[SnapshotModel, ...], settings: RenderSettings, *, eu_source: str = "none"
) -> tuple[RenderedConfigMap, dict[str, bytes]]:
    from nimgen.render.template import render_template

    names: dict[str, str] = {}
    for model in models:
        other = names.get(model.record.name)
        if other is not None:
            raise RunFailed(
                f"two catalog resources share the name {model.record.name!r} "
                f"({other} and {model.catalog.resourceId}); a ConfigMap key must be unique"
            )
        names[model.record.name] = model.catalog.resourceId
    configmap = render_configmap(
        (m.record for m in models), versioned=settings.versioned, eu_source=eu_source
    )
    if configmap.size_bytes >= MAX_OBJECT_BYTES:
        raise RunFailed(
            f"the ConfigMap would be {configmap.size_bytes:,} bytes, over the "
            f"{MAX_OBJECT_BYTES:,} bytes etcd accepts; narrow the models with --models/--exclude"
        )
    return configmap, render_tree(configmap, render_template())


def fill_report(report: RunReport, collection: Collection, configmap: RenderedConfigMap) -> None:
    report.discovered = collection.discovered
    report.fetched = len(collection.models) - collection.reused
    report.reused = collection.reused
    report.skipped_by_selection = collection.skipped_by_selection
    report.left_out_no_tag = list(collection.no_tag)
    report.failed = [{"name": f.name, "reason": f.reason} for f in collection.failures]
    report.models = configmap.model_count
    report.eu_restricted = sorted(m.record.name for m in collection.models if m.record.euRestricted)
    report.configmap = {
        "name": configmap.name,
        "digest": f"sha256:{configmap.digest}",
        "sizeBytes": configmap.size_bytes,
        "shareOfLimit": round(configmap.share_of_limit, 4),
    }


def write_output_tree(output: Path, files: dict[str, bytes]) -> None:
    from nimgen.output import write_tree

    write_tree(output, files, owned=TREE_FILES)
