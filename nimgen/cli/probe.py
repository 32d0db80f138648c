"""``probe-eu``, the EU options shared with ``generate``/``fetch``/``render``, and their glue."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
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
from nimgen.reports import Reporter, RunReport

if TYPE_CHECKING:
    from nimgen.eu import EuFacts, EuOutcome, ProxyUrl
    from nimgen.selection import Selection
    from nimgen.sources import Collection
    from nimgen.sources.snapshot import Loaded

EU_PROXY_ENV = "NIMGEN_EU_PROXY"


class EuUncertainPolicy(StrEnum):
    restrict = "restrict"
    allow = "allow"
    fail = "fail"


EuList = Annotated[
    Path | None,
    typer.Option(
        "--eu-list",
        dir_okay=False,
        help="Mark EU-restricted models from this file: a probe file from 'nimgen probe-eu' "
        "(451 = restricted, 200 = available, else inconclusive), or the flat list "
        "[{name, resourceId, org, team}] older tooling wrote (listed = restricted, "
        "absent = available). Not with --eu-proxy.",
    ),
]
EuProxy = Annotated[
    str | None,
    typer.Option(
        "--eu-proxy",
        envvar=EU_PROXY_ENV,
        help="Probe every model's EU status in the same run through this HTTP(S) proxy in "
        "the EU (http[s]://[user:password@]host:port), interleaved with the tag fetches "
        f"under --concurrency. Credentials are never printed; pass the URL in ${EU_PROXY_ENV} "
        "to keep them out of process listings. Not with --eu-list.",
        show_default=False,
    ),
]
EuUncertain = Annotated[
    EuUncertainPolicy,
    typer.Option(
        "--eu-uncertain",
        help="For a model whose EU status is inconclusive, or that a nimgen probe file does "
        "not mention: 'restrict' ships it euRestricted: true, 'allow' ships it false, 'fail' "
        "fails the run (exit 1) naming it. Each is named in the summary and --json.",
    ),
]
RenderEuList = Annotated[
    Path | None,
    typer.Option(
        "--eu-list",
        dir_okay=False,
        help="Mark EU-restricted models from this probe file (or flat list) instead of the "
        "EU statuses the --from snapshot carries.",
    ),
]
RenderEuUncertain = Annotated[
    EuUncertainPolicy,
    typer.Option(
        "--eu-uncertain",
        help="For a model whose EU status (from --eu-list or a snapshot's statuses) is "
        "inconclusive or missing: 'restrict' ships it euRestricted: true, 'allow' false, "
        "'fail' fails the run (exit 1). A ConfigMap input keeps its euRestricted values.",
    ),
]
ProbeProxy = Annotated[
    str | None,
    typer.Option(
        "--eu-proxy",
        envvar=EU_PROXY_ENV,
        help="Probe through this HTTP(S) proxy in the EU (http[s]://[user:password@]host:port) "
        "instead of from this machine. Credentials are never printed or written; pass the "
        f"URL in ${EU_PROXY_ENV} to keep them out of process listings.",
        show_default=False,
    ),
]


# -- glue for generate / fetch / render ------------------------------------------


@dataclass(frozen=True)
class EuInputs:
    """The EU options of a run, checked before any network or file output."""

    facts: EuFacts | None = None
    proxy: ProxyUrl | None = None


def eu_inputs(eu_list: Path | None, eu_proxy: str | None) -> EuInputs:
    """Check the EU options: at most one source; the proxy's credentials become secrets."""
    from nimgen.errors import BadInput

    if eu_list is not None and eu_proxy:
        raise BadInput(
            f"--eu-list and --eu-proxy (or ${EU_PROXY_ENV}) cannot be combined: "
            "give one source of EU facts"
        )
    if eu_proxy:
        from nimgen.eu import check_proxy_url

        return EuInputs(proxy=check_proxy_url(eu_proxy))
    if eu_list is not None:
        from nimgen.eu import load_eu_list

        return EuInputs(facts=load_eu_list(eu_list))
    return EuInputs()


def _decide(reporter: Reporter, decide: Callable[[], EuOutcome]) -> EuOutcome:
    from nimgen.eu import UncertainEuStatus

    try:
        return decide()
    except UncertainEuStatus as exc:
        for warning in exc.warnings:
            reporter.warn(warning)
        raise


def _record(outcome: EuOutcome, reporter: Reporter, report: RunReport) -> None:
    for warning in outcome.warnings:
        reporter.warn(warning)
    report.eu_restricted = list(outcome.restricted)
    report.eu_uncertain = list(outcome.flagged_uncertain)
    report.extra["euSource"] = outcome.source
    if outcome.uncertain:
        report.extra["euUncertainReasons"] = dict(outcome.uncertain)


def _apply_facts(
    collection: Collection,
    facts: EuFacts,
    policy: EuUncertainPolicy,
    selection: Selection,
    reporter: Reporter,
    not_shipped: set[str] | None = None,
) -> EuOutcome:
    from nimgen import eu

    return _decide(
        reporter,
        lambda: eu.apply_eu(
            collection.models,
            facts,
            policy.value,
            selection=selection,
            not_shipped=not_shipped or (),
        ),
    )


def apply_eu_live(
    collection: Collection,
    inputs: EuInputs,
    policy: EuUncertainPolicy,
    selection: Selection,
    reporter: Reporter,
    report: RunReport,
) -> tuple[Collection, str]:
    """After a live collection: apply the probe file or the inline probe; the EU source."""
    from nimgen import eu

    facts = inputs.facts
    if inputs.proxy is not None:
        facts = eu.facts_from_models(
            "inline-probe", f"inline-probe via proxy {inputs.proxy.redacted}"
        )
    if facts is None:
        reporter.info(
            "no EU facts (--eu-list or --eu-proxy): every model ships euRestricted: false"
        )
        outcome = eu.no_facts(collection.models)
    else:
        not_shipped = set(collection.no_tag) | {f.name for f in collection.failures}
        outcome = _apply_facts(collection, facts, policy, selection, reporter, not_shipped)
    _record(outcome, reporter, report)
    return dataclasses.replace(collection, models=outcome.models), outcome.source


def apply_eu_render(
    collection: Collection,
    loaded: Loaded | None,
    inputs: EuInputs,
    policy: EuUncertainPolicy,
    selection: Selection,
    reporter: Reporter,
    report: RunReport,
) -> tuple[Collection, str]:
    """For ``render``: --eu-list, else the snapshot's EU statuses, else the records as read."""
    from nimgen import eu

    facts = inputs.facts
    if (
        facts is None
        and loaded is not None
        and loaded.kind == "snapshot"
        and eu.carries_eu_facts(loaded.models, loaded.eu_facts)
    ):
        source = loaded.eu_facts if loaded.eu_facts != "none" else "snapshot"
        facts = eu.facts_from_models("snapshot", source)
    if facts is None:
        source = loaded.eu_facts if loaded is not None else "none"
        outcome = eu.keep_records(collection.models, source)
    else:
        outcome = _apply_facts(collection, facts, policy, selection, reporter)
    _record(outcome, reporter, report)
    return dataclasses.replace(collection, models=outcome.models), outcome.source


# -- probe-eu --------------------------------------------------------------------


@app.command("probe-eu", epilog=EXIT_CODES_HELP)
def probe_eu(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The probe file to write (JSON).")
    ] = Path("eu-restricted.json"),
    eu_proxy: ProbeProxy = None,
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
    json_output: JsonOutput = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Probe every model from an EU vantage and record which answer HTTP 451.

    Run it on a machine in the EU, or give --eu-proxy to go through a proxy there.
    Makes each model's per-model call (same client, concurrency and retries as
    'generate') and writes a versioned JSON probe file: when and through what vantage
    it probed, and per model its status (restricted = 451, available = 200,
    inconclusive = anything else after retries, with the last status or error) and
    attempts. Feed it to 'generate --eu-list'. Inconclusive models do not fail the probe.
    """
    reporter = Reporter(quiet=quiet, verbose=verbose, json_output=json_output)
    report = RunReport(command="probe-eu")

    def body() -> None:
        from nimgen import eu
        from nimgen.output import check_output_file, write_file
        from nimgen.reports import RichProgress
        from nimgen.sources import NullProgress, ProgressHook

        proxy = eu.check_proxy_url(eu_proxy) if eu_proxy else None
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
        vantage = f"the EU proxy {proxy.redacted}" if proxy else "this machine"
        reporter.info(f"probing the NIM catalog from {vantage}")
        progress: ProgressHook = (
            RichProgress(reporter.stderr, description="probing models")
            if reporter.interactive
            else NullProgress()
        )
        prefix = "[eu-proxy] " if proxy else ""
        run = eu.run_probe(
            key,
            settings,
            selection=selection,
            proxy=proxy,
            progress=progress,
            log=lambda line: reporter.request_line(prefix + line),
        )
        probe, collection = run.probe, run.collection
        write_file(output, eu.probe_json(probe))

        by_status: dict[str, list[eu.ProbedModel]] = {
            "restricted": [],
            "available": [],
            "inconclusive": [],
        }
        for model in sorted(probe.models, key=lambda m: (m.name, m.resourceId)):
            by_status[model.status].append(model)
        restricted = [m.name for m in by_status["restricted"]]
        inconclusive = by_status["inconclusive"]
        reporter.info(
            f"probed {len(probe.models)} model(s) from {vantage}: {len(restricted)} restricted, "
            f"{len(by_status['available'])} available, {len(inconclusive)} inconclusive"
        )
        if restricted:
            reporter.info(f"restricted in the EU (HTTP 451): {', '.join(restricted)}")
        if inconclusive:
            reporter.warn(
                f"{len(inconclusive)} model(s) inconclusive (neither 451 nor 200 after "
                "retries; 'generate --eu-list' flags them unless --eu-uncertain allow): "
                + "; ".join(f"{m.name}: {m.detail}" for m in inconclusive)
            )
        if probe.models and not restricted:
            reporter.warn(
                f"no model answered HTTP 451 from {vantage}: the vantage may not be in the EU"
            )
        report.discovered = collection.discovered
        report.skipped_by_selection = collection.skipped_by_selection
        report.left_out_no_tag = list(collection.no_tag)
        report.failed = [{"name": f.name, "reason": f.reason} for f in collection.failures]
        report.eu_restricted = restricted
        report.output = str(output)
        report.extra["probed"] = len(probe.models)
        report.extra["probedAt"] = probe.probedAt
        report.extra["vantage"] = probe.vantage.model_dump(mode="json", exclude_none=True)
        report.extra["euInconclusive"] = [
            {"name": m.name, "detail": m.detail or "", "attempts": m.attempts} for m in inconclusive
        ]
        reporter.summary(report, "nimgen probe-eu")

    run_reported(reporter, report, body)
