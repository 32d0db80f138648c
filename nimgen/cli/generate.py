"""``generate``, ``fetch``, ``render`` and ``verify-key``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.options import (
    DEFAULT_API_URL,
    DEFAULT_MAX_ATTEMPTS,
    ApiKeyFile,
    ApiUrl,
    CaBundle,
    Concurrency,
    Deadline,
    Exclude,
    JsonOutput,
    MaxAttempts,
    Models,
    ModelsFile,
    Quiet,
    RequestTimeout,
    Verbose,
    client_settings,
    load_key,
    run_reported,
    selection_of,
)
from nimgen.cli.probe import (
    EuList,
    EuProxy,
    EuUncertain,
    EuUncertainPolicy,
    RenderEuList,
    RenderEuUncertain,
    apply_eu_live,
    apply_eu_render,
    eu_inputs,
)
from nimgen.reports import Reporter, RunReport

if TYPE_CHECKING:
    from nimgen.apikey import ApiKey
    from nimgen.catalog import SnapshotModel
    from nimgen.cli.probe import EuInputs
    from nimgen.pipeline import LiveSettings
    from nimgen.sources import Collection


class NameSuffix(StrEnum):
    content = "content"
    none = "none"


OutputDir = Annotated[
    Path,
    typer.Option("--output", "-o", help="Directory of the kustomize tree (replaced atomically)."),
]
NameSuffixOption = Annotated[
    NameSuffix,
    typer.Option(
        "--name-suffix",
        help="'content': name the ConfigMap nim-models-data-<digest> (upgradeable); "
        "'none': plain nim-models-data (an immutable ConfigMap under a fixed name "
        "cannot be upgraded in place).",
    ),
]
AllowPartial = Annotated[
    bool,
    typer.Option(
        "--allow-partial", help="Ship without models that failed, listing them, instead of failing."
    ),
]
CheckOption = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Do the whole run but write nothing: compare the result byte for byte with the "
        "tree in --output; exit 0 when identical, 3 when it differs or is missing, with a "
        "summary of the models added, removed and changed.",
    ),
]
PreviousOption = Annotated[
    Path | None,
    typer.Option(
        "--previous",
        help="Incremental refresh: reuse this earlier result's record for every model whose "
        "catalog entry (latestTag, dateModified, latestTagPushedDate) is unchanged, and "
        "fetch only the others. Give a snapshot from 'nimgen fetch'; a ConfigMap or tree is "
        "accepted but lacks those catalog facts, so every model is fetched.",
    ),
]
FullOption = Annotated[bool, typer.Option("--full", help="Fetch every model, ignoring --previous.")]


def _load_previous(
    reporter: Reporter, previous: Path | None, full: bool
) -> dict[str, SnapshotModel] | None:
    """The records ``--previous`` offers for reuse, or None (none given, or --full)."""
    if previous is None:
        return None
    if full:
        reporter.info(f"--full: fetching every model; --previous {previous} is ignored")
        return None
    from nimgen import pipeline

    loaded = pipeline.load_previous(previous)
    if loaded.by_id and not loaded.with_facts:
        reporter.warn(
            f"--previous {previous} is a {loaded.kind} without the catalog facts "
            "(dateModified, latestTagPushedDate) that reuse needs, so every model is "
            "fetched; give a snapshot from 'nimgen fetch' to reuse records"
        )
    return dict(loaded.by_id)


def _collect_live(
    reporter: Reporter,
    report: RunReport,
    settings: LiveSettings,
    key: ApiKey,
    eu_in: EuInputs,
    eu_uncertain: EuUncertainPolicy,
    allow_partial: bool,
) -> tuple[Collection, str]:
    """The live part of generate and fetch: collect, apply the strict rule, then EU facts.

    Returns the collection and the EU source for the ConfigMap annotation.
    """
    from nimgen import pipeline

    collection = pipeline.collect_live(key, settings, reporter)
    pipeline.fill_collection_report(report, collection)
    pipeline.check_failures(collection, allow_partial, reporter)
    return apply_eu_live(collection, eu_in, eu_uncertain, settings.selection, reporter, report)


def _report_reuse(reporter: Reporter, previous: Path | None, total: int, reused: int) -> None:
    if previous is not None:
        reporter.info(f"--previous {previous}: reused {reused} record(s), fetched {total - reused}")


def _warn_fixed_name(reporter: Reporter, suffix: NameSuffix) -> None:
    if suffix is NameSuffix.none:
        reporter.warn(
            "--name-suffix none: the ConfigMap is immutable under a fixed name, so a later "
            "catalog change cannot be applied in place (delete and re-create it instead)"
        )


@app.command(epilog=EXIT_CODES_HELP)
def generate(
    output: OutputDir = Path("config/nim"),
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key_file: ApiKeyFile = None,
    concurrency: Concurrency = 32,
    request_timeout: RequestTimeout = 30.0,
    max_attempts: MaxAttempts = DEFAULT_MAX_ATTEMPTS,
    deadline: Deadline = None,
    ca_bundle: CaBundle = None,
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
    name_suffix: NameSuffixOption = NameSuffix.content,
    allow_partial: AllowPartial = False,
    check: CheckOption = False,
    previous: PreviousOption = None,
    full: FullOption = False,
    eu_list: EuList = None,
    eu_proxy: EuProxy = None,
    eu_uncertain: EuUncertain = EuUncertainPolicy.restrict,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fetch the live NGC catalog and write the kustomize tree (fetch + render).

    Needs a personal NGC key (nvapi-...) in $NGC_API_KEY or --api-key-file. The
    key is validated first; a rejected key exits 4 and writes nothing. With
    --check nothing is written: exit 0 when --output is up to date, 3 when not.
    """
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="generate")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.errors import ExitCode
        from nimgen.output import check_output_dir
        from nimgen.render.tree import TREE_FILES

        settings = client_settings(
            api_url,
            concurrency=concurrency,
            request_timeout=request_timeout,
            max_attempts=max_attempts,
            deadline=deadline,
            ca_bundle=ca_bundle,
        )
        selection = selection_of(models, exclude, models_file)
        key = load_key(reporter, api_key_file)
        check_output_dir(output.absolute(), TREE_FILES, writable=not check)
        _warn_fixed_name(reporter, name_suffix)
        eu_in = eu_inputs(eu_list, eu_proxy)
        reusable = _load_previous(reporter, previous, full)
        collection, eu_source = _collect_live(
            reporter,
            report,
            pipeline.LiveSettings(
                client=settings, selection=selection, previous=reusable, eu_proxy=eu_in.proxy
            ),
            key,
            eu_in,
            eu_uncertain,
            allow_partial,
        )
        render_settings = pipeline.RenderSettings(versioned=name_suffix is NameSuffix.content)
        configmap, files = pipeline.render_models(
            collection.models, render_settings, eu_source=eu_source
        )
        result = pipeline.check_tree(output, files, collection.models) if check else None
        if result is None:
            pipeline.write_output_tree(output, files)
        else:
            report.extra["check"] = pipeline.check_json(result)
            if not result.identical:
                report.exit_code = int(ExitCode.DRIFT)
        pipeline.fill_report(report, collection, configmap)
        report.output = str(output)
        reporter.summary(report, "nimgen generate --check" if check else "nimgen generate")
        _report_reuse(
            reporter, None if full else previous, len(collection.models), collection.reused
        )
        if result is not None:
            for line in pipeline.check_lines(result):
                reporter.info(line)

    run_reported(reporter, report, body)


@app.command(epilog=EXIT_CODES_HELP)
def fetch(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Snapshot file to write (JSON).")
    ] = Path("nim-snapshot.json"),
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key_file: ApiKeyFile = None,
    concurrency: Concurrency = 32,
    request_timeout: RequestTimeout = 30.0,
    max_attempts: MaxAttempts = DEFAULT_MAX_ATTEMPTS,
    deadline: Deadline = None,
    ca_bundle: CaBundle = None,
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
    allow_partial: AllowPartial = False,
    previous: PreviousOption = None,
    full: FullOption = False,
    eu_list: EuList = None,
    eu_proxy: EuProxy = None,
    eu_uncertain: EuUncertain = EuUncertainPolicy.restrict,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fetch the live NGC catalog into a versioned JSON snapshot (for render, airgap, diff).

    The snapshot keeps each model's catalog facts, so it can be a later run's
    --previous: 'fetch --previous FILE --output FILE' refreshes it in place,
    fetching only the models whose catalog entry changed.
    """
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="fetch")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.output import check_output_file, write_file
        from nimgen.sources.snapshot import snapshot_json

        settings = client_settings(
            api_url,
            concurrency=concurrency,
            request_timeout=request_timeout,
            max_attempts=max_attempts,
            deadline=deadline,
            ca_bundle=ca_bundle,
        )
        selection = selection_of(models, exclude, models_file)
        key = load_key(reporter, api_key_file)
        check_output_file(output)  # a directory or an unwritable place: exit 2 before any request
        eu_in = eu_inputs(eu_list, eu_proxy)
        reusable = _load_previous(reporter, previous, full)
        collection, eu_source = _collect_live(
            reporter,
            report,
            pipeline.LiveSettings(
                client=settings, selection=selection, previous=reusable, eu_proxy=eu_in.proxy
            ),
            key,
            eu_in,
            eu_uncertain,
            allow_partial,
        )
        write_file(
            output,
            snapshot_json(
                collection.models,
                api_url=settings.api_url,
                fetched_at=collection.fetched_at,
                eu_facts=eu_source,
            ),
        )
        report.output = str(output)
        reporter.summary(report, "nimgen fetch")
        _report_reuse(
            reporter, None if full else previous, len(collection.models), collection.reused
        )

    run_reported(reporter, report, body)


@app.command(epilog=EXIT_CODES_HELP)
def render(
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A snapshot from 'nimgen fetch', a nim-models-data ConfigMap, or an output "
            "tree. Default: the built-in sample snapshot of the NIM catalog as of 2026-02-19 "
            "(186 models), which is only a sample: use 'generate' for the live catalog.",
        ),
    ] = None,
    output: OutputDir = Path("config/nim"),
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
    name_suffix: NameSuffixOption = NameSuffix.content,
    eu_list: RenderEuList = None,
    eu_uncertain: RenderEuUncertain = EuUncertainPolicy.restrict,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Render the kustomize tree offline, from a file (no key, no network).

    A snapshot's EU statuses are applied (inconclusive or missing ones under
    --eu-uncertain); --eu-list replaces them with a probe file's.
    """
    reporter = Reporter(quiet=quiet, json_output=json_output)
    report = RunReport(command="render")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.output import check_output_dir
        from nimgen.render.tree import TREE_FILES
        from nimgen.sources import NullProgress
        from nimgen.sources.snapshot import SAMPLE_DATE, SnapshotFileSource, sample_path

        source_path = from_path
        if source_path is None:
            source_path = sample_path()
            reporter.info(
                f"rendering the built-in sample snapshot (NIM catalog as of {SAMPLE_DATE}); "
                "use 'nimgen generate' for the live catalog"
            )
        selection = selection_of(models, exclude, models_file)
        check_output_dir(output.absolute(), TREE_FILES)
        _warn_fixed_name(reporter, name_suffix)
        eu_in = eu_inputs(eu_list, None)
        source = SnapshotFileSource(source_path)
        collection = source.collect(selection, NullProgress())
        collection, eu_source = apply_eu_render(
            collection, source.loaded, eu_in, eu_uncertain, selection, reporter, report
        )
        render_settings = pipeline.RenderSettings(versioned=name_suffix is NameSuffix.content)
        configmap, files = pipeline.render_models(
            collection.models, render_settings, eu_source=eu_source
        )
        pipeline.write_output_tree(output, files)
        pipeline.fill_report(report, collection, configmap)
        report.discovered = None
        report.fetched = None
        report.output = str(output)
        reporter.summary(report, "nimgen render")

    run_reported(reporter, report, body)


@app.command("verify-key", epilog=EXIT_CODES_HELP)
def verify_key(
    api_url: ApiUrl = DEFAULT_API_URL,
    api_key_file: ApiKeyFile = None,
    request_timeout: RequestTimeout = 30.0,
    max_attempts: MaxAttempts = DEFAULT_MAX_ATTEMPTS,
    ca_bundle: CaBundle = None,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Check that NGC accepts the key: exit 0 valid, 4 rejected."""
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="verify-key")

    def body() -> None:
        from nimgen import pipeline

        settings = client_settings(
            api_url, request_timeout=request_timeout, max_attempts=max_attempts, ca_bundle=ca_bundle
        )
        key = load_key(reporter, api_key_file)
        pipeline.verify_key(key, settings, reporter)
        reporter.info("the key is valid")

    run_reported(reporter, report, body)
