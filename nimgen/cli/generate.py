"""``generate``, ``fetch``, ``render`` and ``verify-key``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from nimgen.cli import EXIT_CODES_HELP, app
from nimgen.cli.options import (
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
    run_reported,
)
from nimgen.reports import Reporter, RunReport

DEFAULT_API_URL = "https://api.ngc.nvidia.com"


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


def _client_settings(
    api_url: str,
    concurrency: int,
    request_timeout: float,
    max_attempts: int,
    deadline: float | None,
    ca_bundle: Path | None,
) -> object:
    from nimgen.sources.ngc import ClientSettings, check_api_url

    return ClientSettings(
        api_url=check_api_url(api_url),
        concurrency=concurrency,
        request_timeout=request_timeout,
        max_attempts=max_attempts,
        deadline=deadline,
        ca_bundle=ca_bundle,
    )


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
    max_attempts: MaxAttempts = 6,
    deadline: Deadline = None,
    ca_bundle: CaBundle = None,
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
    name_suffix: NameSuffixOption = NameSuffix.content,
    allow_partial: AllowPartial = False,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fetch the live NGC catalog and write the kustomize tree (fetch + render).

    Needs a personal NGC key (nvapi-...) in $NGC_API_KEY or --api-key-file. The
    key is validated first; a rejected key exits 4 and writes nothing.
    """
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="generate")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.apikey import load_api_key
        from nimgen.output import check_output_dir
        from nimgen.render.tree import TREE_FILES
        from nimgen.selection import build_selection
        from nimgen.sources.ngc import ClientSettings

        settings = _client_settings(
            api_url, concurrency, request_timeout, max_attempts, deadline, ca_bundle
        )
        assert isinstance(settings, ClientSettings)
        selection = build_selection(models, exclude, models_file)
        warnings: list[str] = []
        key = load_api_key(api_key_file, warn=warnings)
        assert key is not None
        for warning in warnings:
            reporter.warn(warning)
        check_output_dir(output.absolute(), TREE_FILES)
        _warn_fixed_name(reporter, name_suffix)
        collection = pipeline.collect_live(
            key, pipeline.LiveSettings(client=settings, selection=selection), reporter
        )
        pipeline.check_failures(collection, allow_partial, reporter)
        render_settings = pipeline.RenderSettings(versioned=name_suffix is NameSuffix.content)
        configmap, files = pipeline.render_models(collection.models, render_settings)
        pipeline.write_output_tree(output, files)
        pipeline.fill_report(report, collection, configmap)
        report.output = str(output)
        reporter.summary(report, "nimgen generate")

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
    max_attempts: MaxAttempts = 6,
    deadline: Deadline = None,
    ca_bundle: CaBundle = None,
    models: Models = None,
    exclude: Exclude = None,
    models_file: ModelsFile = None,
    allow_partial: AllowPartial = False,
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fetch the live NGC catalog into a versioned JSON snapshot (for render, airgap, diff)."""
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="fetch")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.apikey import load_api_key
        from nimgen.output import write_file
        from nimgen.selection import build_selection
        from nimgen.sources.ngc import ClientSettings
        from nimgen.sources.snapshot import snapshot_json

        settings = _client_settings(
            api_url, concurrency, request_timeout, max_attempts, deadline, ca_bundle
        )
        assert isinstance(settings, ClientSettings)
        selection = build_selection(models, exclude, models_file)
        warnings: list[str] = []
        key = load_api_key(api_key_file, warn=warnings)
        assert key is not None
        for warning in warnings:
            reporter.warn(warning)
        if output.is_dir():
            from nimgen.errors import BadInput

            raise BadInput(f"--output {output} is a directory; give a file name")
        collection = pipeline.collect_live(
            key, pipeline.LiveSettings(client=settings, selection=selection), reporter
        )
        pipeline.check_failures(collection, allow_partial, reporter)
        write_file(
            output,
            snapshot_json(
                collection.models, api_url=settings.api_url, fetched_at=collection.fetched_at
            ),
        )
        report.discovered = collection.discovered
        report.fetched = len(collection.models)
        report.skipped_by_selection = collection.skipped_by_selection
        report.left_out_no_tag = list(collection.no_tag)
        report.failed = [{"name": f.name, "reason": f.reason} for f in collection.failures]
        report.models = len(collection.models)
        report.output = str(output)
        reporter.summary(report, "nimgen fetch")

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
    json_output: JsonOutput = False,
    quiet: Quiet = False,
) -> None:
    """Render the kustomize tree offline, from a file (no key, no network)."""
    reporter = Reporter(quiet=quiet, json_output=json_output)
    report = RunReport(command="render")

    def body() -> None:
        from nimgen import pipeline
        from nimgen.output import check_output_dir
        from nimgen.render.tree import TREE_FILES
        from nimgen.selection import build_selection
        from nimgen.sources import NullProgress
        from nimgen.sources.snapshot import SAMPLE_DATE, SnapshotFileSource, sample_path

        source_path = from_path
        if source_path is None:
            source_path = sample_path()
            reporter.info(
                f"rendering the built-in sample snapshot (NIM catalog as of {SAMPLE_DATE}); "
                "use 'nimgen generate' for the live catalog"
            )
        selection = build_selection(models, exclude, models_file)
        check_output_dir(output.absolute(), TREE_FILES)
        _warn_fixed_name(reporter, name_suffix)
        collection = SnapshotFileSource(source_path).collect(selection, NullProgress())
        render_settings = pipeline.RenderSettings(versioned=name_suffix is NameSuffix.content)
        configmap, files = pipeline.render_models(collection.models, render_settings)
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
    max_attempts: MaxAttempts = 6,
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
        from nimgen.apikey import load_api_key
        from nimgen.sources.ngc import ClientSettings

        settings = _client_settings(api_url, 1, request_timeout, max_attempts, None, ca_bundle)
        assert isinstance(settings, ClientSettings)
        warnings: list[str] = []
        key = load_api_key(api_key_file, warn=warnings)
        assert key is not None
        for warning in warnings:
            reporter.warn(warning)
        pipeline.verify_key(key, settings, reporter)
        reporter.info("the key is valid")

    run_reported(reporter, report, body)
