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
from nimgen.diff import CatalogDiff, DiffSide, diff_models
from nimgen.errors import RunFailed
from nimgen.eu import ProxyUrl
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


@dataclass(frozen=True)
class LiveSettings:
    client: ClientSettings
    selection: Selection = field(default_factory=Selection)
    previous: dict[str, SnapshotModel] | None = None
    # Probe each model's EU status through this proxy, interleaved under the same limiter.
    eu_proxy: ProxyUrl | None = None


def progress_for(reporter: Reporter) -> ProgressHook:
    return RichProgress(reporter.stderr) if reporter.interactive else NullProgress()


def collect_live(key: ApiKey, settings: LiveSettings, reporter: Reporter) -> Collection:
    """Validate the key, discover the catalog and fetch the selected models.

    With ``settings.eu_proxy``, each model is also probed through the proxy (its
    ``eu`` status set), under the same limiter; the proxy is checked with a key
    validation through it, concurrently, so a broken proxy fails the run early.
    """

    async def run() -> Collection:
        limiter = AdaptiveLimiter(settings.client.concurrency)
        client = NgcClient(settings.client, key, limiter=limiter, log=reporter.request_line)
        async with client:
            if settings.eu_proxy is None:
                options = CollectOptions(selection=settings.selection, previous=settings.previous)
                collection, _, _ = await collect_catalog(client, options, progress_for(reporter))
                return collection
            eu_client = NgcClient(
                settings.client,
                key,
                limiter=limiter,
                log=lambda line: reporter.request_line(f"[eu-proxy] {line}"),
                proxy=settings.eu_proxy.url,
            )
            async with eu_client:
                options = CollectOptions(
                    selection=settings.selection, previous=settings.previous, eu_client=eu_client
                )
                return await _collect_with_vantage_check(
                    client, eu_client, options, settings.eu_proxy, reporter
                )

    return asyncio.run(run())


async def _collect_with_vantage_check(
    client: NgcClient,
    eu_client: NgcClient,
    options: CollectOptions,
    proxy: ProxyUrl,
    reporter: Reporter,
) -> Collection:
    from nimgen.errors import NimgenError

    check = asyncio.create_task(eu_client.validate_key())
    collect = asyncio.create_task(collect_catalog(client, options, progress_for(reporter)))
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
        collection, _, _ = await collect
        return collection
    finally:
        for task in (check, collect):
            if not task.done():
                task.cancel()
        await asyncio.gather(check, collect, return_exceptions=True)


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


def fill_collection_report(report: RunReport, collection: Collection) -> None:
    """What collecting found; filled before the strict check so a failed run's --json
    names the failed models too."""
    report.discovered = collection.discovered
    report.fetched = len(collection.models) - collection.reused
    report.reused = collection.reused
    report.skipped_by_selection = collection.skipped_by_selection
    report.left_out_no_tag = list(collection.no_tag)
    report.failed = [{"name": f.name, "reason": f.reason} for f in collection.failures]
    report.models = len(collection.models)


def fill_report(report: RunReport, collection: Collection, configmap: RenderedConfigMap) -> None:
    fill_collection_report(report, collection)
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


# -- incremental refresh (--previous) and drift check (--check) --------------------------


@dataclass(frozen=True)
class Previous:
    """The records of an earlier run that ``--previous`` may reuse, by resourceId."""

    path: Path
    kind: str  # "snapshot", "configmap" or "tree"
    by_id: dict[str, SnapshotModel]
    # How many carry the catalog facts (dateModified, latestTagPushedDate) reuse needs.
    with_facts: int


def load_previous(path: Path) -> Previous:
    """Read ``--previous`` (a snapshot, ConfigMap or tree) into reusable records.

    A reused record must equal what the per-model call would give, so its tags
    are put in canonical order and its EU flag is cleared: the flag belongs to
    this run (a fetched record starts with ``euRestricted: false`` too).
    """
    from nimgen.sources.snapshot import load_models

    loaded = load_models(path)
    by_id: dict[str, SnapshotModel] = {}
    with_facts = 0
    for model in loaded.models:
        record = model.record.canonical().model_copy(update={"euRestricted": False})
        by_id[model.catalog.resourceId] = model.model_copy(update={"record": record, "eu": None})
        facts = model.catalog
        if facts.dateModified is not None or facts.latestTagPushedDate is not None:
            with_facts += 1
    kind = "tree" if path.is_dir() else loaded.kind
    return Previous(path, kind, by_id, with_facts)


def tree_differences(output: Path, files: dict[str, bytes]) -> tuple[str, ...]:
    """The files of ``output`` that a write of ``files`` would change, add or remove."""
    differing: list[str] = []
    for relative, content in files.items():
        try:
            current = (output / relative).read_bytes()
        except OSError:
            differing.append(relative)
            continue
        if current != content:
            differing.append(relative)
    differing.extend(r for r in TREE_FILES - files.keys() if (output / r).is_file())
    return tuple(sorted(differing))


@dataclass(frozen=True)
class CheckResult:
    """``--check``: how the rendered result compares with the tree in ``--output``."""

    output: Path
    tree_exists: bool
    files: tuple[str, ...]  # files that differ, are missing, or would be removed
    diff: CatalogDiff | None  # None when the tree's ConfigMap could not be read
    unreadable: str | None = None

    @property
    def identical(self) -> bool:
        return self.tree_exists and not self.files


def check_tree(
    output: Path, files: dict[str, bytes], models: tuple[SnapshotModel, ...]
) -> CheckResult:
    """Compare the rendered ``files`` byte for byte with ``output``; reads, never writes."""
    from nimgen.errors import NimgenError
    from nimgen.sources.snapshot import load_models

    new_side = DiffSide("this run", "live", len(models))
    if not output.is_dir():
        diff = diff_models(
            (), models, old_side=DiffSide(str(output), "missing", 0), new_side=new_side
        )
        return CheckResult(output, False, tuple(sorted(files)), diff)
    differing = tree_differences(output, files)
    try:
        loaded = load_models(output)
    except NimgenError as exc:
        return CheckResult(output, True, differing, None, exc.message)
    old_side = DiffSide(str(output), "tree", len(loaded.models), loaded.configmap_name)
    diff = diff_models(loaded.models, models, old_side=old_side, new_side=new_side)
    return CheckResult(output, True, differing, diff)


def _names(names: tuple[str, ...] | list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... (+{len(names) - limit})" if len(names) > limit else "")


def check_lines(result: CheckResult) -> list[str]:
    """The short stderr summary of ``--check``."""
    if result.identical:
        models = result.diff.unchanged if result.diff is not None else 0
        return [f"check: {result.output} is up to date ({models} models); nothing written"]
    if not result.tree_exists:
        count = len(result.diff.added) if result.diff is not None else 0
        return [
            f"check: drift: no tree at {result.output} (a run would write it with "
            f"{count} models); nothing written"
        ]
    lines = [f"check: drift: {result.output} differs from this run; nothing written"]
    diff = result.diff
    if diff is None:
        lines.append(f"  its ConfigMap could not be read: {result.unreadable}")
    else:
        lines.append(f"  models: {diff.headline()}")
        if diff.added:
            lines.append(f"  added: {_names(diff.added_names)}")
        if diff.removed:
            lines.append(f"  removed: {_names(diff.removed_names)}")
        if diff.changed:
            described = [f"{c.name} ({', '.join(c.kinds)})" for c in diff.changed]
            lines.append(f"  changed: {_names(described)}")
    lines.append(f"  files: {', '.join(result.files)}")
    return lines


def check_json(result: CheckResult) -> dict[str, object]:
    """The ``check`` object of ``--json``."""
    diff = result.diff
    return {
        "identical": result.identical,
        "treeExists": result.tree_exists,
        "filesDiffer": list(result.files),
        "unreadable": result.unreadable,
        "added": list(diff.added_names) if diff else [],
        "removed": list(diff.removed_names) if diff else [],
        "changed": [{"name": c.name, "changes": list(c.kinds)} for c in diff.changed]
        if diff
        else [],
    }
